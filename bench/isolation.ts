/**
 * Tenant isolation under heavy load (contract §6): tenant A sends many concurrent large dry runs (each user with
 * many role ids) while tenant B sends a 1-user invite every 250 ms and `/health` is polled, against a separate
 * server process on loopback. Reports B's latency (p95), `/health`'s worst latency, the server's peak RSS
 * (VmHWM) and what became of every heavy request (completed, or refused with 429/503 and Retry-After).
 *
 * `npm run bench` runs it at the contract's size; `--smoke` at a tiny one. `tsx bench/isolation.ts` runs it
 * alone (`--smoke` too). Bounded: every request has a deadline, and the whole scenario stops at `limitMs`.
 */
import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import { mintToken } from '../src/auth/jwt';
import { loadConfig } from '../src/config';
import { createOrm, migrate } from '../src/db/orm';
import { startEmbeddedPostgres } from '../src/dev/embedded-postgres';
import { Role, Tenant } from '../src/entities';
import { createLogger } from '../src/logger';
import { freePort, spawnEntry } from '../test/helpers/processes';
import { BENCH_SECRET } from './settings';

const SECRET = BENCH_SECRET;
const log = createLogger('warn');

export interface IsolationOptions {
  /** Concurrent heavy dry runs from tenant A. */
  heavyRequests: number;
  usersPerHeavyRequest: number;
  roleIdsPerUser: number;
  /** Tenant B's 1-user invites, one every this many ms, while heavy work is in flight. */
  smallEveryMs: number;
  healthEveryMs: number;
  /** The whole scenario stops (outstanding requests aborted) after this long. */
  limitMs: number;
  /** Extra environment for the server process (admission budgets, for instance). */
  serverEnv?: Record<string, string>;
}

export const CONTRACT_SCENARIO: IsolationOptions = {
  heavyRequests: 20,
  usersPerHeavyRequest: 10_000,
  roleIdsPerUser: 20,
  smallEveryMs: 250,
  healthEveryMs: 100,
  limitMs: 180_000,
};

export const SMOKE_SCENARIO: IsolationOptions = {
  heavyRequests: 4,
  usersPerHeavyRequest: 200,
  roleIdsPerUser: 5,
  smallEveryMs: 250,
  healthEveryMs: 100,
  limitMs: 30_000,
};

export interface IsolationResult {
  scenario: Omit<IsolationOptions, 'serverEnv'>;
  bodyBytes: number;
  heavy: { completed: number; refused429: number; refused503: number; refusedWithoutRetryAfter: number; other: Record<string, number>; maxMs: number };
  small: { sent: number; ok: number; p50Ms: number; p95Ms: number; maxMs: number; statuses: Record<string, number> };
  health: { polls: number; maxMs: number; notOk: number };
  serverPeakRssMb: number;
  fiveHundredsOtherThan503: number;
  wallMs: number;
  targets: Array<{ target: string; verdict: 'PASS' | 'FAIL'; measured: string }>;
}

const percentile = (values: number[], p: number) => {
  if (!values.length) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

function peakRssMb(pid: number): number {
  const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return Math.round(kb / 1024);
}

async function seed(url: string, roleCount: number) {
  const orm = await createOrm(url);
  try {
    const em = orm.em.fork();
    const a = em.create(Tenant, { name: 'Heavy A' });
    const b = em.create(Tenant, { name: 'Small B' });
    const roles = Array.from({ length: roleCount }, (_, i) => em.create(Role, { tenant: a, name: `Role ${i}` }));
    em.create(Role, { tenant: b, name: 'Member' });
    await em.flush();
    return { tenantA: a.id, tenantB: b.id, roleIds: roles.map((r) => r.id) };
  } finally {
    await orm.close();
  }
}

const MUTATION = 'mutation($input: BulkInviteUsersInput!) { bulkInviteUsers(input: $input) { total successful failed } }';

/** Runs the scenario against a fresh server process on the database at `url` (migrated here). */
export async function runIsolation(url: string, options: IsolationOptions): Promise<IsolationResult> {
  const orm = await createOrm(url);
  await migrate(orm, url, log);
  await orm.close();
  const { tenantA, tenantB, roleIds } = await seed(url, options.roleIdsPerUser);

  const port = await freePort();
  const server = spawnEntry('src/main.ts', {
    DATABASE_URL: url,
    PORT: String(port),
    JWT_SECRET: SECRET,
    RUN_WORKER: 'false',
    // The request-rate limit is not what this measures: B sends more than its default budget per minute.
    BULK_INVITE_RATE_LIMIT: '0',
    LOG_LEVEL: 'warn',
    ...options.serverEnv,
  });
  try {
    await server.waitFor(/Bulk invite service ready/, 120_000);
    const base = `http://127.0.0.1:${port}`;
    const token = (tenantId: string) =>
      mintToken({ secret: SECRET, subject: 'bench', tenantId, permissions: ['users:invite'], expiresInSeconds: 3600 });
    const tokenA = token(tenantA);
    const tokenB = token(tenantB);

    const users = Array.from({ length: options.usersPerHeavyRequest }, (_, i) => ({
      email: `heavy-${i}@bench.example.com`,
      firstName: 'Heavy',
      lastName: `User ${i}`,
      roleIds,
    }));
    const heavyBody = JSON.stringify({ query: MUTATION, variables: { input: { users, dryRun: true } } });
    const post = (auth: string, body: string, signal: AbortSignal) =>
      fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${auth}` }, body, signal });

    // Warm-up: one small request of each kind, so JIT and pools are not what B's first request measures.
    await (await post(tokenB, JSON.stringify({ query: MUTATION, variables: { input: { users: [{ email: 'warm@bench.example.com' }], dryRun: true } } }), AbortSignal.timeout(30_000))).text();

    const abort = new AbortController();
    const deadline = setTimeout(() => abort.abort(), options.limitMs);
    const started = performance.now();
    const heavyStatuses: Record<string, number> = {};
    let heavyMaxMs = 0;
    let refusedWithoutRetryAfter = 0;
    let fiveHundreds = 0;
    const heavy = Array.from({ length: options.heavyRequests }, async () => {
      const at = performance.now();
      try {
        const response = await post(tokenA, heavyBody, abort.signal);
        const text = await response.text();
        let key = String(response.status);
        if (response.status === 200) {
          const json = JSON.parse(text) as { data?: { bulkInviteUsers?: { total: number } } };
          key = json.data?.bulkInviteUsers?.total === options.usersPerHeavyRequest ? 'completed' : `200 with errors: ${text.slice(0, 120)}`;
        }
        if ((response.status === 429 || response.status === 503) && !response.headers.get('retry-after')) refusedWithoutRetryAfter++;
        if (response.status >= 500 && response.status !== 503) fiveHundreds++;
        heavyStatuses[key] = (heavyStatuses[key] ?? 0) + 1;
      } catch (error) {
        const key = abort.signal.aborted ? 'aborted at the time limit' : `network error: ${(error as Error).cause ?? (error as Error).message}`;
        heavyStatuses[key] = (heavyStatuses[key] ?? 0) + 1;
      }
      heavyMaxMs = Math.max(heavyMaxMs, performance.now() - at);
    });
    let heavyDone = false;
    const allHeavy = Promise.all(heavy).then(() => {
      heavyDone = true;
    });

    // B and /health are sent on a fixed schedule, not after the previous answer: a stalled server shows as latency.
    const smallLatencies: number[] = [];
    const smallStatuses: Record<string, number> = {};
    const healthLatencies: number[] = [];
    let healthNotOk = 0;
    const inFlight: Promise<void>[] = [];
    let serial = 0;
    const smallTimer = setInterval(() => {
      if (heavyDone) return;
      const at = performance.now();
      const body = JSON.stringify({ query: MUTATION, variables: { input: { users: [{ email: `b-${serial++}-${Date.now()}@bench.example.com`, role: 'Member' }], sendEmail: false } } });
      inFlight.push(
        post(tokenB, body, abort.signal)
          .then(async (response) => {
            const text = await response.text();
            const ok = response.status === 200 && /"successful":1/.test(text);
            const key = ok ? 'invited' : `${response.status}: ${text.slice(0, 120)}`;
            smallStatuses[key] = (smallStatuses[key] ?? 0) + 1;
            if (response.status >= 500 && response.status !== 503) fiveHundreds++;
            smallLatencies.push(performance.now() - at);
          })
          .catch(() => {
            smallStatuses['no answer'] = (smallStatuses['no answer'] ?? 0) + 1;
            smallLatencies.push(performance.now() - at);
          }),
      );
    }, options.smallEveryMs);
    const healthTimer = setInterval(() => {
      if (heavyDone) return;
      const at = performance.now();
      inFlight.push(
        fetch(`${base}/health`, { signal: abort.signal })
          .then(async (response) => {
            await response.text();
            if (response.status !== 200) healthNotOk++;
            healthLatencies.push(performance.now() - at);
          })
          .catch(() => {
            healthNotOk++;
            healthLatencies.push(performance.now() - at);
          }),
      );
    }, options.healthEveryMs);

    await allHeavy;
    clearInterval(smallTimer);
    clearInterval(healthTimer);
    await Promise.all(inFlight);
    clearTimeout(deadline);
    const wallMs = Math.round(performance.now() - started);
    const serverPeakRssMb = peakRssMb(server.child.pid!);

    const count = (key: string) => heavyStatuses[key] ?? 0;
    const other = Object.fromEntries(Object.entries(heavyStatuses).filter(([k]) => !['completed', '429', '503'].includes(k)));
    const p95 = percentile(smallLatencies, 95);
    const healthMax = Math.max(0, ...healthLatencies);
    const smallOk = smallStatuses.invited ?? 0;
    const result: IsolationResult = {
      scenario: {
        heavyRequests: options.heavyRequests,
        usersPerHeavyRequest: options.usersPerHeavyRequest,
        roleIdsPerUser: options.roleIdsPerUser,
        smallEveryMs: options.smallEveryMs,
        healthEveryMs: options.healthEveryMs,
        limitMs: options.limitMs,
      },
      bodyBytes: Buffer.byteLength(heavyBody),
      heavy: { completed: count('completed'), refused429: count('429'), refused503: count('503'), refusedWithoutRetryAfter, other, maxMs: Math.round(heavyMaxMs) },
      small: {
        sent: smallLatencies.length,
        ok: smallOk,
        p50Ms: Math.round(percentile(smallLatencies, 50)),
        p95Ms: Math.round(p95),
        maxMs: Math.round(Math.max(0, ...smallLatencies)),
        statuses: smallStatuses,
      },
      health: { polls: healthLatencies.length, maxMs: Math.round(healthMax), notOk: healthNotOk },
      serverPeakRssMb,
      fiveHundredsOtherThan503: fiveHundreds,
      wallMs,
      targets: [],
    };
    const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL') as 'PASS' | 'FAIL';
    result.targets = [
      { target: "other tenant's 1-user invite p95 ≤ 2 s", verdict: verdict(p95 <= 2000 && smallOk === smallLatencies.length), measured: `p95 ${result.small.p95Ms} ms, ${smallOk}/${smallLatencies.length} invited` },
      { target: '/health within 1 s', verdict: verdict(healthMax <= 1000 && healthNotOk === 0), measured: `max ${result.health.maxMs} ms over ${healthLatencies.length} polls, ${healthNotOk} not 200` },
      { target: 'server peak RSS < 1 GB', verdict: verdict(serverPeakRssMb < 1024), measured: `${serverPeakRssMb} MB` },
      {
        target: 'every heavy request completes or is refused with 429/503 and Retry-After; no 5xx but 503',
        verdict: verdict(Object.keys(other).length === 0 && refusedWithoutRetryAfter === 0 && fiveHundreds === 0),
        measured: `${result.heavy.completed} completed, ${result.heavy.refused429} × 429, ${result.heavy.refused503} × 503, ${refusedWithoutRetryAfter} without Retry-After, other: ${JSON.stringify(other)}`,
      },
    ];
    return result;
  } finally {
    server.child.kill('SIGTERM');
    await server.exited().catch(() => undefined);
  }
}

export function isolationReport(result: IsolationResult): string {
  const s = result.scenario;
  return [
    `Isolation (contract §6): ${s.heavyRequests} concurrent ${s.usersPerHeavyRequest.toLocaleString('en')}-user dry runs (${s.roleIdsPerUser} role ids each, ${(result.bodyBytes / 2 ** 20).toFixed(1)} MB body) from tenant A; tenant B invites 1 user every ${s.smallEveryMs} ms; /health every ${s.healthEveryMs} ms. ${(result.wallMs / 1000).toFixed(1)} s.`,
    '',
    `- heavy: ${result.heavy.completed} completed, ${result.heavy.refused429} × 429, ${result.heavy.refused503} × 503 (slowest ${result.heavy.maxMs} ms)`,
    `- tenant B: ${result.small.ok}/${result.small.sent} invited, p50 ${result.small.p50Ms} ms, p95 ${result.small.p95Ms} ms, max ${result.small.maxMs} ms`,
    `- /health: max ${result.health.maxMs} ms over ${result.health.polls} polls`,
    `- server peak RSS: ${result.serverPeakRssMb} MB`,
    '',
    ...result.targets.map((t) => `- ${t.verdict} ${t.target}: ${t.measured}`),
  ].join('\n');
}

/** Alone: `tsx bench/isolation.ts [--smoke]`, on DATABASE_URL's server or the embedded PostgreSQL. */
async function main() {
  const smoke = process.argv.includes('--smoke');
  const config = loadConfig({ ...process.env, NODE_ENV: 'test', JWT_SECRET: SECRET });
  const embedded = config.databaseUrl ? null : await startEmbeddedPostgres({ dataDir: config.dataDir, name: 'bench-pg', database: 'postgres', log });
  const serverUrl = config.databaseUrl ?? embedded!.url;
  const name = `bulk_invite_isolation_${Date.now()}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  try {
    // `--heavy=N`, `--users=N`: another size, to look at one effect at a time.
    const arg = (key: string) => process.argv.find((a) => a.startsWith(`--${key}=`))?.split('=')[1];
    const scenario = { ...(smoke ? SMOKE_SCENARIO : CONTRACT_SCENARIO) };
    if (arg('heavy')) scenario.heavyRequests = Number(arg('heavy'));
    if (arg('users')) scenario.usersPerHeavyRequest = Number(arg('users'));
    const result = await runIsolation(Object.assign(new URL(serverUrl), { pathname: `/${name}` }).toString(), scenario);
    console.log(`\n${isolationReport(result)}\n`);
    console.log(JSON.stringify(result));
  } finally {
    await admin.query(`drop database if exists "${name}" with (force)`);
    await admin.end();
    await embedded?.stop();
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
