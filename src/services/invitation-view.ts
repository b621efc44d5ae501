import { EmailStatus, InvitationStatus, type Invitation, StoredEmailStatus, StoredInvitationStatus } from '../entities';

export interface InvitationView {
  id: string;
  email: string;
  status: InvitationStatus;
  emailStatus: EmailStatus;
  emailError: string | null;
  expiresAt: string;
  createdAt: string;
  redirectUrl: string | null;
  /** The bulk request that created the invitation. */
  batchId: string | null;
  /** `sub` of the inviting token. */
  invitedBy: string | null;
  acceptedAt: string | null;
  locale: string | null;
  metadata: Record<string, unknown> | null;
  /**
   * The accept link, only in the response of the bulk invite that created it with `sendEmail: false`: the token
   * is stored only as a hash, so no later read (nor an idempotent replay) can show it again.
   */
  acceptUrl: string | null;
}

export interface UserView {
  id: string;
  email: string;
  firstName: string | null;
  lastName: string | null;
}

export function effectiveStatus(status: StoredInvitationStatus, expiresAt: Date, now = new Date()): InvitationStatus {
  if (status === StoredInvitationStatus.PENDING && expiresAt.getTime() <= now.getTime()) return InvitationStatus.EXPIRED;
  return status as unknown as InvitationStatus;
}

export function publicEmailStatus(status: StoredEmailStatus): EmailStatus {
  return status === StoredEmailStatus.SENDING ? EmailStatus.QUEUED : (status as unknown as EmailStatus);
}

export function toInvitationView(invitation: Invitation): InvitationView {
  return {
    id: invitation.id,
    email: invitation.email,
    status: effectiveStatus(invitation.status, invitation.expiresAt),
    emailStatus: publicEmailStatus(invitation.emailStatus),
    emailError: invitation.emailError ?? null,
    expiresAt: invitation.expiresAt.toISOString(),
    createdAt: invitation.createdAt.toISOString(),
    redirectUrl: invitation.redirectUrl ?? null,
    batchId: invitation.batchId ?? null,
    invitedBy: invitation.invitedBy ?? null,
    acceptedAt: invitation.acceptedAt ? invitation.acceptedAt.toISOString() : null,
    locale: invitation.locale ?? null,
    metadata: invitation.metadata ?? null,
    acceptUrl: null,
  };
}
