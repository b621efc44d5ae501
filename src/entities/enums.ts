export enum MembershipStatus {
  INVITED = 'INVITED',
  ACTIVE = 'ACTIVE',
  REVOKED = 'REVOKED',
}

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
