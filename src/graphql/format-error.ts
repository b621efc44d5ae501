import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { classifyInfrastructureError } from '../http/infrastructure-errors';
import type { Logger } from '../logger';
import { DomainError, UnreachableCaseError, type DomainErrorKind } from '../services/errors';

/** The GraphQL `extensions.code` of each domain error kind. */
export function graphqlCodeOf(kind: DomainErrorKind): string {
  switch (kind) {
    case 'UNAUTHENTICATED':
    case 'FORBIDDEN':
    case 'BAD_USER_INPUT':
    case 'RATE_LIMITED':
      return kind;
    // The contract's codes have no "busy": the client's answer is the same, wait Retry-After and try again.
    case 'OVERLOADED':
      return 'RATE_LIMITED';
    case 'NOT_FOUND':
    case 'IDEMPOTENCY_CONFLICT':
    case 'TOO_MANY_USERS':
    case 'GONE':
      return 'BAD_USER_INPUT';
    default:
      throw new UnreachableCaseError(kind);
  }
}

/** Every GraphQL error passes here once: domain errors keep their message, anything unexpected is masked. */
export function formatGraphQLError(log: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const unwrapped = unwrapResolverError(error);
    // Refusals before execution (src/graphql/operation-limits.ts) carry their DomainError without a path.
    const original = unwrapped instanceof GraphQLError && unwrapped.originalError instanceof DomainError ? unwrapped.originalError : unwrapped;
    const { path, locations } = formatted;
    if (original instanceof DomainError) {
      const extensions: Record<string, unknown> = { code: graphqlCodeOf(original.kind) };
      if (original.details.retryAfterSeconds !== undefined) extensions.retryAfterSeconds = original.details.retryAfterSeconds;
      return { message: original.message, path, locations, extensions };
    }
    // Parse and validation errors (and others Apollo already classified) are the client's and keep their code.
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR') return { message: formatted.message, locations, path, extensions: { code } };
    const failure = classifyInfrastructureError(original);
    switch (failure.kind) {
      case 'DATABASE_UNAVAILABLE':
        log.error({ err: original }, 'database unavailable');
        return { message: 'Service temporarily unavailable', path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
      case 'BODY_TOO_LARGE':
      case 'MALFORMED_REQUEST':
        return { message: formatted.message, path, extensions: { code: 'BAD_USER_INPUT' } };
      case 'UNEXPECTED':
        log.error({ err: original }, 'unexpected error in a GraphQL operation');
        return { message: 'Internal server error', path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
      default:
        throw new UnreachableCaseError(failure);
    }
  };
}
