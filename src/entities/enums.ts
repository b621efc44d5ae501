/**
 * INVITED, ACTIVE and SUSPENDED hold a seat (they are current members); REMOVED does not, and such a person can be
 * invited again. A revoked invitation leaves its member REMOVED.
 */
export enum MembershipStatus {
  INVITED = 'INVITED',
  ACTIVE = 'ACTIVE',
  SUSPENDED = 'SUSPENDED',
  REMOVED = 'REMOVED',
}

/** The statuses that hold a seat in the tenant (maxMembers): current members; a new invite of one is ALREADY_MEMBER. */
export const SEAT_HOLDING_STATUSES: readonly MembershipStatus[] = [MembershipStatus.INVITED, MembershipStatus.ACTIVE, MembershipStatus.SUSPENDED];
export const CURRENT_MEMBERSHIP_STATUSES: ReadonlySet<string> = new Set<string>(SEAT_HOLDING_STATUSES);

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
  /** Postmark reported the message delivered (POST /webhooks/postmark). */
  DELIVERED = 'DELIVERED',
  /** Postmark reported a hard bounce or spam complaint; resending needs `force: true`. */
  BOUNCED = 'BOUNCED',
}

export enum EmailStatus {
  NOT_REQUESTED = 'NOT_REQUESTED',
  QUEUED = 'QUEUED',
  SENT = 'SENT',
  FAILED = 'FAILED',
  /** Postmark reported the message delivered (POST /webhooks/postmark). */
  DELIVERED = 'DELIVERED',
  /** Postmark reported a hard bounce or spam complaint; resending needs `force: true`. */
  BOUNCED = 'BOUNCED',
}
