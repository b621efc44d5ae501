import type { RateLimitConfig } from '../config';
import type { BulkInviteGuard } from '../services/ports';
import { metrics } from './observability';
import { DomainError } from '../services/errors';
import { canonicalId } from '../services/ids';

/**
 * Bulk invite requests per tenant per fixed window, kept in this process's memory. With several API
 * processes each enforces its own window, so the effective limit is per process.
 */
export class TenantRateLimiter implements BulkInviteGuard {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly config: RateLimitConfig,
    private readonly now: () => number = Date.now,
  ) {}

  check(rawTenantId: string): void {
    if (this.config.bulkRequestsPerWindow === 0) return;
    // Ids compare case-insensitively: one tenant, one bucket, however its id is spelled.
    const tenantId = canonicalId(rawTenantId);
    const now = this.now();
    let window = this.windows.get(tenantId);
    if (!window || now - window.start >= this.config.windowMs) {
      window = { start: now, count: 0 };
      this.windows.set(tenantId, window);
      if (this.windows.size > 10_000) this.evictExpired(now);
    }
    if (window.count >= this.config.bulkRequestsPerWindow) {
      const retryAfterSeconds = Math.max(1, Math.ceil((window.start + this.config.windowMs - now) / 1000));
      metrics.rateLimitRefusals.inc({ limit: 'bulk_requests' });
      throw new DomainError('RATE_LIMITED', `Too many bulk invite requests for this tenant; retry in ${retryAfterSeconds} s`, {
        retryAfterSeconds,
      });
    }
    window.count++;
  }

  private evictExpired(now: number) {
    for (const [tenantId, window] of this.windows) {
      if (now - window.start >= this.config.windowMs) this.windows.delete(tenantId);
    }
  }
}
