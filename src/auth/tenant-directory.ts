import type { MikroORM } from '@mikro-orm/postgresql';
import { canonicalId } from '../services/ids';

export interface TenantDirectoryOptions {
  /** How long a tenant seen to exist is trusted without asking the database again. */
  ttlMs?: number;
  /** Entries kept at most; the oldest go first. */
  maxEntries?: number;
  now?: () => number;
}

/**
 * Whether a token's tenant exists. A validly signed token may name a tenant that was never created (or a typo in
 * an issuer's configuration); without this check it would reach the database as a foreign key violation. Only
 * tenants that exist are cached: one just created by another process is found on its first request, and a token
 * for a missing tenant costs one primary-key lookup per request.
 */
export class TenantDirectory {
  private readonly known = new Map<string, number>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(
    private readonly orm: MikroORM,
    options: TenantDirectoryOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 5 * 60_000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** `tenantId` must already be a UUID (the token verifier checks it). Database errors propagate. */
  async exists(tenantId: string): Promise<boolean> {
    const id = canonicalId(tenantId);
    const now = this.now();
    const seenAt = this.known.get(id);
    if (seenAt !== undefined && now - seenAt < this.ttlMs) return true;
    const rows = await this.orm.em.getConnection().execute<Array<{ id: string }>>('select id from tenant where id = ?', [id]);
    if (rows.length === 0) {
      this.known.delete(id);
      return false;
    }
    this.known.delete(id); // re-inserted last: Map order is the eviction order
    this.known.set(id, now);
    if (this.known.size > this.maxEntries) this.known.delete(this.known.keys().next().value!);
    return true;
  }
}
