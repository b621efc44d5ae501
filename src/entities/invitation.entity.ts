import { randomUUID } from 'node:crypto';
import { Entity, Enum, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/core';
import type { Opt } from '@mikro-orm/core';
import { StoredEmailStatus, StoredInvitationStatus } from './enums';
import { Membership } from './membership.entity';
import { TenantScoped } from './tenant-scoped';

@Entity({ tableName: 'invitation' })
@Index({ name: 'invitation_tenant_created_idx', properties: ['tenant', 'createdAt', 'id'] })
// The invitations query filtered by status or by email (exact, case-insensitive), newest first.
@Index({ name: 'invitation_tenant_status_created_idx', properties: ['tenant', 'status', 'createdAt', 'id'] })
@Index({
  name: 'invitation_tenant_email_idx',
  expression: 'create index "invitation_tenant_email_idx" on "invitation" ("tenant_id", lower("email"), "created_at", "id")',
})
// A member's invitations (Member.invitation).
@Index({ name: 'invitation_tenant_membership_idx', properties: ['tenant', 'membership', 'createdAt'] })
@Index({ name: 'invitation_tenant_batch_idx', properties: ['tenant', 'batchId'] })
@Index({ name: 'invitation_email_queue_idx', properties: ['emailStatus', 'emailNextAttemptAt'] })
// The email worker's fair claim: queued and in-flight emails by tenant, in send order (src/mail/email-worker.ts).
@Index({
  name: 'invitation_email_pending_idx',
  expression: `create index "invitation_email_pending_idx" on "invitation" ("tenant_id", "email_next_attempt_at" nulls first, "id") where "email_status" in ('QUEUED', 'SENDING')`,
})
// The expiry sweep: pending invitations whose `invitation.expired` event is not written yet, by expiry.
@Index({
  name: 'invitation_expiry_sweep_idx',
  expression: `create index "invitation_expiry_sweep_idx" on "invitation" ("expires_at") where "status" = 'PENDING' and "expiry_recorded_at" is null`,
})
@Index({
  name: 'invitation_one_pending_per_membership',
  expression: `create unique index "invitation_one_pending_per_membership" on "invitation" ("membership_id") where "status" = 'PENDING'`,
})
export class Invitation extends TenantScoped {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  /** A membership has at most one PENDING invitation; a person invited again after leaving gets a new one. */
  @ManyToOne(() => Membership, { deleteRule: 'cascade' })
  membership!: Membership;

  /** The address the invitation goes to. */
  @Property({ type: 'text' })
  email!: string;

  /** SHA-256 of the secret token; the token itself is never stored. */
  @Property({ type: 'text', unique: 'invitation_token_hash_unique' })
  tokenHash!: string;

  @Enum({ items: () => StoredInvitationStatus, type: 'text' })
  status: Opt<StoredInvitationStatus> = StoredInvitationStatus.PENDING;

  @Property({ type: 'datetime' })
  expiresAt!: Date;

  @Property({ type: 'text', nullable: true })
  redirectUrl?: string | null;

  @Property({ type: 'text', nullable: true })
  message?: string | null;

  @Property({ type: 'text', nullable: true })
  invitedBy?: string | null;

  /** The inviting token's `name` claim, if it had one: the email and the accept page name the inviter. */
  @Property({ type: 'text', nullable: true })
  inviterName?: string | null;

  /** The bulk request that created this invitation: one id per request, shared by its invitations. */
  @Property({ type: 'uuid', nullable: true })
  batchId?: string | null;

  /** BCP 47, canonical (Intl.getCanonicalLocales). */
  @Property({ type: 'text', nullable: true })
  locale?: string | null;

  /** The metadata the person was invited with (the member's own copy may change later). */
  @Property({ type: 'jsonb', nullable: true })
  metadata?: Record<string, unknown> | null;

  @Enum({ items: () => StoredEmailStatus, type: 'text' })
  emailStatus: Opt<StoredEmailStatus> = StoredEmailStatus.NOT_REQUESTED;

  @Property({ type: 'text', nullable: true })
  emailError?: string | null;

  @Property({ type: 'integer' })
  emailAttempts: Opt<number> = 0;

  @Property({ type: 'datetime', nullable: true })
  emailNextAttemptAt?: Date | null;

  /** Set while a worker holds the email; recovered after the claim lease. */
  @Property({ type: 'uuid', nullable: true })
  emailClaimId?: string | null;

  @Property({ type: 'datetime', nullable: true })
  emailClaimedAt?: Date | null;

  @Property({ type: 'text', nullable: true })
  providerMessageId?: string | null;

  @Property({ type: 'datetime', nullable: true })
  sentAt?: Date | null;

  @Property({ type: 'datetime' })
  createdAt: Opt<Date> = new Date();

  @Property({ type: 'datetime', nullable: true })
  acceptedAt?: Date | null;

  @Property({ type: 'datetime', nullable: true })
  revokedAt?: Date | null;

  /** When the expiry sweep wrote this invitation's `invitation.expired` event; a resend clears it. */
  @Property({ type: 'datetime', nullable: true })
  expiryRecordedAt?: Date | null;

  /** When `resendInvitation` last queued an email: the cooldown runs from here. */
  @Property({ type: 'datetime', nullable: true })
  lastResentAt?: Date | null;

  /** Start of the current 24-hour window of resends, and how many it has had (null means none). */
  @Property({ type: 'datetime', nullable: true })
  resendWindowStart?: Date | null;

  @Property({ type: 'integer', nullable: true })
  resendsInWindow?: number | null;
}
