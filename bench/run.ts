/**
 * `npm run bench`: bulk invite against two raw-SQL floors and a naive per-user loop, measured side by side in one
 * run on one database (DATABASE_URL's server, or the embedded PostgreSQL). The minimal floor writes the same rows
 * into a schema of its own with only the keys correctness needs, so the cost of our schema counts against the
 * service; the our-schema floor writes them into our tables. Prints a markdown table and the targets, and writes
 * bench/results.json. `--smoke` runs a tiny N once, to keep the benchmark working in CI.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { hashToken } from '../src/services/tokens';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { Client } from 'pg';
import { createServices } from '../src/app';
import { createOrm, migrate } from '../src/db/orm';
import { mintToken } from '../src/auth/jwt';
import { loadConfig } from '../src/config';
import { createRequestContext } from '../src/context';
import { startEmbeddedPostgres } from '../src/dev/embedded-postgres';
import { countStatements } from '../src/db/query-stats';
import {
  Group,
  Invitation,
  Membership,
  MembershipGroup,
  MembershipPosition,
  MembershipRole,
  Position,
  Role,
  StoredEmailStatus,
  Tenant,
  User,
} from '../src/entities';
import { createLogger } from '../src/logger';
import { startEmailWorker } from '../src/mail/email-worker';
import { createTokenVerifier } from '../src/auth/jwt';
import { TenantDirectory } from '../src/auth/tenant-directory';
import { FakePostmark } from '../test/helpers/fake-postmark';
import { freePort, spawnEntry } from '../test/helpers/processes';
import { CONTRACT_SCENARIO, SMOKE_SCENARIO, isolationReport, runIsolation } from './isolation';
import { runEventsBench } from './events';
import { importBenchReport, runImportBench } from './imports';
import { BENCH_SECRET, NO_BUDGETS } from './settings';

const smoke = process.argv.includes('--smoke');
const SIZES = smoke ? [20] : [100, 1_000, 10_000];
const RUNS = smoke ? 1 : 5;
const NAIVE_MAX_RUNS_AT_10K = smoke ? 1 : Number(process.env.BENCH_NAIVE_RUNS_10K ?? 3);
const REST_SECONDS = smoke ? 1 : 10;
const DRAIN_EMAILS = smoke ? 200 : 10_000;
/** `--import-rows=N` for the async import section (the size by default); `--imports-only` runs that section alone. */
const IMPORT_ROWS = smoke ? 200 : Number(/^--import-rows=(\d+)$/.exec(process.argv.find((a) => a.startsWith('--import-rows=')) ?? '')?.[1] ?? 1_000_000);
const IMPORTS_ONLY = process.argv.includes('--imports-only');
const SECRET = BENCH_SECRET;
const log = createLogger('warn');

export interface Catalog {
  tenantId: string;
  roleId: string;
  groupId: string;
  positionId: string;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

let serial = 0;
function people(n: number, label: string) {
  const run = `${label}${serial++}-${randomUUID().slice(0, 8)}`;
  return Array.from({ length: n }, (_, i) => ({ email: `${run}-${i}@bench.example.com`, firstName: 'Bench', lastName: `User ${i}` }));
}

export async function seedTenant(url: string, name: string): Promise<Catalog> {
  const orm = await createOrm(url);
  const em = orm.em.fork();
  const tenant = em.create(Tenant, { name });
  const role = em.create(Role, { tenant, name: 'Member' });
  const group = em.create(Group, { tenant, name: 'Main' });
  const position = em.create(Position, { tenant, title: 'Staff' });
  await em.flush();
  await orm.close();
  return { tenantId: tenant.id, roleId: role.id, groupId: group.id, positionId: position.id };
}

const MUTATION = `mutation($input: BulkInviteUsersInput!) { bulkInviteUsers(input: $input) { total successful failed } }`;

/** 1. The service: bulkInviteUsers over HTTP to a running server. */
async function serviceRun(base: string, token: string, catalog: Catalog, n: number): Promise<number> {
  const users = people(n, 'svc').map((p) => ({
    ...p,
    roleIds: [catalog.roleId],
    groups: [{ groupId: catalog.groupId, isPrimaryOrg: true }],
    positionIds: [catalog.positionId],
  }));
  const body = JSON.stringify({ query: MUTATION, variables: { input: { users, sendEmail: true } } });
  const started = performance.now();
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body,
  });
  const result = (await response.json()) as { data?: { bulkInviteUsers: { successful: number } }; errors?: unknown };
  const ms = performance.now() - started;
  if (result.data?.bulkInviteUsers.successful !== n) throw new Error(`service run failed: ${JSON.stringify(result).slice(0, 500)}`);
  return ms;
}

/** bulkInviteUsers of `n` plain people (no references), over HTTP: the yardstick of the SCIM Bulk. */
async function plainInviteRun(base: string, token: string, n: number): Promise<number> {
  const body = JSON.stringify({ query: MUTATION, variables: { input: { users: people(n, 'plain'), sendEmail: false } } });
  const started = performance.now();
  const response = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
  const result = (await response.json()) as { data?: { bulkInviteUsers: { successful: number } } };
  const ms = performance.now() - started;
  if (result.data?.bulkInviteUsers.successful !== n) throw new Error(`plain invite run failed: ${JSON.stringify(result).slice(0, 500)}`);
  return ms;
}

/** POST /scim/v2/Bulk with `n` user creates, over HTTP. */
export async function scimBulkRun(base: string, scimToken: string, n: number): Promise<number> {
  const Operations = people(n, 'scim').map((p, i) => ({
    method: 'POST',
    path: '/Users',
    bulkId: `u${i}`,
    data: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: p.email, name: { givenName: p.firstName, familyName: p.lastName } },
  }));
  const body = JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'], Operations });
  const started = performance.now();
  const response = await fetch(`${base}/scim/v2/Bulk`, { method: 'POST', headers: { 'content-type': 'application/scim+json', authorization: `Bearer ${scimToken}` }, body });
  const result = (await response.json()) as { Operations?: Array<{ status: string }> };
  const ms = performance.now() - started;
  if (result.Operations?.filter((o) => o.status === '201').length !== n) throw new Error(`SCIM bulk run failed: ${JSON.stringify(result).slice(0, 500)}`);
  return ms;
}

/** A SCIM token of the bench tenant, written directly (the GraphQL mutation needs tenant:admin). */
export async function benchScimToken(client: Client, tenantId: string): Promise<string> {
  const id = randomUUID();
  const secret = randomBytes(32).toString('base64url');
  await client.query('insert into scim_token (id, tenant_id, secret_hash, created_at) values ($1, $2, $3, now())', [id, tenantId, hashToken(secret)]);
  return `scim_${id.replace(/-/g, '')}_${secret}`;
}

/**
 * The minimal floor's schema, beside ours in the same database: primary keys, the unique constraints correctness
 * needs (one user per email, one membership per tenant and user, one link per pair), foreign keys to parents,
 * and nothing else — no secondary indexes, checks, defaults or columns the rows leave empty.
 */
export const FLOOR_SCHEMA = 'bench_floor';
export async function createMinimalSchema(client: Client, catalog: Catalog) {
  const s = FLOOR_SCHEMA;
  await client.query(`
    create schema ${s};
    create table ${s}.tenant (id uuid primary key);
    create table ${s}.role (id uuid primary key, tenant_id uuid not null references ${s}.tenant);
    create table ${s}.tenant_group (id uuid primary key, tenant_id uuid not null references ${s}.tenant);
    create table ${s}.position (id uuid primary key, tenant_id uuid not null references ${s}.tenant);
    create table ${s}.users (id uuid primary key, email text not null, email_normalized text not null unique,
      created_at timestamptz not null);
    create table ${s}.membership (id uuid primary key, tenant_id uuid not null references ${s}.tenant,
      user_id uuid not null references ${s}.users, status text not null, first_name text, last_name text, created_at timestamptz not null,
      unique (tenant_id, user_id));
    create table ${s}.membership_role (membership_id uuid references ${s}.membership, role_id uuid references ${s}.role,
      tenant_id uuid not null references ${s}.tenant, primary key (membership_id, role_id));
    create table ${s}.membership_group (membership_id uuid references ${s}.membership, group_id uuid references ${s}.tenant_group,
      tenant_id uuid not null references ${s}.tenant, is_primary_org boolean not null, primary key (membership_id, group_id));
    create table ${s}.membership_position (membership_id uuid references ${s}.membership, position_id uuid references ${s}.position,
      tenant_id uuid not null references ${s}.tenant, primary key (membership_id, position_id));
    create table ${s}.invitation (id uuid primary key, tenant_id uuid not null references ${s}.tenant,
      membership_id uuid not null references ${s}.membership, email text not null, token_hash text not null,
      status text not null, expires_at timestamptz not null, email_status text not null, email_attempts int not null,
      email_next_attempt_at timestamptz, created_at timestamptz not null);
  `);
  await addFloorTenant(client, catalog);
}

async function addFloorTenant(client: Client, catalog: Catalog) {
  const s = FLOOR_SCHEMA;
  await client.query(`insert into ${s}.tenant values ($1)`, [catalog.tenantId]);
  for (const [table, id] of [['role', catalog.roleId], ['tenant_group', catalog.groupId], ['position', catalog.positionId]]) {
    await client.query(`insert into ${s}.${table} values ($1, $2)`, [id, catalog.tenantId]);
  }
}

/**
 * Other tenants' rows in both schemas, then ANALYZE, before anything is measured. A service in use never writes into
 * empty tables, and PostgreSQL caches each connection's foreign-key check plans: planned while a table is a page or
 * two, they scan it (or a pagination index) and stay that way until autovacuum analyzes it, so every measurement
 * of a growing, never-analyzed table says more about that minute than about the code.
 */
export async function seedOtherTenants(client: Client, url: string, people = 20_000) {
  const other = await seedTenant(url, 'Other tenant');
  await addFloorTenant(client, other);
  await floorRun(client, other, people, 'public');
  await floorRun(client, other, people, FLOOR_SCHEMA);
  await client.query('analyze');
}

/**
 * 2. The floors: the same rows with raw pg in one transaction, one INSERT … SELECT FROM unnest(…) per table, into
 * our schema (`public`, plus the worker's wake-up job the service enqueues) or into the minimal one.
 */
export async function floorRun(
  client: Client,
  catalog: Catalog,
  n: number,
  schema: 'public' | typeof FLOOR_SCHEMA,
  /** When given, each statement's duration, keyed by its table (bench/profile.ts compares them with the service's). */
  timings?: Map<string, number>,
): Promise<number> {
  const list = people(n, schema === 'public' ? 'floor' : 'minfloor');
  const s = schema;
  const started = performance.now();
  const userIds = list.map(() => randomUUID());
  const membershipIds = list.map(() => randomUUID());
  const now = new Date();
  const expires = new Date(now.getTime() + 7 * 86_400_000);
  const tenant = Array(n).fill(catalog.tenantId);
  const query = async (sql: string, values?: unknown[]) => {
    const at = performance.now();
    await client.query(sql, values);
    const table = /insert into \S+?\.(\w+)/.exec(sql)?.[1] ?? (sql.includes('add_job') ? 'add_job' : sql.trim().split(/\s/)[0]);
    timings?.set(table, (timings.get(table) ?? 0) + performance.now() - at);
  };
  await query('begin');
  await query(
    `insert into ${s}.users (id, email, email_normalized, created_at)
     select * from unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[])`,
    [userIds, list.map((p) => p.email), list.map((p) => p.email), Array(n).fill(now)],
  );
  await query(
    `insert into ${s}.membership (id, tenant_id, user_id, status, first_name, last_name, created_at)
     select id, t, u, 'INVITED', f, l, c from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[]) as x(id, t, u, f, l, c)`,
    [membershipIds, tenant, userIds, list.map((p) => p.firstName), list.map((p) => p.lastName), Array(n).fill(now)],
  );
  await query(
    `insert into ${s}.membership_role (tenant_id, membership_id, role_id) select * from unnest($1::uuid[], $2::uuid[], $3::uuid[])`,
    [tenant, membershipIds, Array(n).fill(catalog.roleId)],
  );
  await query(
    `insert into ${s}.membership_group (tenant_id, membership_id, group_id, is_primary_org)
     select t, m, g, true from unnest($1::uuid[], $2::uuid[], $3::uuid[]) as x(t, m, g)`,
    [tenant, membershipIds, Array(n).fill(catalog.groupId)],
  );
  await query(
    `insert into ${s}.membership_position (tenant_id, membership_id, position_id) select * from unnest($1::uuid[], $2::uuid[], $3::uuid[])`,
    [tenant, membershipIds, Array(n).fill(catalog.positionId)],
  );
  await query(
    `insert into ${s}.invitation (id, tenant_id, membership_id, email, token_hash, status, expires_at, email_status, email_attempts, email_next_attempt_at, created_at)
     select id, t, m, e, h, 'PENDING', x, 'QUEUED', 0, c, c
       from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[]) as v(id, t, m, e, h, x, c)`,
    [list.map(() => randomUUID()), tenant, membershipIds, list.map((p) => p.email), list.map(() => randomUUID() + randomUUID()), Array(n).fill(expires), Array(n).fill(now)],
  );
  if (schema === 'public') {
    await query(`select graphile_worker.add_job('bench_noop', '{}'::json, job_key := 'bench-floor', job_key_mode := 'replace')`);
  }
  await query('commit');
  return performance.now() - started;
}

/** 3. The naive baseline: per user a lookup, an insert and a commit, through MikroORM's unit of work. */
async function naiveRun(catalog: Catalog, n: number, orm: Awaited<ReturnType<typeof createOrm>>): Promise<number> {
  const list = people(n, 'naive');
  const started = performance.now();
  for (const person of list) {
    const em = orm.em.fork();
    em.setFilterParams('tenant', { tenantId: catalog.tenantId });
    await em.transactional(async (tx) => {
      const existing = await tx.findOne(User, { emailNormalized: person.email.toLowerCase() });
      const tenant = tx.getReference(Tenant, catalog.tenantId);
      const user = existing ?? tx.create(User, { email: person.email, emailNormalized: person.email.toLowerCase() });
      const membership = tx.create(Membership, { tenant, user, firstName: person.firstName, lastName: person.lastName });
      tx.create(MembershipRole, { tenant, membership, role: tx.getReference(Role, catalog.roleId) });
      tx.create(MembershipGroup, { tenant, membership, group: tx.getReference(Group, catalog.groupId), isPrimaryOrg: true });
      tx.create(MembershipPosition, { tenant, membership, position: tx.getReference(Position, catalog.positionId) });
      tx.create(Invitation, {
        tenant,
        membership,
        email: person.email,
        tokenHash: randomUUID() + randomUUID(),
        expiresAt: new Date(Date.now() + 7 * 86_400_000),
        emailStatus: StoredEmailStatus.QUEUED,
        emailNextAttemptAt: new Date(),
      });
    });
  }
  return performance.now() - started;
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

async function statementsPerRequest(url: string, catalog: Catalog, n: number): Promise<number> {
  const config = loadConfig({ NODE_ENV: 'test', DATABASE_URL: url, JWT_SECRET: SECRET, LOG_LEVEL: 'silent', ...NO_BUDGETS });
  const orm = await createOrm(url);
  try {
    const services = createServices(config, orm);
    const token = mintToken({ secret: SECRET, subject: 'bench', tenantId: catalog.tenantId, permissions: ['users:invite'], expiresInSeconds: 600 });
    const ctx = await createRequestContext({ orm, verifier: createTokenVerifier(config.jwt), tenants: new TenantDirectory(orm), log }, { authorization: `Bearer ${token}` });
    const users = people(n, 'stmt').map((p) => ({ ...p, roleIds: [catalog.roleId], groups: [{ groupId: catalog.groupId, isPrimaryOrg: true }], positionIds: [catalog.positionId] }));
    const { statements } = await countStatements(() => services.bulkInvites.bulkInviteUsers(ctx, { users, sendEmail: true }));
    return statements;
  } finally {
    await orm.close();
  }
}

export async function restThroughput(base: string, token: string) {
  let counter = 0;
  const result = await autocannon({
    url: `${base}/user/bulk`,
    method: 'POST',
    connections: 10,
    duration: REST_SECONDS,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    requests: [
      {
        setupRequest: (request) => {
          const batch = counter++;
          const users = Array.from({ length: 10 }, (_, i) => ({ firstName: 'Rest', lastName: `${batch}-${i}`, email: `rest-${batch}-${i}-${process.pid}@bench.example.com` }));
          return { ...request, body: JSON.stringify({ users, sendEmail: true }) };
        },
      },
    ],
  });
  return {
    requestsPerSecond: Math.round(result.requests.average),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/** Tenant isolation (bench/isolation.ts) on a database and a server process of its own. */
async function isolation(serverUrl: string) {
  const name = `bulk_invite_bench_isolation_${Date.now()}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  try {
    return await runIsolation(Object.assign(new URL(serverUrl), { pathname: `/${name}` }).toString(), smoke ? SMOKE_SCENARIO : CONTRACT_SCENARIO);
  } finally {
    await admin.query(`drop database if exists "${name}" with (force)`);
    await admin.end();
  }
}

/** On a database of its own: the drain is measured without the rest of the run's rows and dead tuples. */
async function emailDrain(serverUrl: string) {
  const name = `bulk_invite_bench_drain_${Date.now()}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  const url = Object.assign(new URL(serverUrl), { pathname: `/${name}` }).toString();
  try {
    const orm = await createOrm(url);
    await migrate(orm, url, log);
    await orm.close();
    return await drainInto(url, await seedTenant(url, 'Drain'));
  } finally {
    await admin.query(`drop database if exists "${name}" with (force)`);
    await admin.end();
  }
}

async function drainInto(url: string, catalog: Catalog) {
  const postmark = new FakePostmark();
  const apiUrl = await postmark.start();
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: url,
    JWT_SECRET: SECRET,
    POSTMARK_SERVER_TOKEN: 'test-token',
    POSTMARK_API_URL: apiUrl,
    EMAIL_POLL_INTERVAL_MS: '100',
    LOG_LEVEL: 'silent',
    ...NO_BUDGETS,
  });
  const orm = await createOrm(url);
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const services = createServices(config, orm);
    const token = mintToken({ secret: SECRET, subject: 'bench', tenantId: catalog.tenantId, permissions: ['users:invite'], expiresInSeconds: 600 });
    const ctx = await createRequestContext({ orm, verifier: createTokenVerifier(config.jwt), tenants: new TenantDirectory(orm), log }, { authorization: `Bearer ${token}` });
    const users = people(DRAIN_EMAILS, 'mail');
    await services.bulkInvites.bulkInviteUsers(ctx, { users, sendEmail: true });
    const started = performance.now();
    const worker = await startEmailWorker({ config, databaseUrl: url, log });
    for (;;) {
      const { rows } = await client.query(`select count(*)::int as n from invitation where email_status in ('QUEUED', 'SENDING')`);
      if (rows[0].n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const seconds = (performance.now() - started) / 1000;
    await worker.stop();
    return {
      emails: DRAIN_EMAILS,
      httpCalls: postmark.batchCalls,
      seconds: Number(seconds.toFixed(2)),
      fakeServerSeconds: Number((postmark.acceptMs / 1000).toFixed(2)),
      delivered: postmark.accepted.length,
    };
  } finally {
    await client.end();
    await orm.close();
    await postmark.stop();
  }
}

interface Row {
  n: number;
  serviceOverMinimalFloor: number;
  statementsPerRequest: number;
  serverPeakRssMb: number;
}

/**
 * The targets. Ratios are against the minimal floor. A target whose N this run did not measure (`--smoke`)
 * is reported as not measured rather than passed. The peak RSS is the server's high-water mark after the largest N's
 * requests, each of which ran alone, so it bounds the peak of one request of that size.
 */
function checkTargets(rows: Row[]) {
  type Verdict = 'PASS' | 'FAIL' | 'N/A';
  const at = (n: number) => rows.find((r) => r.n === n);
  const ratio = (n: number, limit: number) => {
    const row = at(n);
    return {
      target: `N = ${n.toLocaleString('en')}: service ≤ ${limit}× the minimal floor`,
      verdict: (row ? (row.serviceOverMinimalFloor <= limit ? 'PASS' : 'FAIL') : 'N/A') as Verdict,
      measured: row ? `${row.serviceOverMinimalFloor}×` : 'not measured in this run',
    };
  };
  const counts = [...new Set(rows.map((r) => r.statementsPerRequest))];
  const big = at(10_000);
  return [
    ratio(10_000, 2),
    ratio(1_000, 2.5),
    {
      target: 'SQL statements per request constant in N',
      verdict: (rows.length < 2 ? 'N/A' : counts.length === 1 ? 'PASS' : 'FAIL') as Verdict,
      measured: rows.map((r) => `${r.statementsPerRequest} at N = ${r.n.toLocaleString('en')}`).join(', '),
    },
    {
      target: 'server peak RSS for a 10,000-user request ≤ 300 MB',
      verdict: (big ? (big.serverPeakRssMb <= 300 ? 'PASS' : 'FAIL') : 'N/A') as Verdict,
      measured: big ? `${big.serverPeakRssMb} MB` : 'not measured in this run',
    },
  ];
}

/**
 * A database of its own for one benchmark run, on DATABASE_URL's server or the embedded PostgreSQL: `url` for the
 * run, `admin` (connected to the server's default database) for server facts, `close` drops it and stops what started.
 */
export async function openBenchDatabase(prefix: string) {
  const config = loadConfig({ ...process.env, NODE_ENV: 'test', JWT_SECRET: SECRET });
  const embedded = config.databaseUrl ? null : await startEmbeddedPostgres({ dataDir: config.dataDir, name: 'bench-pg', database: 'postgres', log });
  const serverUrl = config.databaseUrl ?? embedded!.url;
  const dbName = `${prefix}_${Date.now()}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database "${dbName}"`);
  const url = Object.assign(new URL(serverUrl), { pathname: `/${dbName}` }).toString();
  return {
    url,
    /** The server, for runs that create databases of their own. */
    serverUrl,
    admin,
    embedded: embedded !== null,
    async close() {
      await admin.query(`drop database if exists "${dbName}" with (force)`);
      await admin.end();
      await embedded?.stop();
    },
  };
}

async function importsOnly() {
  const { serverUrl, close } = await openBenchDatabase('bulk_invite_bench_imports_only');
  try {
    const result = await runImportBench(serverUrl, IMPORT_ROWS, { sendEmail: process.argv.includes('--import-send-email') });
    console.log(`\n${importBenchReport(result)}\n`);
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await close();
  }
}

async function main() {
  if (IMPORTS_ONLY) return importsOnly();
  const { url, serverUrl, admin, embedded, close } = await openBenchDatabase('bulk_invite_bench');
  let server: ReturnType<typeof spawnEntry> | undefined;
  try {
    const orm = await createOrm(url);
    await migrate(orm, url, log);
    const catalog = await seedTenant(url, 'Bench');

    const port = await freePort();
    server = spawnEntry('src/main.ts', {
      DATABASE_URL: url,
      PORT: String(port),
      JWT_SECRET: SECRET,
      RUN_WORKER: 'false',
      LOG_LEVEL: 'warn',
      ...NO_BUDGETS,
    });
    await server.waitFor(/Bulk invite service ready/, 120_000);
    const base = `http://127.0.0.1:${port}`;
    const token = mintToken({ secret: SECRET, subject: 'bench', tenantId: catalog.tenantId, permissions: ['users:invite'], expiresInSeconds: 3600 });
    const floorClient = new Client({ connectionString: url });
    await floorClient.connect();
    await createMinimalSchema(floorClient, catalog);
    await seedOtherTenants(floorClient, url);

    // Warm up each path once (JIT, connection pools, caches).
    await serviceRun(base, token, catalog, 50);
    await floorRun(floorClient, catalog, 50, 'public');
    await floorRun(floorClient, catalog, 50, FLOOR_SCHEMA);
    await naiveRun(catalog, 10, orm);

    const rows = [];
    for (const n of SIZES) {
      const service: number[] = [];
      const floor: number[] = [];
      const minimal: number[] = [];
      const naive: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        // Interleaved, so that drift on a shared machine hits all three alike.
        service.push(await serviceRun(base, token, catalog, n));
        floor.push(await floorRun(floorClient, catalog, n, 'public'));
        minimal.push(await floorRun(floorClient, catalog, n, FLOOR_SCHEMA));
        if (n < 10_000 || run < NAIVE_MAX_RUNS_AT_10K) naive.push(await naiveRun(catalog, n, orm));
        process.stderr.write('.');
      }
      const statements = await statementsPerRequest(url, catalog, n);
      const row = {
        n,
        serviceMs: Math.round(median(service)),
        minimalFloorMs: Math.round(median(minimal)),
        ourSchemaFloorMs: Math.round(median(floor)),
        naiveMs: Math.round(median(naive)),
        naiveRuns: naive.length,
        serviceUsersPerSecond: Math.round(n / (median(service) / 1000)),
        minimalFloorUsersPerSecond: Math.round(n / (median(minimal) / 1000)),
        ourSchemaFloorUsersPerSecond: Math.round(n / (median(floor) / 1000)),
        naiveUsersPerSecond: Math.round(n / (median(naive) / 1000)),
        serviceOverMinimalFloor: Number((median(service) / median(minimal)).toFixed(2)),
        serviceOverOurSchemaFloor: Number((median(service) / median(floor)).toFixed(2)),
        naiveOverService: Number((median(naive) / median(service)).toFixed(1)),
        statementsPerRequest: statements,
        serverPeakRssMb: peakRssMb(server.child.pid!),
      };
      rows.push(row);
      process.stderr.write(` N=${n} done\n`);
    }
    // SCIM /Bulk of user creates against bulkInviteUsers of as many plain people, interleaved.
    const scimToken = await benchScimToken(floorClient, catalog.tenantId);
    const scimN = smoke ? 20 : 1_000;
    await scimBulkRun(base, scimToken, 20);
    const scimRuns: number[] = [];
    const plainRuns: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      plainRuns.push(await plainInviteRun(base, token, scimN));
      scimRuns.push(await scimBulkRun(base, scimToken, scimN));
    }
    const scim = {
      n: scimN,
      scimBulkMs: Math.round(median(scimRuns)),
      bulkInviteUsersMs: Math.round(median(plainRuns)),
      ratio: Number((median(scimRuns) / median(plainRuns)).toFixed(2)),
    };
    await floorClient.end();
    const rest = await restThroughput(base, token);
    server.child.kill('SIGTERM');
    await server.exited();
    server = undefined;
    const drain = await emailDrain(serverUrl);
    const isolated = await isolation(serverUrl);
    const events = await runEventsBench(serverUrl, smoke);
    const imports = await runImportBench(serverUrl, IMPORT_ROWS);
    // The second import figure: 100,000 rows with sendEmail=true, every email sent once.
    const importEmails = await runImportBench(serverUrl, smoke ? 100 : 100_000, { sendEmail: true });
    const syncUsersPerSecond = rows[rows.length - 1].serviceUsersPerSecond;
    await orm.close();

    const targets = checkTargets(rows);
    const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, PostgreSQL ${(await admin.query('show server_version')).rows[0].server_version}${embedded ? ' (embedded)' : ''}`;
    const table = [
      `Runs per N: ${RUNS} (median; naive at N=10,000: ${Math.min(RUNS, NAIVE_MAX_RUNS_AT_10K)}). Machine: ${machine}.`,
      '',
      '| N | service ms | minimal floor ms | our-schema floor ms | naive ms | service users/s | minimal floor users/s | our-schema floor users/s | naive users/s | service/minimal floor | service/our-schema floor | naive/service | SQL statements/request | server peak RSS MB |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...rows.map(
        (r) =>
          `| ${r.n.toLocaleString('en')} | ${r.serviceMs} | ${r.minimalFloorMs} | ${r.ourSchemaFloorMs} | ${r.naiveMs} | ${r.serviceUsersPerSecond} | ${r.minimalFloorUsersPerSecond} | ${r.ourSchemaFloorUsersPerSecond} | ${r.naiveUsersPerSecond} | ${r.serviceOverMinimalFloor}× | ${r.serviceOverOurSchemaFloor}× | ${r.naiveOverService}× | ${r.statementsPerRequest} | ${r.serverPeakRssMb} |`,
      ),
      '',
      'Targets (informational; the run never fails on them):',
      '',
      ...targets.map((t) => `- ${t.verdict} ${t.target}: ${t.measured}`),
      '',
      `REST \`/user/bulk\`, 10-user batches, 10 connections, ${REST_SECONDS} s: ${rest.requestsPerSecond} requests/s (${rest.requestsPerSecond * 10} users/s), p50 ${rest.p50Ms} ms, p99 ${rest.p99Ms} ms, non-2xx ${rest.non2xx}, errors ${rest.errors}.`,
      '',
      `Email drain: ${drain.emails.toLocaleString('en')} queued invitations → ${drain.delivered.toLocaleString('en')} delivered in ${drain.httpCalls} Postmark calls, ${drain.seconds} s (the fake server itself spent ${drain.fakeServerSeconds} s accepting them).`,
      '',
      `Events (N = ${events.n.toLocaleString('en')}): the \`invitation.created\` statement of a bulk invite takes ${median(events.createdEventsStatementMs)} ms of the request's ${median(events.bulkInviteMs)} ms (${events.bulkInviteStatements} statements, sendEmail: false). Fan-out of ${events.fanOutDeliveries.toLocaleString('en')} events to one loopback endpoint: ${events.deliveriesPerSecond} deliveries/s, ${events.workerStatementsPer1000Deliveries} worker SQL statements per 1,000 deliveries.`,
      '',
      isolationReport(isolated),
      '',
      `SCIM \`POST /scim/v2/Bulk\` with ${scim.n.toLocaleString('en')} user creates: ${scim.scimBulkMs} ms, against ${scim.bulkInviteUsersMs} ms for bulkInviteUsers of as many plain people (sendEmail false): ${scim.ratio}× (target: within 2×).`,
      importBenchReport(imports),
      '',
      `Import throughput against the synchronous path of this run (N = ${rows[rows.length - 1].n.toLocaleString('en')}, ${syncUsersPerSecond} users/s): end to end ${Math.round((100 * imports.usersPerSecond) / syncUsersPerSecond)} %, processing alone ${Math.round((100 * imports.processingUsersPerSecond) / syncUsersPerSecond)} % (target: at least 70 %).`,
      '',
      importBenchReport(importEmails),
    ].join('\n');
    console.log(`\n${table}\n`);
    const results = { date: new Date().toISOString(), smoke, machine, runs: RUNS, sizes: rows, targets, rest, drain, isolation: isolated, scim, events, imports, importEmails };
    writeFileSync(join(__dirname, smoke ? 'results.smoke.json' : 'results.json'), JSON.stringify(results, null, 2) + '\n');
  } finally {
    if (server) {
      server.child.kill('SIGTERM');
      await server.exited().catch(() => undefined);
    }
    await close();
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
