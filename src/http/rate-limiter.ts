import type { MikroORM } from '@mikro-orm/postgresql';
import type { RateLimitConfig } from '../config';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BulkInviteGuard, ImportPacer } from '../services/ports';
import { metrics } from './observability';
import { DomainError } from '../services/errors';
import { canonicalId } from '../services/ids';

/** One limit: at most `limit` units per tenant per fixed window of `windowMs`; a limit of 0 is off. */
export interface Budget {
  /** Row key in `rate_limit_usage` and the `limit` label of `rate_limit_refusals_total`. */
  bucket: 'bulk_requests' | 'bulk_users' | 'read_requests';
  limit: number;
  windowMs: number;
}

export type Reservation = { granted: true; windowStart: Date } | { granted: false; retryAfterSeconds: number };

/**
 * Per-tenant budgets kept in PostgreSQL, so every API process on the database shares them. A reservation is one
 * statement: the window is computed from the database clock (processes agree on it), and the counter row of
 * that window is created or increased only if the result stays within the limit; a refused reservation takes
 * nothing, so a request that does not fit leaves the budget to smaller ones.
 */
export class TenantBudgets {
  constructor(private readonly orm: MikroORM) {}

  async reserve(rawTenantId: string, budget: Budget, units: number): Promise<Reservation> {
    // Ids compare case-insensitively: one tenant, one bucket, however its id is spelled.
    const tenantId = canonicalId(rawTenantId);
    const [row] = await this.orm.em.getConnection().execute<Array<{ used: number | null; window_start: Date; retry_after_ms: number }>>(
      `with w as (
         select to_timestamp(floor(extract(epoch from clock_timestamp()) * 1000 / ?) * ? / 1000.0) as start, clock_timestamp() as now
       ), taken as (
         insert into rate_limit_usage (tenant_id, bucket, window_start, used)
         select ?::uuid, ?::text, w.start, ?::int from w where ?::int <= ?::int
         on conflict (tenant_id, bucket, window_start) do update set used = rate_limit_usage.used + excluded.used
           where rate_limit_usage.used + excluded.used <= ?
         returning used
       )
       select (select used from taken) as used, w.start as window_start,
              extract(epoch from (w.start - w.now)) * 1000 + ?::numeric as retry_after_ms
         from w`,
      [budget.windowMs, budget.windowMs, tenantId, budget.bucket, units, units, budget.limit, budget.limit, budget.windowMs],
    );
    if (row.used === null) {
      return { granted: false, retryAfterSeconds: Math.max(1, Math.ceil(Number(row.retry_after_ms) / 1000)) };
    }
    if (Number(row.used) === units) {
      // The first reservation of a new window: the tenant's older windows of this budget are of no use any more.
      await this.orm.em
        .getConnection()
        .execute('delete from rate_limit_usage where tenant_id = ? and bucket = ? and window_start < ?', [tenantId, budget.bucket, row.window_start]);
    }
    return { granted: true, windowStart: row.window_start };
  }

  /** Gives back units reserved in `windowStart` (a later budget of the same request refused it). */
  async release(rawTenantId: string, budget: Budget, units: number, windowStart: Date): Promise<void> {
    await this.orm.em
      .getConnection()
      .execute('update rate_limit_usage set used = greatest(0, used - ?) where tenant_id = ? and bucket = ? and window_start = ?', [
        units,
        canonicalId(rawTenantId),
        budget.bucket,
        windowStart,
      ]);
  }
}

export function rateLimited(budget: Budget, retryAfterSeconds: number, message: string): DomainError {
  metrics.rateLimitRefusals.inc({ limit: budget.bucket });
  return new DomainError('RATE_LIMITED', `${message}; retry in ${retryAfterSeconds} s`, { retryAfterSeconds });
}

/**
 * Admission of bulk requests (bulkInviteUsers, both REST shims; imports and SCIM use the same port): per tenant,
 * `BULK_INVITE_RATE_LIMIT` requests per `BULK_INVITE_RATE_WINDOW_MS` and `BULK_INVITE_USERS_PER_MINUTE` people
 * per minute. Both are reserved before any work; when one refuses, the other is given back.
 */
export class BulkInviteRateLimiter implements BulkInviteGuard {
  private readonly requests: Budget;
  private readonly users: Budget;

  constructor(
    private readonly budgets: TenantBudgets,
    config: RateLimitConfig,
  ) {
    this.requests = { bucket: 'bulk_requests', limit: config.bulkRequestsPerWindow, windowMs: config.windowMs };
    this.users = { bucket: 'bulk_users', limit: config.bulkUsersPerMinute, windowMs: 60_000 };
  }

  async check(tenantId: string, { people }: { owner: object; people: number }): Promise<void> {
    let request: Reservation | undefined;
    if (this.requests.limit > 0) {
      request = await this.budgets.reserve(tenantId, this.requests, 1);
      if (!request.granted) throw rateLimited(this.requests, request.retryAfterSeconds, 'Too many bulk invite requests for this tenant');
    }
    if (this.users.limit > 0 && people > 0) {
      const users = await this.budgets.reserve(tenantId, this.users, people);
      if (!users.granted) {
        if (request?.granted) await this.budgets.release(tenantId, this.requests, 1, request.windowStart);
        const message =
          people > this.users.limit
            ? `A request may name at most ${this.users.limit} people per minute for this tenant; split it`
            : `This request's ${people} people would exceed this tenant's budget of ${this.users.limit} people per minute`;
        throw rateLimited(this.users, users.retryAfterSeconds, message);
      }
    }
  }
}

/** GraphQL queries per tenant: `READ_RATE_LIMIT` per `READ_RATE_WINDOW_MS`, across every API process. */
export class ReadRateLimiter {
  private readonly reads: Budget;

  constructor(
    private readonly budgets: TenantBudgets,
    config: RateLimitConfig,
  ) {
    this.reads = { bucket: 'read_requests', limit: config.readRequestsPerWindow, windowMs: config.readWindowMs };
  }

  async check(tenantId: string): Promise<void> {
    if (this.reads.limit === 0) return;
    const reservation = await this.budgets.reserve(tenantId, this.reads, 1);
    if (!reservation.granted) throw rateLimited(this.reads, reservation.retryAfterSeconds, 'Too many queries for this tenant');
  }
}

/**
 * Imports draw on the same `BULK_INVITE_USERS_PER_MINUTE` budget as the bulk requests, chunk by chunk: a chunk
 * that does not fit waits for the next window instead of failing, so interactive invites keep their share.
 */
export class ImportUsersPacer implements ImportPacer {
  private readonly users: Budget;

  constructor(
    private readonly budgets: TenantBudgets,
    config: RateLimitConfig,
  ) {
    this.users = { bucket: 'bulk_users', limit: config.bulkUsersPerMinute, windowMs: 60_000 };
  }

  async waitFor(tenantId: string, people: number, signal?: AbortSignal): Promise<number> {
    if (this.users.limit === 0 || people <= 0) return people;
    const units = Math.min(people, this.users.limit);
    for (;;) {
      const reservation = await this.budgets.reserve(tenantId, this.users, units);
      if (reservation.granted) return units;
      await sleep(reservation.retryAfterSeconds * 1000, undefined, { signal });
    }
  }
}
