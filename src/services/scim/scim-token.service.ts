import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { RequestContext } from '../../context';
import { ScimToken } from '../../entities';
import { DomainError } from '../errors';
import { canonicalId, isUuid } from '../ids';
import { hashToken } from '../tokens';
import { hasDisplayControl } from '../unsafe-text';

export interface ScimTokenView {
  id: string;
  description: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** `scim_<token id as 32 hex digits>_<256 random bits, base64url>`: the prefix names the row, the rest is the secret. */
const TOKEN = /^scim_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$/;
const MAX_DESCRIPTION_LENGTH = 200;
/** lastUsedAt is written at most this often per token and process: SCIM clients send bursts of requests. */
const LAST_USED_WRITE_INTERVAL_MS = 60_000;

const toView = (t: ScimToken): ScimTokenView => ({ id: t.id, description: t.description ?? null, createdAt: t.createdAt, lastUsedAt: t.lastUsedAt ?? null });

function tokenIdOf(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A SCIM bearer token's shape (it may still be unknown or revoked). JWTs never have it. */
export function looksLikeScimToken(bearer: string): boolean {
  return TOKEN.test(bearer);
}

/** tenant:admin. The secret is returned here only; the database keeps its SHA-256. */
export async function createScimToken(ctx: RequestContext, description: string | null | undefined): Promise<{ token: ScimTokenView; secret: string }> {
  const tenantId = ctx.requireTenantPermission('tenant:admin');
  const text = description?.trim() || null;
  if (text && (text.length > MAX_DESCRIPTION_LENGTH || hasDisplayControl(text))) {
    throw new DomainError('BAD_USER_INPUT', `description must be at most ${MAX_DESCRIPTION_LENGTH} printable characters`);
  }
  const id = randomUUID();
  const secretPart = randomBytes(32).toString('base64url');
  const token = ctx.em.create(ScimToken, { id, tenant: tenantId, description: text, secretHash: hashToken(secretPart) });
  await ctx.em.flush();
  return { token: toView(token), secret: `scim_${id.replace(/-/g, '')}_${secretPart}` };
}

/** tenant:admin. False when there is no such active token in this tenant (another tenant's id included). */
export async function revokeScimToken(ctx: RequestContext, id: string): Promise<boolean> {
  const tenantId = ctx.requireTenantPermission('tenant:admin');
  if (!isUuid(id)) return false;
  const revoked = await ctx.em.nativeUpdate(ScimToken, { id: canonicalId(id), tenant: tenantId, revokedAt: null }, { revokedAt: new Date() });
  return revoked > 0;
}

/** tenant:admin. The tenant's active tokens, newest first. */
export async function listScimTokens(ctx: RequestContext): Promise<ScimTokenView[]> {
  const tenantId = ctx.requireTenantPermission('tenant:admin');
  const tokens = await ctx.em.find(ScimToken, { tenant: tenantId, revokedAt: null }, { orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
  return tokens.map(toView);
}

/**
 * Authenticates SCIM bearer tokens: a primary-key lookup by the token's prefix, then a constant-time comparison
 * of SHA-256 digests. Before any tenant is known, so it reads with the tenant filter off (the row names it).
 */
export class ScimTokenAuthenticator {
  private readonly lastWritten = new Map<string, number>();

  /** The token's tenant and id, or null for anything that is not an active SCIM token. */
  async authenticate(em: EntityManager, bearer: string): Promise<{ tenantId: string; tokenId: string } | null> {
    const match = TOKEN.exec(bearer);
    if (!match) return null;
    const id = tokenIdOf(match[1]);
    const [row] = await em.execute<Array<{ tenant_id: string; secret_hash: string }>>(
      'select tenant_id, secret_hash from scim_token where id = ? and revoked_at is null',
      [id],
    );
    const given = Buffer.from(hashToken(match[2]), 'hex');
    // Compared even when no row matched, against a digest of the same length.
    const stored = Buffer.from(row?.secret_hash ?? '0'.repeat(64), 'hex');
    const equal = stored.length === given.length && timingSafeEqual(stored, given);
    if (!row || !equal) return null;
    await this.touch(em, id);
    return { tenantId: row.tenant_id, tokenId: id };
  }

  private async touch(em: EntityManager, id: string): Promise<void> {
    const now = Date.now();
    if (now - (this.lastWritten.get(id) ?? 0) < LAST_USED_WRITE_INTERVAL_MS) return;
    this.lastWritten.set(id, now);
    if (this.lastWritten.size > 10_000) this.lastWritten.clear();
    await em.execute('update scim_token set last_used_at = now() where id = ?', [id], 'run');
  }
}
