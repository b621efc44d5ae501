/** Settings every benchmark process shares. */

/** The JWT secret of the benchmark's servers and tokens. */
export const BENCH_SECRET = 'bench-secret-that-is-at-least-32-bytes!!';

/**
 * The request, people, read and email budgets switched off: the benchmark measures the work, and invites far more
 * people per hour into one tenant than any real tenant's budgets allow.
 */
export const NO_BUDGETS = {
  BULK_INVITE_RATE_LIMIT: '0',
  BULK_INVITE_USERS_PER_MINUTE: '0',
  READ_RATE_LIMIT: '0',
  EMAILS_PER_TENANT_PER_HOUR: '100000000',
};
