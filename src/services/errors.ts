/**
 * Expected whole-request failures of the use cases. Each transport maps `kind` once, at its edge
 * (src/graphql/format-error.ts, src/rest/error-envelope.ts), with an exhaustive switch.
 */
export type DomainErrorKind =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'IDEMPOTENCY_CONFLICT'
  | 'TOO_MANY_USERS'
  | 'RATE_LIMITED'
  /** The process is busy with other tenants' heavy work: GraphQL RATE_LIMITED, REST 503; both with Retry-After. */
  | 'OVERLOADED'
  | 'GONE';

export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    readonly details: { retryAfterSeconds?: number } = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

/** Thrown by an exhaustive switch when a case is added without a mapping (a bug, never a client's fault). */
export class UnreachableCaseError extends Error {
  constructor(value: never) {
    super(`Unhandled case: ${JSON.stringify(value)}`);
    this.name = 'UnreachableCaseError';
  }
}
