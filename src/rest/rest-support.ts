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

/**
 * Named schemas (each with an `$id`): OpenAPI lists them under `components.schemas` by that name, so generated
 * clients get named types, and routes point at them with {@link Ref}. Fastify's serializer resolves the refs from
 * the instance; the strict validator above is an Ajv of its own and learns them here (once per process: the
 * schemas are constants shared by every app built in it).
 */
export function addNamedSchemas(app: FastifyInstance, schemas: TSchema[]) {
  for (const schema of schemas) {
    if (!schema.$id) throw new Error('a named schema needs an $id');
    app.addSchema(schema);
    if (!strictAjv.getSchema(schema.$id)) strictAjv.addSchema(schema);
  }
}

/** A reference to a named schema, typed as what it describes. */
export function Ref<T extends TSchema>(schema: T) {
  return Type.Unsafe<Static<T>>({ $ref: `${schema.$id}#` });
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

const ERROR_STATUSES: Record<number, string> = {
  400: 'Malformed body, an unknown field, or an invalid option (the message names it). Nothing was written.',
  401: 'Missing, malformed, expired or otherwise invalid bearer token.',
  403: "The token lacks users:invite, has no tenant, or a tenantId in the body differs from the token's. Nothing was written.",
  409: 'The Idempotency-Key was used before with a different body.',
  413: 'More users than the server allows in one request, or a body over its size limit.',
  429: 'Too many requests for this tenant; retry after the number of seconds in the Retry-After header.',
  500: 'Unexpected server error; details are only in the server log.',
  503: 'The database is unavailable; retry later.',
};

/** OpenAPI responses for every whole-request error status, in the product's error envelope (a named schema). */
export function errorResponses(envelope: TSchema): Record<number, object> {
  return Object.fromEntries(Object.entries(ERROR_STATUSES).map(([status, description]) => [status, { description, ...Ref(envelope) }]));
}
