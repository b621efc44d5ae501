/**
 * INVITED, ACTIVE and SUSPENDED hold a seat (maxMembers) and make a new invite ALREADY_MEMBER. REMOVED (by
 * removeMember) and REVOKED (the pending invitation was revoked before acceptance) hold none: such a person can
 * be invited again. REVOKED stays a stored value of its own so existing rows and the resend of a revoked
 * invitation keep their meaning; the management API shows it as REMOVED.
 */
export enum MembershipStatus {
  INVITED = 'INVITED',
  ACTIVE = 'ACTIVE',
  REVOKED = 'REVOKED',
  SUSPENDED = 'SUSPENDED',
  REMOVED = 'REMOVED',
}

/** The statuses that hold a seat in the tenant. */
export const SEAT_HOLDING_STATUSES: readonly MembershipStatus[] = [MembershipStatus.INVITED, MembershipStatus.ACTIVE, MembershipStatus.SUSPENDED];

/** Stored statuses; EXPIRED is derived from `expiresAt` when read (see invitation-status.ts). */
export enum StoredInvitationStatus {
  PENDING = 'PENDING',
  ACCEPTED = 'ACCEPTED',
  REVOKED = 'REVOKED',
}

export enum InvitationStatus {
  PENDING = 'PENDING',
  ACCEPTED = 'ACCEPTED',
  REVOKED = 'REVOKED',
  EXPIRED = 'EXPIRED',
}

/** SENDING is internal (claimed by a worker); the API shows it as QUEUED. */
export enum StoredEmailStatus {
  NOT_REQUESTED = 'NOT_REQUESTED',
  QUEUED = 'QUEUED',
  SENDING = 'SENDING',
  SENT = 'SENT',
  FAILED = 'FAILED',
}

export enum EmailStatus {
  NOT_REQUESTED = 'NOT_REQUESTED',
  QUEUED = 'QUEUED',
  SENT = 'SENT',
  FAILED = 'FAILED',
}
