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
