import type { FastifyError } from 'fastify';
import { isDatabaseUnavailable } from '../db/errors';

/** Failures that are nobody's input: classified once here, worded per transport by its error mapping. */
export type InfrastructureFailure =
  | { kind: 'DATABASE_UNAVAILABLE' }
  | { kind: 'BODY_TOO_LARGE' }
  | { kind: 'MALFORMED_REQUEST'; message: string; status: number; /** A schema validation error, for transports that word it. */ validation?: FastifyError }
  | { kind: 'UNEXPECTED' };

/** Classifies an error that is not a DomainError: transport (fastify) errors, database outages, bugs. */
export function classifyInfrastructureError(error: unknown): InfrastructureFailure {
  const e = error as { code?: string; statusCode?: number; message?: string; validation?: unknown };
  if (e?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { kind: 'BODY_TOO_LARGE' };
  if (e?.validation) return { kind: 'MALFORMED_REQUEST', message: `Invalid request body: ${e.message}`, status: 400, validation: error as FastifyError };
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { kind: 'MALFORMED_REQUEST', message: e.message || 'Malformed request', status: e.statusCode };
  }
  if (isDatabaseUnavailable(error)) return { kind: 'DATABASE_UNAVAILABLE' };
  return { kind: 'UNEXPECTED' };
}
