import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { EntityManager } from '@mikro-orm/postgresql';
import { IdempotencyRecord } from '../../entities';
import { DomainError } from '../errors';
import type { CheckedBulkInvite } from './command';
import type { BulkInviteOutcome } from './outcome';

export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

/** Absent and null mean the same in every transport's input, so neither takes part in the hash. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => [k, withoutNulls(v)]));
  }
  return value;
}

/** SHA-256 of the request's canonical JSON (RFC 8785): the same request in any key order hashes the same. */
export function requestHash(request: CheckedBulkInvite): string {
  const { users, sendEmail, redirectUrl, message } = request;
  return createHash('sha256').update(canonicalize(withoutNulls({ users, sendEmail, redirectUrl, message }))!).digest('hex');
}

/** The stored outcome of an earlier request with this key, or null when the key is free. */
export async function findReplay(em: EntityManager, key: string, hash: string, options: { readOnly: boolean }): Promise<BulkInviteOutcome | null> {
  const record = await em.findOne(IdempotencyRecord, { key });
  if (!record) return null;
  if (record.createdAt.getTime() <= Date.now() - IDEMPOTENCY_WINDOW_MS) {
    // Past its window the key is free again; the old record would only block the new one.
    if (!options.readOnly) await em.nativeDelete(IdempotencyRecord, { id: record.id });
    return null;
  }
  if (record.requestHash !== hash) {
    throw new DomainError('IDEMPOTENCY_CONFLICT', 'This idempotency key was already used with a different request');
  }
  return record.outcome as BulkInviteOutcome;
}
