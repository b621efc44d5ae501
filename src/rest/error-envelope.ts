import type { FastifyInstance, FastifyReply } from 'fastify';
import { classifyInfrastructureError } from '../http/infrastructure-errors';
import type { Logger } from '../logger';
import { validationMessage } from './rest-support';
import { DomainError, UnreachableCaseError, type DomainErrorKind } from '../services/errors';

/** The HTTP status of each domain error kind, for both REST shims. */
export function httpStatusOf(kind: DomainErrorKind): number {
  switch (kind) {
    case 'UNAUTHENTICATED':
      return 401;
    case 'FORBIDDEN':
      return 403;
    case 'BAD_USER_INPUT':
      return 400;
    case 'NOT_FOUND':
      return 404;
    case 'IDEMPOTENCY_CONFLICT':
      return 409;
    case 'GONE':
      return 410;
    case 'TOO_MANY_USERS':
      return 413;
    case 'RATE_LIMITED':
      return 429;
    case 'OVERLOADED':
      return 503;
    default:
      throw new UnreachableCaseError(kind);
  }
}

/** The status and reason a whole-request failure maps to, whatever the product's envelope. */
export function classifyRestError(error: unknown, log: Logger): { status: number; message: string; retryAfter?: number } {
  if (error instanceof DomainError) {
    return { status: httpStatusOf(error.kind), message: error.message, retryAfter: error.details.retryAfterSeconds };
  }
  const failure = classifyInfrastructureError(error);
  switch (failure.kind) {
    case 'BODY_TOO_LARGE':
      return { status: 413, message: 'Request body too large' };
    case 'MALFORMED_REQUEST':
      return { status: failure.status === 415 ? 415 : 400, message: failure.validation ? validationMessage(failure.validation) : failure.message };
    case 'DATABASE_UNAVAILABLE':
      log.error({ err: error }, 'database unavailable');
      return { status: 503, message: 'Service temporarily unavailable' };
    case 'UNEXPECTED':
      log.error({ err: error }, 'unexpected error in a REST request');
      return { status: 500, message: 'Internal server error' };
    default:
      throw new UnreachableCaseError(failure);
  }
}

export function sendError(reply: FastifyReply, status: number, body: unknown, retryAfter?: number) {
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
  return reply.code(status).type('application/json').send(body);
}

/** Maps every whole-request failure of the routes registered on `app` to the product's error envelope. */
export function useErrorEnvelope(app: FastifyInstance, envelope: (status: number, message: string) => object) {
  app.setErrorHandler((error, request, reply) => {
    const { status, message, retryAfter } = classifyRestError(error, request.log as unknown as Logger);
    return sendError(reply, status, envelope(status, message), retryAfter);
  });
}
