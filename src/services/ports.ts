import type { EntityManager } from '@mikro-orm/postgresql';

/** Queues the sending of QUEUED invitations; called inside the transaction that created them. */
export interface InvitationEmailQueue {
  enqueueInTransaction(em: EntityManager): Promise<void>;
}

/**
 * Admission checks shared by every bulk request, before anything is read or written (rate limits): reserves one
 * request and `people` users of the tenant's budgets, or throws RATE_LIMITED and reserves nothing.
 */
export interface BulkInviteGuard {
  check(tenantId: string, people: number): Promise<void>;
}

/** Told about every finished bulk invite (metrics); must not throw. */
export interface BulkInviteObserver {
  finished(outcome: { dryRun: boolean; results: ReadonlyArray<{ kind: 'invited' } | { kind: 'failed'; failure: { code: string } }> }): void;
}
