import { type Static, type TSchema, Type } from '@sinclair/typebox';
import Ajv, { type ErrorObject } from 'ajv';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import { createRequestContext, type ContextFactoryDeps, type RequestContext } from '../context';
import type { Logger } from '../logger';
import { DomainError, httpStatusOf } from '../services/errors';
import { isDatabaseUnavailable } from '../db/errors';

export function contextFor(deps: ContextFactoryDeps, request: FastifyRequest): RequestContext {
  return createRequestContext(deps, { authorization: request.headers.authorization, requestId: String(request.id) });
}

export function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const value = request.headers['idempotency-key'];
  return typeof value === 'string' ? value : undefined;
}

/**
 * `T | null` written as `type: [T, 'null']`, the spelling @fastify/swagger turns into OpenAPI 3.0's `nullable`.
 * The TypeScript type follows from the same value.
 */
export function Nullable<T extends TSchema>(schema: T) {
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [schema.type, 'null'] });
}

/**
 * Request validation for the REST shims. Fastify's default Ajv has `removeAdditional: true`, which silently drops
 * fields a schema does not name; here `additionalProperties: false` refuses them instead, so a typo such as
 * `sendEmails` cannot be mistaken for the default. Otherwise Fastify's defaults (defaults applied, scalars
 * coerced to arrays).
 */
const strictAjv = new Ajv({ removeAdditional: false, useDefaults: true, coerceTypes: 'array', allErrors: false, strict: false });

export function useStrictValidation(app: FastifyInstance) {
  app.setValidatorCompiler(({ schema }: { schema: FastifySchema }) => strictAjv.compile(schema as object));
}

/** `users[0].favouriteColour` from Ajv's `/users/0` and `favouriteColour`. */
function fieldPath(instancePath: string, field: string): string {
  const parts = instancePath.split('/').filter(Boolean);
  const path = parts.map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : `${i ? '.' : ''}${part}`)).join('');
  return path ? `${path}.${field}` : field;
}

function validationMessage(error: FastifyError): string {
  const unknown = (error.validation as ErrorObject[] | undefined)?.find((e) => e.keyword === 'additionalProperties');
  if (unknown && error.validationContext === 'body') {
    return `Unknown field: ${fieldPath(unknown.instancePath, String(unknown.params.additionalProperty))}`;
  }
  return `Invalid request body: ${error.message}`;
}

/** The status and reason a whole-request failure maps to, whatever the product's envelope. */
export function classifyRestError(error: unknown, log: Logger): { status: number; message: string; retryAfter?: number } {
  if (error instanceof DomainError) {
    return { status: httpStatusOf[error.kind], message: error.message, retryAfter: error.details.retryAfterSeconds };
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, message: 'Request body too large' };
  if (fastifyError.validation) return { status: 400, message: validationMessage(fastifyError) };
  if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return { status: 400, message: fastifyError.message || 'Malformed request' };
  }
  if (isDatabaseUnavailable(error)) {
    log.error({ err: error }, 'database unavailable');
    return { status: 503, message: 'Service temporarily unavailable' };
  }
  log.error({ err: error }, 'unexpected error in a REST request');
  return { status: 500, message: 'Internal server error' };
}

export function sendError(reply: FastifyReply, status: number, body: unknown, retryAfter?: number) {
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
  return reply.code(status).type('application/json').send(body);
}

/** "First Last" as the products print a person. */
export function displayName(user: { firstName?: string | null; lastName?: string | null; email?: string | null } | undefined): string {
  const name = [user?.firstName, user?.lastName]
    .map((part) => (typeof part === 'string' ? part.trim() : ''))
    .filter(Boolean)
    .join(' ');
  return name || (typeof user?.email === 'string' ? user.email.trim() : '') || 'unnamed user';
}

export const idempotencyKeyHeaderSchema = {
  type: 'object',
  properties: { 'idempotency-key': { type: 'string', description: 'Same key within 24 h replays the first answer.' } },
} as const;

/** OpenAPI responses for every whole-request error status, in the product's error envelope. */
export function errorResponses(envelope: object): Record<number, object> {
  return Object.fromEntries(
    [400, 401, 403, 409, 413, 429, 500, 503].map((status) => [status, { description: 'Whole-request error', ...envelope }]),
  );
}

/** Maps every whole-request failure of the routes registered on `app` to the product's error envelope. */
export function useErrorEnvelope(app: FastifyInstance, envelope: (status: number, message: string) => object) {
  app.setErrorHandler((error, request, reply) => {
    const { status, message, retryAfter } = classifyRestError(error, request.log as unknown as Logger);
    return sendError(reply, status, envelope(status, message), retryAfter);
  });
}
