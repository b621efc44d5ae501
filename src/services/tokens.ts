import { createHash, randomBytes } from 'node:crypto';

/** 256 random bits, URL-safe. */
export function newSecretToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Unguessable unique values for the token_hash column of invitations whose real token is minted later.
 * One random draw for the whole batch: per-row calls cost ~60 ms on 10,000 rows.
 */
export function placeholderTokenHashes(count: number): string[] {
  const bytes = randomBytes(32 * count);
  return Array.from({ length: count }, (_, i) => bytes.toString('hex', i * 32, i * 32 + 32));
}

/** `count` secret tokens (256 random bits each, URL-safe) from one random draw, with their SHA-256 hashes. */
export function newSecretTokens(count: number): Array<{ token: string; hash: string }> {
  const bytes = randomBytes(32 * count);
  return Array.from({ length: count }, (_, i) => {
    const token = bytes.subarray(i * 32, i * 32 + 32).toString('base64url');
    return { token, hash: hashToken(token) };
  });
}

/** `count` random (version 4) UUIDs from one random draw; per-call randomUUID() allocated ~16 MB per 10,000-user request. */
export function randomUuids(count: number): string[] {
  const bytes = randomBytes(16 * count);
  const ids = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    const o = i * 16;
    bytes[o + 6] = (bytes[o + 6] & 0x0f) | 0x40;
    bytes[o + 8] = (bytes[o + 8] & 0x3f) | 0x80;
    const hex = bytes.toString('hex', o, o + 16);
    ids[i] = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  return ids;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function canonicalHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined && v !== null)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}
