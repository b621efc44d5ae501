/** True when the error means "the database cannot be reached right now", not a bug. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  const name = (error as { name?: string })?.name;
  return (
    name === 'ConnectionException' ||
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === '57P01' || // admin_shutdown
    code === '57P02' || // crash_shutdown
    code === '57P03' || // cannot_connect_now
    /Connection terminated|ECONNREFUSED|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
      String((error as Error)?.message),
    )
  );
}

/**
 * Thrown inside a write transaction when what the decision was based on changed before the write could lock it
 * (e.g. the seats left in a tenant): retried like a lost race, the batch is decided again from fresh reads.
 */
export class ConcurrentChangeError extends Error {
  readonly code = 'CONCURRENT_CHANGE';
}

/**
 * A write that lost a race with a concurrent transaction: a unique violation (the same person committed first),
 * a deadlock, or a serialization failure. Deciding again from fresh reads resolves it.
 */
export function isRetryableWriteConflict(error: unknown): boolean {
  const code = (error as { code?: string })?.code;
  return error instanceof ConcurrentChangeError || code === '23505' || code === '40P01' || code === '40001';
}
