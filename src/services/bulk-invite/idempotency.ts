import { createHash, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);
import canonicalize from 'canonicalize';
import type { EntityManager } from '@mikro-orm/postgresql';
import { IdempotencyRecord } from '../../entities';
import { DomainError } from '../errors';
import type { CheckedBulkInvite } from './command';
import type { BulkInviteOutcome } from './outcome';

export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

/**
 * The most a stored outcome may take, compressed. An outcome grows with what the request carried (its ids are
 * repeated in the results), so this bounds the disk one key can hold for 24 h. An outcome above it is not kept:
 * the request still answers normally, and a retry with the same key is decided again instead of replayed.
 */
export const MAX_STORED_OUTCOME_BYTES = 4 * 1024 * 1024;

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
  return decodeOutcome(record);
}

/**
 * Gzip of the outcome's JSON: a replay parses back exactly the values the first answer was built from.
 * Compressed on libuv's thread pool, not the event loop: a large outcome takes a while.
 */
export async function encodeOutcome(outcome: BulkInviteOutcome): Promise<Buffer> {
  return gzipAsync(JSON.stringify(outcome));
}

async function decodeOutcome(record: Pick<IdempotencyRecord, 'outcomeGzip' | 'outcome'>): Promise<BulkInviteOutcome> {
  if (record.outcomeGzip) return JSON.parse((await gunzipAsync(record.outcomeGzip)).toString('utf8')) as BulkInviteOutcome;
  return record.outcome as BulkInviteOutcome;
}

/**
 * The row that keeps `outcome` for replays, or null when its compressed size is over MAX_STORED_OUTCOME_BYTES
 * (the key is then not kept; see there). Every column is given, so `insertMany` needs no defaults.
 */
export async function idempotencyRecordRow(
  tenantId: string,
  key: string,
  hash: string,
  outcome: BulkInviteOutcome,
  createdAt: Date,
): Promise<{ id: string; tenant: string; key: string; requestHash: string; outcomeGzip: Buffer; outcome: null; createdAt: Date } | null> {
  const outcomeGzip = await encodeOutcome(outcome);
  if (outcomeGzip.length > MAX_STORED_OUTCOME_BYTES) return null;
  return { id: randomUUID(), tenant: tenantId, key, requestHash: hash, outcomeGzip, outcome: null, createdAt };
}
