import { type JobHelpers, type Runner, type Task, run } from 'graphile-worker';
import { Pool, type PoolClient } from 'pg';
import { graphileLogger } from '../mail/graphile-logger';
import type { AppConfig } from '../config';
import type { Logger } from '../logger';
import { metrics } from '../http/observability';
import { appendInvitationEvents } from '../services/events/append';
import { DELIVER_WEBHOOKS_TASK, endpointJobKey, endpointJobKeySql } from '../services/events/names';
import { failingWindowMs, nextAttemptDelayMs } from '../services/webhooks/retry-schedule';
import { SecretBox, signatureHeader } from '../services/webhooks/secrets';
import { type Lookup, type ResolvedTarget, type TargetPolicy, TargetRefused, resolveTarget, targetPolicy } from '../services/webhooks/target-guard';
import { type AttemptResult, postWebhook } from './http-delivery';

export const SWEEP_WEBHOOKS_TASK = 'sweep_webhook_deliveries';
export const EXPIRE_INVITATIONS_TASK = 'expire_invitations';
export const PURGE_WEBHOOK_DELIVERIES_TASK = 'purge_webhook_deliveries';
/** Finished deliveries are kept this long (for support questions), then deleted; events stay (the audit log). */
const FINISHED_DELIVERY_RETENTION = '30 days';

/** Deliveries read per round; they are sent concurrently, since a round holds at most one per ordering key. */
const ROUND_SIZE = 100;
const CONCURRENT_ATTEMPTS = 10;
/** Invitations marked expired per statement of the sweep. */
const EXPIRY_SLICE = 5000;

export interface WebhookDeliveryDeps {
  config: AppConfig;
  log: Logger;
  /** Tests replace DNS; the service uses the system resolver. */
  lookup?: Lookup;
}

interface EndpointRow {
  id: string;
  url: string;
  enabled: boolean;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  failing_since: Date | null;
}

interface DueDelivery {
  id: string;
  event_id: string;
  attempts: number;
  type: string;
  occurred_at: Date;
  data: Record<string, unknown>;
}

type Outcome = { id: string; ok: boolean; gone: boolean; status: number | null; error: string | null; attempts: number };

/** The JSON body of a delivery (Standard Webhooks): the same bytes on every attempt of an event. */
export function deliveryBody(row: Pick<DueDelivery, 'type' | 'occurred_at' | 'data'>): string {
  return JSON.stringify({ type: row.type, timestamp: new Date(row.occurred_at).toISOString(), data: row.data });
}

/**
 * Sends an endpoint's due deliveries, oldest event first, and schedules the job again for the earliest retry.
 *
 * A round reads the due deliveries that have no earlier pending delivery with the same ordering key (an
 * invitation, a member): those can go out concurrently without reordering any invitation's events; the ones
 * behind a failing delivery wait for it. Each round is one read and one write of the deliveries plus one write
 * of the endpoint, whatever its size. One worker drains an endpoint at a time (a session advisory lock, released
 * with the connection if the process dies); a delivery stays PENDING until its outcome is recorded, so a killed
 * worker's deliveries are sent again (same `webhook-id`), at least once.
 */
export async function drainEndpoint(deps: WebhookDeliveryDeps, db: PoolClient, endpointId: string): Promise<void> {
  const lockKey = endpointJobKey(endpointId);
  const { rows: locked } = await db.query<{ ok: boolean }>('select pg_try_advisory_lock(hashtextextended($1, 0)) as ok', [lockKey]);
  if (!locked[0]?.ok) {
    // Another worker drains it; look again shortly in case it finished just before our deliveries arrived.
    await scheduleEndpoint(db, endpointId, new Date(Date.now() + 1000), 'replace');
    return;
  }
  try {
    while (await deliverRound(deps, db, endpointId)) {
      // another round while deliveries are due
    }
    const { rows } = await db.query<{ next: Date | null }>(
      `select min(d.next_attempt_at) as next from webhook_delivery d join webhook_endpoint w on w.id = d.endpoint_id and w.enabled
        where d.endpoint_id = $1 and d.status = 'PENDING'
          and not exists (select 1 from webhook_delivery p where p.endpoint_id = d.endpoint_id and p.status = 'PENDING'
                          and p.ordering_key = d.ordering_key and p.event_seq < d.event_seq)`,
      [endpointId],
    );
    // preserve_run_at: a job an append queued meanwhile (due now, for deliveries this read may not have seen) keeps
    // its time instead of being pushed back to the next retry.
    if (rows[0]?.next) await scheduleEndpoint(db, endpointId, new Date(Math.max(Date.now(), new Date(rows[0].next).getTime())), 'preserve_run_at');
  } finally {
    await db.query('select pg_advisory_unlock(hashtextextended($1, 0))', [lockKey]);
  }
}

async function scheduleEndpoint(db: PoolClient, endpointId: string, runAt: Date, mode: 'replace' | 'preserve_run_at'): Promise<void> {
  await db.query(`select graphile_worker.add_job($1, json_build_object('endpointId', $2::text), run_at := $3, job_key := $4, job_key_mode := $5)`, [
    DELIVER_WEBHOOKS_TASK,
    endpointId,
    runAt,
    endpointJobKey(endpointId),
    mode,
  ]);
}

/** One round; false when nothing was due, an attempt failed, or the endpoint is gone or disabled. */
async function deliverRound(deps: WebhookDeliveryDeps, db: PoolClient, endpointId: string): Promise<boolean> {
  const { config } = deps;
  const { rows: endpoints } = await db.query<EndpointRow>(
    'select id, url, enabled, secret, previous_secret, previous_secret_expires_at, failing_since from webhook_endpoint where id = $1',
    [endpointId],
  );
  const endpoint = endpoints[0];
  if (!endpoint?.enabled) return false;
  const { rows: due } = await db.query<DueDelivery>(
    `select d.id, d.event_id, d.attempts, e.type, e.occurred_at, e.data
       from webhook_delivery d join event e on e.id = d.event_id and e.tenant_id = d.tenant_id
      where d.endpoint_id = $1 and d.status = 'PENDING' and d.next_attempt_at <= now()
        and not exists (select 1 from webhook_delivery p where p.endpoint_id = d.endpoint_id and p.status = 'PENDING'
                        and p.ordering_key = d.ordering_key and p.event_seq < d.event_seq)
      order by d.event_seq
      limit $2`,
    [endpointId, ROUND_SIZE],
  );
  if (!due.length) return false;

  const box = new SecretBox(config.webhooks.secretKey);
  const secrets = [box.open(endpoint.secret)];
  if (endpoint.previous_secret && endpoint.previous_secret_expires_at && new Date(endpoint.previous_secret_expires_at).getTime() > Date.now()) {
    secrets.push(box.open(endpoint.previous_secret));
  }
  const policy = targetPolicy(config);
  const attempt = async (delivery: DueDelivery): Promise<Outcome> => {
    const attempts = delivery.attempts + 1;
    let result: AttemptResult;
    try {
      // Resolved and checked on every attempt; the request connects to the address checked here. The timeout
      // covers the whole attempt: a name server that never answers must not hold the round either.
      const started = Date.now();
      const target = await resolveWithin(endpoint.url, policy, deps.lookup, config.webhooks.timeoutMs);
      const body = deliveryBody(delivery);
      const timestamp = new Date();
      result = await postWebhook(
        target,
        {
          'webhook-id': delivery.event_id,
          'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
          'webhook-signature': signatureHeader(secrets, delivery.event_id, timestamp, body),
        },
        body,
        Math.max(1, config.webhooks.timeoutMs - (Date.now() - started)),
      );
    } catch (error) {
      if (!(error instanceof TargetRefused)) throw error;
      result = { kind: 'error', error: `target refused: ${error.message}` };
    }
    if (result.kind === 'answered') {
      const ok = result.status >= 200 && result.status < 300;
      return { id: delivery.id, ok, gone: result.status === 410, status: result.status, error: ok ? null : `HTTP ${result.status}`, attempts };
    }
    return { id: delivery.id, ok: false, gone: false, status: null, error: result.error, attempts };
  };
  const outcomes = await mapConcurrently(due, CONCURRENT_ATTEMPTS, attempt);

  const now = Date.now();
  const statuses = outcomes.map((o) => {
    if (o.ok) return 'SUCCEEDED';
    if (o.gone) return 'FAILED';
    return nextAttemptDelayMs(o.attempts, config.webhooks.retryBaseMs) === null ? 'FAILED' : 'PENDING';
  });
  const nextAttempts = outcomes.map((o, i) => (statuses[i] === 'PENDING' ? new Date(now + nextAttemptDelayMs(o.attempts, config.webhooks.retryBaseMs)!) : null));
  await db.query(
    `update webhook_delivery d
        set status = v.status, attempts = v.attempts, last_response_status = v.http_status, last_error = v.error,
            next_attempt_at = coalesce(v.next_attempt_at, d.next_attempt_at),
            delivered_at = case when v.status = 'SUCCEEDED' then now() else d.delivered_at end
       from unnest($1::uuid[], $2::text[], $3::int[], $4::int[], $5::text[], $6::timestamptz[]) as v(id, status, attempts, http_status, error, next_attempt_at)
      where d.id = v.id and d.endpoint_id = $7`,
    [outcomes.map((o) => o.id), statuses, outcomes.map((o) => o.attempts), outcomes.map((o) => o.status), outcomes.map((o) => o.error), nextAttempts, endpointId],
  );
  const succeeded = outcomes.filter((o) => o.ok).length;
  if (succeeded) metrics.webhookAttempts.inc({ result: 'succeeded' }, succeeded);
  if (outcomes.length - succeeded) metrics.webhookAttempts.inc({ result: 'failed' }, outcomes.length - succeeded);

  // The endpoint: a success clears its failure history; 410, or nothing but failures for five days (scaled),
  // disables it. Decided in the statement, on the row as it is now, not as this round read it.
  const gone = outcomes.some((o) => o.gone);
  const { rows: after } = await db.query<{ enabled: boolean; disabled_reason: string | null }>(
    `update webhook_endpoint w
        set failing_since = case when $2 then null else coalesce(w.failing_since, now()) end,
            enabled = w.enabled and not s.disable,
            disabled_reason = case when s.disable then s.reason else w.disabled_reason end
       from (select case when $3 then 'The endpoint answered 410 Gone'
                         when not $2 and coalesce(failing_since, now()) <= now() - make_interval(secs => $4::float8 / 1000)
                           then 'Every delivery attempt failed for 5 days' end as reason
               from webhook_endpoint where id = $1) r,
            lateral (select r.reason is not null as disable, r.reason) s
      where w.id = $1
      returning w.enabled, w.disabled_reason`,
    [endpointId, succeeded > 0, gone, failingWindowMs(config.webhooks.retryBaseMs)],
  );
  if (after[0] && !after[0].enabled) {
    deps.log.warn({ endpointId, reason: after[0].disabled_reason }, 'webhook endpoint disabled');
    return false;
  }
  // A round with failures ends the job: the endpoint's next round is queued behind other endpoints' jobs, so an
  // endpoint that hangs holds a worker slot for one round at a time, not for its whole backlog and its retries.
  return succeeded === outcomes.length;
}

/** resolveTarget, refused when the host has not resolved within `ms`. */
async function resolveWithin(url: string, policy: TargetPolicy, lookup: Lookup | undefined, ms: number): Promise<ResolvedTarget> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TargetRefused(`the host did not resolve within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([resolveTarget(url, policy, lookup), late]);
  } finally {
    clearTimeout(timer);
  }
}

async function mapConcurrently<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

/**
 * Wakes the job of every enabled endpoint with due deliveries: after a worker was killed mid-delivery (its job
 * stays locked), or a retry time passed while no worker ran. Runs from the crontab and when a worker starts.
 */
export async function sweepWebhookDeliveries(db: PoolClient): Promise<void> {
  await db.query(
    `select graphile_worker.add_job($1, json_build_object('endpointId', w.id), job_key := ${endpointJobKeySql('w.id::text')}, job_key_mode := 'replace')
       from webhook_endpoint w
      where w.enabled and exists (select 1 from webhook_delivery d where d.endpoint_id = w.id and d.status = 'PENDING' and d.next_attempt_at <= now())`,
    [DELIVER_WEBHOOKS_TASK],
  );
}

/**
 * `invitation.expired`: the stored status of an expired invitation stays PENDING (EXPIRED is derived from
 * expires_at), so the sweep records that it wrote the event (`expiry_recorded_at`) in the same transaction.
 */
export async function expireInvitations(db: PoolClient): Promise<number> {
  let total = 0;
  for (;;) {
    await db.query('begin');
    try {
      const { rows } = await db.query<{ id: string }>(
        `update invitation i set expiry_recorded_at = now()
          where i.id in (select id from invitation where status = 'PENDING' and expires_at <= now() and expiry_recorded_at is null
                          limit ${EXPIRY_SLICE} for update skip locked)
          returning i.id`,
      );
      await appendInvitationEvents(db, 'invitation.expired', { ids: rows.map((r) => r.id) });
      await db.query('commit');
      total += rows.length;
      if (rows.length < EXPIRY_SLICE) return total;
    } catch (error) {
      await db.query('rollback');
      throw error;
    }
  }
}

/** The graphile-worker tasks and crontab lines of webhook delivery and the expiry sweep. */
export function webhookTasks(deps: WebhookDeliveryDeps): { tasks: Record<string, Task>; crontab: string[] } {
  const log = deps.log.child({ component: 'webhooks' });
  return {
    tasks: {
      [DELIVER_WEBHOOKS_TASK]: async (payload, helpers: JobHelpers) => {
        const endpointId = (payload as { endpointId?: unknown })?.endpointId;
        if (typeof endpointId !== 'string') return;
        await helpers.withPgClient((db) => drainEndpoint({ ...deps, log }, db, endpointId));
      },
      [SWEEP_WEBHOOKS_TASK]: async (_payload, helpers) => helpers.withPgClient((db) => sweepWebhookDeliveries(db)),
      [PURGE_WEBHOOK_DELIVERIES_TASK]: async (_payload, helpers) => {
        await helpers.withPgClient((db) =>
          db.query(`delete from webhook_delivery where status <> 'PENDING' and created_at < now() - interval '${FINISHED_DELIVERY_RETENTION}'`),
        );
      },
      [EXPIRE_INVITATIONS_TASK]: async (_payload, helpers) => {
        const expired = await helpers.withPgClient((db) => expireInvitations(db));
        if (expired) log.info({ expired }, 'invitations expired');
      },
    },
    crontab: [`* * * * * ${SWEEP_WEBHOOKS_TASK} ?max=1`, `* * * * * ${EXPIRE_INVITATIONS_TASK} ?max=1`, `41 3 * * * ${PURGE_WEBHOOK_DELIVERIES_TASK} ?max=1`],
  };
}

export interface WebhookRunner {
  runner: Runner;
  stop(): Promise<void>;
}

/**
 * Webhook delivery and the expiry sweep in a graphile-worker runner of their own, beside the email runner: a tenant's
 * endpoint that hangs for 15 s per attempt holds one of its `WEBHOOK_WORKER_CONCURRENCY` slots, never the email queue.
 * A runner only takes jobs of the tasks it knows, so the two share the job queue without taking each other's jobs.
 */
export async function startWebhookRunner(options: { config: AppConfig; databaseUrl: string; log: Logger; lookup?: Lookup }): Promise<WebhookRunner> {
  const { config, databaseUrl } = options;
  const log = options.log.child({ component: 'webhooks' });
  const concurrency = config.webhooks.workerConcurrency;
  const pgPool = new Pool({ connectionString: databaseUrl, max: concurrency + 2 });
  const connectionLost = (error: Error) => log.warn({ err: error }, 'webhook worker: database connection lost');
  pgPool.on('error', connectionLost);
  pgPool.on('connect', (client) => client.on('error', connectionLost));
  const { tasks, crontab } = webhookTasks({ config, log, lookup: options.lookup });
  const runner = await run({
    pgPool,
    concurrency,
    noHandleSignals: true,
    pollInterval: config.email.pollIntervalMs,
    logger: graphileLogger(options.log),
    taskList: tasks,
    crontab: crontab.join('\n'),
  });
  // Deliveries left due while no worker ran (or by a worker killed mid-delivery).
  await runner.addJob(SWEEP_WEBHOOKS_TASK, {});
  let stopped = false;
  return {
    runner,
    async stop() {
      if (stopped) return;
      stopped = true;
      await runner.stop();
      await pgPool.end();
    },
  };
}
