/** Expected whole-request failures. Adapters map `kind` to a GraphQL code or an HTTP status. */
export type DomainErrorKind =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'IDEMPOTENCY_CONFLICT'
  | 'TOO_MANY_USERS'
  | 'RATE_LIMITED'
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

export const graphqlCodeOf: Record<DomainErrorKind, string> = {
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'BAD_USER_INPUT',
  IDEMPOTENCY_CONFLICT: 'BAD_USER_INPUT',
  TOO_MANY_USERS: 'BAD_USER_INPUT',
  RATE_LIMITED: 'RATE_LIMITED',
  GONE: 'BAD_USER_INPUT',
};

export const httpStatusOf: Record<DomainErrorKind, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  BAD_USER_INPUT: 400,
  NOT_FOUND: 404,
  IDEMPOTENCY_CONFLICT: 409,
  TOO_MANY_USERS: 413,
  RATE_LIMITED: 429,
  GONE: 410,
};
