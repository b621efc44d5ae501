/**
 * Events benchmark (issue 15): what the event log adds to a bulk invite, and webhook fan-out throughput.
 *
 * 1. Bulk invite of N people (sendEmail: false): the service's time and statements, and the time of the one
 *    `invitation.created` statement inside it (re-run on the same batch in a rolled-back transaction).
 * 2. Fan-out: N events to one endpoint on loopback (a receiver answering 204): deliveries per second and the
 *    worker's SQL statements per 1,000 deliveries (every statement its pool sent, graphile-worker's own included).
 *
 * `tsx bench/events.ts [--smoke]`; uses DATABASE_URL's server (a database of its own, dropped at the end).
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Pool } from 'pg';
import { createServices } from '../src/app';
import { createOrm, migrate } from '../src/db/orm';
import { countStatements } from '../src/db/query-stats';
import { loadConfig } from '../src/config';
import { RequestContext } from '../src/context';
import { Tenant } from '../src/entities';
import { createLogger } from '../src/logger';
import { startEmailWorker } from '../src/mail/email-worker';
import { appendInvitationEvents } from '../src/services/events';
import { BENCH_SECRET } from './settings';

const log = createLogger('warn');

export interface EventsBenchResult {
  n: number;
  bulkInviteMs: number[];
  bulkInviteStatements: number;
  createdEventsStatementMs: number[];
  fanOutDeliveries: number;
  fanOutMs: number;
  deliveriesPerSecond: number;
  workerStatementsPer1000Deliveries: number;
}

export async function runEventsBench(serverUrl: string, smoke: boolean): Promise<EventsBenchResult> {
  const N = smoke ? 200 : 10_000;
  const RUNS = smoke ? 1 : 3;
  const name = `bench_events_${randomUUID().slice(0, 8)}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  const url = Object.assign(new URL(serverUrl), { pathname: `/${name}` }).toString();
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: url,
    JWT_SECRET: BENCH_SECRET,
    BULK_INVITE_RATE_LIMIT: '0',
    BULK_INVITE_USERS_PER_MINUTE: '0',
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    // The default: jobs arrive by LISTEN/NOTIFY; polling is the fallback, and its statements are not the deliveries'.
    EMAIL_POLL_INTERVAL_MS: '2000',
    LOG_LEVEL: 'warn',
  });
  const orm = await createOrm(url);
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(204);
      res.end();
    });
  });
  try {
    await migrate(orm, url, log);
    const services = createServices(config, orm);
    const em = orm.em.fork();
    const tenant = em.create(Tenant, { name: 'Bench' });
    await em.flush();
    const viewer = { userId: 'bench', tenantId: tenant.id, permissions: new Set(['users:invite', 'users:read', 'tenant:admin']) } as never;
    const contextFor = () => {
      const fork = orm.em.fork({ clear: true });
      fork.setFilterParams('tenant', { tenantId: tenant.id });
      return new RequestContext(randomUUID(), fork, log, viewer);
    };

    const bulkInviteMs: number[] = [];
    const createdEventsStatementMs: number[] = [];
    let bulkInviteStatements = 0;
    for (let run = 0; run < RUNS; run++) {
      const users = Array.from({ length: N }, (_, i) => ({ email: `p${run}-${i}@bench.test`, firstName: 'P' }));
      const started = performance.now();
      const { result, statements } = await countStatements(() => services.bulkInvites.bulkInviteUsers(contextFor(), { users, sendEmail: false }));
      bulkInviteMs.push(Math.round(performance.now() - started));
      bulkInviteStatements = statements;
      const batchId = result.results.find((r) => r.kind === 'invited')!.invitation!.batchId!;
      // The same statement again, timed alone, then rolled back.
      const fork = orm.em.fork();
      await fork
        .transactional(async (tx) => {
          const t0 = performance.now();
          await appendInvitationEvents(tx, 'invitation.created', { tenantId: tenant.id, batchId });
          createdEventsStatementMs.push(Math.round(performance.now() - t0));
          throw new Error('rollback');
        })
        .catch(() => undefined);
    }

    // Fan-out: one endpoint subscribed to everything, N new events, then a worker drains them.
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const endpointUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const created = await services.webhookEndpoints.create(contextFor(), { url: endpointUrl });
    const users = Array.from({ length: N }, (_, i) => ({ email: `fan-${i}@bench.test` }));
    await services.bulkInvites.bulkInviteUsers(contextFor(), { users, sendEmail: false });
    const pending = async (pool: Pool) =>
      Number((await pool.query(`select count(*) as n from webhook_delivery where endpoint_id = $1 and status = 'PENDING'`, [created.endpoint.id])).rows[0].n);
    const watcher = new Pool({ connectionString: url, max: 1 });
    const fanOutDeliveries = await pending(watcher);

    let statements = 0;
    const originalQuery = Client.prototype.query;
    // Counts every statement of every pg client in this process from here on: the worker's pool only, the watcher aside.
    const watcherClients = new Set<unknown>();
    Client.prototype.query = function (this: Client, ...args: unknown[]) {
      if (!watcherClients.has(this)) statements++;
      return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof Client.prototype.query;
    const watcherClient = await watcher.connect();
    watcherClients.add(watcherClient);
    watcherClient.release();
    const started = performance.now();
    const worker = await startEmailWorker({ config, databaseUrl: url, log });
    while ((await pending(watcher)) > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    const fanOutMs = Math.round(performance.now() - started);
    const workerStatements = statements;
    Client.prototype.query = originalQuery;
    await worker.stop();
    await watcher.end();
    return {
      n: N,
      bulkInviteMs,
      bulkInviteStatements,
      createdEventsStatementMs,
      fanOutDeliveries,
      fanOutMs,
      deliveriesPerSecond: Math.round((fanOutDeliveries / fanOutMs) * 1000),
      workerStatementsPer1000Deliveries: Math.round((workerStatements / fanOutDeliveries) * 1000),
    };
  } finally {
    receiver.close();
    await orm.close();
    await admin.query(`drop database if exists "${name}" with (force)`);
    await admin.end();
  }
}

if (require.main === module) {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    console.error('DATABASE_URL is required (a PostgreSQL server where a scratch database may be created)');
    process.exit(1);
  }
  runEventsBench(serverUrl, process.argv.includes('--smoke')).then(
    (result) => console.log(JSON.stringify(result, null, 2)),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
