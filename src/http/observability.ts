import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { MikroORM } from '@mikro-orm/postgresql';
import { type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { TokenVerifier } from '../auth/jwt';
import { type Logger, safeErrorMessage } from '../logger';

/**
 * Request logs, Prometheus metrics (`GET /metrics`) and readiness (`GET /health/ready`).
 *
 * Metrics live in one registry per process, shared by everything the process serves; other modules import `metrics`
 * and count what they do. Labels never carry tenant ids, emails or other unbounded values.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry }); // process CPU/memory/fds, heap, GC, event-loop lag

export const metrics = {
  httpRequestDuration: new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    // Bulk invites of thousands of people take seconds; probes take milliseconds.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  }),
  /** One per person in a bulk invite (any surface): `code` is INVITED or the failure code, e.g. ALREADY_MEMBER. */
  bulkInviteResults: new Counter({
    name: 'bulk_invite_results_total',
    help: 'People processed by bulk invites, by outcome code',
    labelNames: ['code'] as const,
    registers: [registry],
  }),
  /** One per email the worker handed to the provider: `result` is sent, failed (permanently) or retried. */
  emailSendResults: new Counter({
    name: 'email_send_results_total',
    help: 'Invitation emails by provider outcome',
    labelNames: ['result'] as const,
    registers: [registry],
  }),
  webhookAttempts: new Counter({
    name: 'webhook_delivery_attempts_total',
    help: 'Webhook delivery attempts by outcome (succeeded: a 2xx in time; failed: anything else)',
    labelNames: ['result'] as const,
    registers: [registry],
  }),
  /** One per refused request: `limit` names the budget, e.g. bulk_requests, bulk_users, reads, resend_cooldown. */
  rateLimitRefusals: new Counter({
    name: 'rate_limit_refusals_total',
    help: 'Requests refused by a rate limit, by limit',
    labelNames: ['limit'] as const,
    registers: [registry],
  }),
  /** Read from the database at each scrape (see registerObservability). */
  emailQueueDepth: new Gauge({
    name: 'email_queue_depth',
    help: 'Invitation emails waiting to be sent (queued, or claimed by a worker and not yet sent)',
    registers: [registry],
    async collect() {
      if (!emailQueueDepthSource) return;
      try {
        this.set(await emailQueueDepthSource());
      } catch {
        // The database is down: /health/ready says so; a scrape must still answer.
      }
    },
  }),
};

let emailQueueDepthSource: (() => Promise<number>) | undefined;

/** Where `email_queue_depth` comes from; registerObservability sets it to a count over the invitation table. */
export function setEmailQueueDepthSource(source: (() => Promise<number>) | undefined): void {
  emailQueueDepthSource = source;
}

/** The path without its query string: accept links and GET /graphql carry secrets or documents there. */
function pathOf(request: FastifyRequest): string {
  const url = request.raw.url ?? request.url;
  const end = url.indexOf('?');
  return end === -1 ? url : url.slice(0, end);
}

const PROBES = new Set(['/health', '/health/ready', '/metrics']);

/**
 * Fastify's per-request log lines, one per request: request id (fastify's `reqId`, taken from `x-request-id` when
 * the client sends a usable one), method, path without query string, route, status, duration and, for a valid bearer
 * token, the tenant. Probes log at debug. Passed to Fastify as `logController`.
 */
export class RequestLogController extends LogController {
  constructor(private readonly verifier: TokenVerifier) {
    super();
  }

  private fields(request: FastifyRequest, reply: FastifyReply): Record<string, unknown> {
    const fields: Record<string, unknown> = {
      method: request.method,
      path: pathOf(request),
      route: request.routeOptions.url,
      statusCode: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 10) / 10,
    };
    const authorization = request.headers.authorization;
    if (authorization) {
      try {
        const tenant = this.verifier.verify(authorization)?.tenantId;
        if (tenant) fields.tenant = tenant;
      } catch {
        // an invalid token has no tenant; the response already told the client
      }
    }
    return fields;
  }

  override incomingRequest(): void {
    // One line per request, written when it completes.
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const fields = this.fields(request, reply);
    if (error) reply.log.error({ ...fields, err: error }, 'request errored');
    else if (PROBES.has(pathOf(request)) && reply.statusCode < 400) reply.log.debug(fields, 'request completed');
    else reply.log.info(fields, 'request completed');
  }

  override routeNotFound(request: FastifyRequest): void {
    request.log.info({ method: request.method, path: pathOf(request) }, 'route not found');
  }

  override defaultErrorLog(error: Error, request: FastifyRequest, reply: FastifyReply): void {
    const fields = { method: request.method, path: pathOf(request), statusCode: reply.statusCode, err: error };
    // Not error.message as such: a database error's message is the whole statement, values included.
    const message = safeErrorMessage(error);
    if (reply.statusCode >= 500) reply.log.error(fields, message);
    else reply.log.info(fields, message);
  }
}

function migrationNames(orm: MikroORM): string[] {
  const options = orm.config.get('migrations');
  const folder = resolve(orm.config.get('baseDir'), options.pathTs ?? options.path ?? 'src/migrations');
  return readdirSync(folder)
    .filter((file) => /\.(ts|js)$/.test(file) && !file.endsWith('.d.ts'))
    .map((file) => file.replace(/\.(ts|js)$/, ''));
}

export type Readiness = { ready: true } | { ready: false; reason: string };

/** Ready: the database answers, every committed migration is recorded as applied, and the job queue's schema exists. */
export async function readiness(orm: MikroORM, expected: readonly string[]): Promise<Readiness> {
  const table = orm.config.get('migrations').tableName ?? 'mikro_orm_migrations';
  let rows: { applied: string[] | null; queue: boolean }[];
  try {
    rows = await orm.em.getConnection().execute(
      `select (select array_agg(name) from "${table.replace(/"/g, '""')}") as applied,
              to_regclass('graphile_worker.migrations') is not null as queue`,
    );
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return { ready: false, reason: 'migrations not applied' };
    return { ready: false, reason: 'database unavailable' };
  }
  const applied = new Set((rows[0]?.applied ?? []).map((name) => name.replace(/\.(ts|js)$/, '')));
  const pending = expected.filter((name) => !applied.has(name));
  if (pending.length) return { ready: false, reason: `migrations not applied: ${pending.join(', ')}` };
  if (!rows[0]?.queue) return { ready: false, reason: 'migrations not applied: graphile_worker' };
  return { ready: true };
}

/** Adds `x-request-id` to every response, the HTTP histogram, `GET /metrics` and `GET /health/ready`. */
export async function registerObservability(server: FastifyInstance, options: { orm: MikroORM; log: Logger }): Promise<void> {
  const { orm, log } = options;
  const expected = migrationNames(orm);

  setEmailQueueDepthSource(async () => {
    const rows = await orm.em
      .getConnection()
      .execute<{ n: number }[]>(`select count(*)::int as n from invitation where status = 'PENDING' and email_status in ('QUEUED', 'SENDING')`);
    return rows[0]?.n ?? 0;
  });

  server.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  server.addHook('onResponse', async (request, reply) => {
    metrics.httpRequestDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  server.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const body = await registry.metrics();
    return reply.type(registry.contentType).send(body);
  });

  server.get('/health/ready', { schema: { hide: true } }, async (_request, reply) => {
    const state = await readiness(orm, expected);
    if (state.ready) return { status: 'ready' };
    log.warn({ reason: state.reason }, 'readiness check failed');
    return reply.code(503).send({ status: 'unavailable', reason: state.reason });
  });
}
