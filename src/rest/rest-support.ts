import { type Static, type TSchema, Type } from '@sinclair/typebox';
import Ajv, { type ErrorObject } from 'ajv';
import type { FastifyError, FastifyInstance, FastifyRequest, FastifySchema } from 'fastify';
export { useErrorEnvelope } from './error-envelope';

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

export function validationMessage(error: FastifyError): string {
  const unknown = (error.validation as ErrorObject[] | undefined)?.find((e) => e.keyword === 'additionalProperties');
  if (unknown && error.validationContext === 'body') {
    return `Unknown field: ${fieldPath(unknown.instancePath, String(unknown.params.additionalProperty))}`;
  }
  return `Invalid request body: ${error.message}`;
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
