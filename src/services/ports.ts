import type { EntityManager } from '@mikro-orm/postgresql';

/** Queues the sending of QUEUED invitations; called inside the transaction that created them. */
export interface InvitationEmailQueue {
  enqueueInTransaction(em: EntityManager): Promise<void>;
}

/** Frees what a guard admitted; called once, when the bulk call has finished (or failed). */
export type GuardRelease = () => void;

/**
 * Admission checks shared by every bulk request, before anything is read or written: people in flight in this
 * process, then the tenant's request and people budgets shared by all processes. `owner` identifies the request
 * (its EntityManager fork) and `people` its size. Throws a DomainError to refuse (reserving nothing); may return a
 * release to call when the work is done.
 */
export interface BulkInviteGuard {
  check(tenantId: string, request: { owner: object; people: number }): Promise<GuardRelease | void>;
}

/** Told about every finished bulk invite (metrics); must not throw. */
export interface BulkInviteObserver {
  finished(outcome: { dryRun: boolean; results: ReadonlyArray<{ kind: 'invited' } | { kind: 'failed'; failure: { code: string } }> }): void;
}

/** Queues the processing of a tenant's imports; called inside the transaction that stored the upload. */
export interface InviteImportQueue {
  enqueueInTransaction(em: EntityManager, tenantId: string): Promise<void>;
}

/**
 * The tenant's people-per-minute budget as an import runs: resolves with how many of `people` were taken from
 * it (all, or the whole budget when it is smaller), waiting (never failing) while the tenant is over budget.
 * Resolves with `people` at once when the budget is off.
 */
export interface ImportPacer {
  waitFor(tenantId: string, people: number, signal?: AbortSignal): Promise<number>;
}
