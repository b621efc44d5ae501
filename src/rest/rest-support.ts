import type { FastifyRequest } from 'fastify';
export { useErrorEnvelope } from './error-envelope';

export function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const value = request.headers['idempotency-key'];
  return typeof value === 'string' ? value : undefined;
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
