/**
 * `npx tsx bench/profile.ts [N] [requests]`: where a bulk invite's time goes on the server. Runs the server as its
 * own process (bench/profiled-server.ts) on a fresh database, warms it up, then profiles `requests` bulkInviteUsers
 * calls of N users each (every user with a role, a primary group and a position, as in the bench) and prints the
 * top self-time functions, self time by package, and every SQL statement with its duration. The raw
 * .cpuprofile (open it in Chrome DevTools) and statement log stay in .scratch/.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Client } from 'pg';
import { createOrm, migrate } from '../src/db/orm';
import { mintToken } from '../src/auth/jwt';
import { Group, Position, Role, Tenant } from '../src/entities';
import { createLogger } from '../src/logger';
import { ROOT, freePort, spawnEntry } from '../test/helpers/processes';
import { BENCH_SECRET, NO_BUDGETS } from './settings';
import { FLOOR_SCHEMA, createMinimalSchema, floorRun, openBenchDatabase, seedOtherTenants } from './run';

const N = Number(process.argv[2] ?? 10_000);
const REQUESTS = Number(process.argv[3] ?? 3);
const SECRET = BENCH_SECRET;
const log = createLogger('warn');

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}
interface Statement {
  sql: string;
  ms: number;
  rows: number | null;
  startMs: number;
}

function location(url: string) {
  if (!url) return '';
  const path = url.startsWith('file://') ? relative(ROOT, new URL(url).pathname) : url;
  return path;
}

function packageOf(url: string) {
  const path = location(url);
  if (!path) return '(native / V8)';
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (match) return match[1];
  if (path.startsWith('node:')) return 'node core';
  return path.split('/').slice(0, 2).join('/');
}

function summariseProfile(profile: Profile, wallMs: number) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  // The first sample's delta runs from the profiler's clock origin, not from the previous sample: skip it.
  for (let i = 1; i < profile.samples.length; i++) {
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  }
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  let total = 0;
  for (const [id, ms] of self) {
    const { callFrame } = byId.get(id)!;
    const key = `${callFrame.functionName || '(anonymous)'}  ${location(callFrame.url)}${callFrame.url ? `:${callFrame.lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + ms);
    const pkg = ['(idle)', '(garbage collector)', '(program)'].includes(callFrame.functionName) ? callFrame.functionName : packageOf(callFrame.url);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + ms);
    total += ms;
  }
  const top = (map: Map<string, number>, k: number) =>
    [...map].sort((a, b) => b[1] - a[1]).slice(0, k).map(([name, ms]) => `| ${(ms / REQUESTS).toFixed(1)} | ${((100 * ms) / total).toFixed(1)} % | \`${name}\` |`);
  const busy = total - (byPackage.get('(idle)') ?? 0);
  console.log(`\nCPU profile: ${(busy / REQUESTS).toFixed(0)} ms busy (not idle) per request; ${(wallMs / REQUESTS).toFixed(0)} ms wall per request (client side).\n`);
  console.log('Self time by package (ms per request):\n\n| ms | share | package |\n|---:|---:|---|');
  console.log(top(byPackage, 15).join('\n'));
  console.log('\nTop self-time functions (ms per request):\n\n| ms | share | function |\n|---:|---:|---|');
  console.log(top(byFunction, 30).join('\n'));
}

function summariseSql(statements: Statement[], wallMs: number, floors: Record<string, Map<string, number>>) {
  const shape = (sql: string) =>
    sql.replace(/\s+/g, ' ').replace(/E'(?:[^']|'')*'/g, "E'…'").replace(/'(?:[^']|'')*'/g, "'…'").replace(/(?:'…', )+'…'/g, "'…'").slice(0, 120);
  const tableOf = (sql: string) => /^insert into "?(\w+)"?/.exec(sql)?.[1] ?? '';
  const grouped = new Map<string, { count: number; ms: number; rows: number }>();
  for (const s of statements) {
    const key = shape(s.sql);
    const entry = grouped.get(key) ?? { count: 0, ms: 0, rows: 0 };
    entry.count++;
    entry.ms += s.ms;
    entry.rows += s.rows ?? 0;
    grouped.set(key, entry);
  }
  const total = statements.reduce((sum, s) => sum + s.ms, 0);
  console.log(
    `\nSQL: ${statements.length / REQUESTS} statements per request, ${(total / REQUESTS).toFixed(0)} ms per request waiting on PostgreSQL ` +
      `(${((100 * total) / wallMs).toFixed(0)} % of wall), in order of first use (ms per request):\n`,
  );
  const names = Object.keys(floors);
  console.log(`| ms | ${names.map((name) => `${name} ms`).join(' | ')} | rows | count | statement |\n|---:|${names.map(() => '---:|').join('')}---:|---:|---|`);
  for (const [sql, e] of grouped) {
    const key = tableOf(sql) || (sql.includes('add_job') ? 'add_job' : /^(begin|commit)\b/i.exec(sql)?.[1].toLowerCase() ?? '');
    const floor = names.map((name) => floors[name].get(key));
    const cells = floor.map((ms) => (ms === undefined ? '' : (ms / REQUESTS).toFixed(1)));
    console.log(`| ${(e.ms / REQUESTS).toFixed(1)} | ${cells.join(' | ')} | ${Math.round(e.rows / REQUESTS)} | ${e.count / REQUESTS} | \`${sql.replace(/\|/g, '\\|')}\` |`);
  }
  for (const name of names) {
    const total = [...floors[name].values()].reduce((sum, ms) => sum + ms, 0);
    console.log(`\n${name}: ${(total / REQUESTS).toFixed(0)} ms per request for the same rows.`);
  }
}

async function main() {
  const { url, close } = await openBenchDatabase('bulk_invite_profile');
  const scratch = join(ROOT, '.scratch');
  mkdirSync(scratch, { recursive: true });
  const out = join(scratch, `profile-${N}`);
  let server: ReturnType<typeof spawnEntry> | undefined;
  try {
    const orm = await createOrm(url);
    await migrate(orm, url, log);
    const em = orm.em.fork();
    const tenant = em.create(Tenant, { name: 'Profile' });
    const role = em.create(Role, { tenant, name: 'Member' });
    const group = em.create(Group, { tenant, name: 'Main' });
    const position = em.create(Position, { tenant, title: 'Staff' });
    await em.flush();
    await orm.close();

    const port = await freePort();
    server = spawnEntry('bench/profiled-server.ts', {
      DATABASE_URL: url,
      PORT: String(port),
      JWT_SECRET: SECRET,
      RUN_WORKER: 'false',
      LOG_LEVEL: 'warn',
      ...NO_BUDGETS,
      PROFILE_OUT: out,
    });
    await server.waitFor(/Bulk invite service ready/, 120_000);
    const token = mintToken({ secret: SECRET, subject: 'bench', tenantId: tenant.id, permissions: ['users:invite'], expiresInSeconds: 3600 });
    const invite = async (n: number) => {
      const run = randomUUID().slice(0, 8);
      const users = Array.from({ length: n }, (_, i) => ({
        email: `prof-${run}-${i}@bench.example.com`,
        firstName: 'Bench',
        lastName: `User ${i}`,
        roleIds: [role.id],
        groups: [{ groupId: group.id, isPrimaryOrg: true }],
        positionIds: [position.id],
      }));
      const body = JSON.stringify({
        query: `mutation($input: BulkInviteUsersInput!) { bulkInviteUsers(input: $input) { total successful failed } }`,
        variables: { input: { users, sendEmail: true } },
      });
      const started = performance.now();
      const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body,
      });
      const result = (await response.json()) as { data?: { bulkInviteUsers: { successful: number } } };
      if (result.data?.bulkInviteUsers.successful !== n) throw new Error(`request failed: ${JSON.stringify(result).slice(0, 500)}`);
      return performance.now() - started;
    };

    const floorClient = new Client({ connectionString: url });
    await floorClient.connect();
    const catalog = { tenantId: tenant.id, roleId: role.id, groupId: group.id, positionId: position.id };
    await createMinimalSchema(floorClient, catalog);
    await seedOtherTenants(floorClient, url);
    const floors = { 'our-schema floor': new Map<string, number>(), 'minimal floor': new Map<string, number>() };
    await invite(50);
    await invite(N);
    await floorRun(floorClient, catalog, N, 'public');
    await floorRun(floorClient, catalog, N, FLOOR_SCHEMA);
    server.child.kill('SIGUSR2');
    await server.waitFor(/profiling started/);
    let wallMs = 0;
    for (let i = 0; i < REQUESTS; i++) {
      const ms = await invite(N);
      wallMs += ms;
      // The floors run between the profiled requests, so that drift on a shared machine hits both alike.
      const ours = await floorRun(floorClient, catalog, N, 'public', floors['our-schema floor']);
      const minimal = await floorRun(floorClient, catalog, N, FLOOR_SCHEMA, floors['minimal floor']);
      process.stderr.write(`request ${i + 1}: service ${Math.round(ms)} ms, our-schema floor ${Math.round(ours)} ms, minimal floor ${Math.round(minimal)} ms\n`);
    }
    server.child.kill('SIGUSR2');
    await server.waitFor(/profile written/);

    summariseProfile(JSON.parse(readFileSync(`${out}.cpuprofile`, 'utf8')) as Profile, wallMs);
    await floorClient.end();
    summariseSql(JSON.parse(readFileSync(`${out}.sql.json`, 'utf8')) as Statement[], wallMs, floors);
    console.log(`\nRaw profile: ${relative(ROOT, out)}.cpuprofile; statements: ${relative(ROOT, out)}.sql.json`);
  } finally {
    if (server) {
      server.child.kill('SIGTERM');
      await server.exited().catch(() => undefined);
    }
    await close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
