import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createOrm, migrate } from '../src/db/orm';
import { Tenant } from '../src/entities';
import { createLogger } from '../src/logger';
import { printSchemaFile } from '../src/graphql/print-schema';
import { ensureDemoTenant } from '../src/dev/demo-seed';
import { type TestApp, createScratchDatabase, createTestApp, serverUrl } from './helpers/harness';
import { Client } from 'pg';
import { ROOT, freePort, spawnEntry } from './helpers/processes';
import { waitFor } from './helpers/wait';

const log = createLogger('silent');

describe('startup', () => {
  it('applies every migration to an empty database, then none on a second start; entities and migrations agree', async () => {
    const db = await createScratchDatabase();
    const orm = await createOrm(db.url);
    try {
      const files = readdirSync(join(ROOT, 'src', 'migrations')).filter((f) => f.endsWith('.ts'));
      const first = await migrate(orm, db.url, log);
      assert.deepEqual(first, files.map((f) => f.replace(/\.ts$/, '')).sort());
      assert.deepEqual(await migrate(orm, db.url, log), []);
      const diff = await orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false });
      assert.equal(diff.trim(), '', `entities and migrations disagree; run npm run migration:create\n${diff}`);
    } finally {
      await orm.close();
      await db.drop();
    }
  });

  it('creates the demo tenant once, with roles Admin and Member, two groups and two positions', async () => {
    const db = await createScratchDatabase();
    const orm = await createOrm(db.url);
    try {
      await migrate(orm, db.url, log);
      const first = await ensureDemoTenant(orm);
      const second = await ensureDemoTenant(orm);
      assert.equal(first.created, true);
      assert.equal(second.created, false);
      assert.equal(second.tenant.id, first.tenant.id);
      assert.equal(await orm.em.fork().count(Tenant), 1);
      const em = orm.em.fork();
      const rows = await em.getConnection().execute(
        `select (select string_agg(name, ',' order by name) from role) as roles,
                (select count(*)::int from tenant_group) as groups, (select count(*)::int from position) as positions`,
      );
      assert.deepEqual(rows[0], { roles: 'Admin,Member', groups: 2, positions: 2 });
    } finally {
      await orm.close();
      await db.drop();
    }
  });

  it('keeps schema.graphql in sync with the code (npm run schema:emit)', async () => {
    const committed = readFileSync(join(ROOT, 'schema.graphql'), 'utf8');
    assert.equal(await printSchemaFile(), committed, 'schema.graphql is stale: run npm run schema:emit and commit it');
  });
});

describe('health', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  it('answers 200 {"status":"ok"} when the database answers, 503 when it does not', async () => {
    const ok = await t.app.server.inject({ method: 'GET', url: '/health' });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json(), { status: 'ok' });
    const name = new URL(t.databaseUrl).pathname.slice(1);
    await t.sql('select 1');
    const { Client } = await import('pg');
    const admin = new Client({ connectionString: serverUrl() });
    await admin.connect();
    await admin.query(`alter database "${name}" with allow_connections false`);
    await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [name]);
    try {
      const down = await t.app.server.inject({ method: 'GET', url: '/health' });
      assert.equal(down.statusCode, 503);
    } finally {
      await admin.query(`alter database "${name}" with allow_connections true`);
      await admin.end();
    }
    const back = await t.app.server.inject({ method: 'GET', url: '/health' });
    assert.equal(back.statusCode, 200, 'recovers without a restart');
  });
});

describe('process lifecycle with the embedded PostgreSQL', () => {
  let dataDir: string;
  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'bi-embedded-'));
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  const postmasterPid = () => {
    const file = join(dataDir, 'pg', 'postmaster.pid');
    return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : null;
  };
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  const bulk = (port: string, token: string, n: number, prefix: string) =>
    fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({
        query: 'mutation($i: BulkInviteUsersInput!) { bulkInviteUsers(input: $i) { successful } }',
        variables: { i: { users: Array.from({ length: n }, (_, i) => ({ email: `${prefix}-${i}@example.com` })) } },
      }),
    }).then((r) => r.json() as Promise<{ data?: { bulkInviteUsers: { successful: number } } }>);
  const portOf = (output: string) => /GraphQL \+ Sandbox\s+http:\/\/[^:]+:(\d+)/.exec(output)![1];
  const tokenOf = (output: string) => /Demo admin token[^\n]*\n(\S+)/.exec(output)![1];

  it('starts with nothing configured and, on Ctrl-C, finishes the in-flight request before stopping everything', async () => {
    // info: the shutdown line tells the test that the signal has been handled.
    const env = { DATA_DIR: dataDir, PORT: String(await freePort()), RUN_WORKER: 'false', LOG_LEVEL: 'info' };
    const first = spawnEntry('src/main.ts', env, { ownProcessGroup: true });
    const banner = await first.waitFor(/Bulk invite service ready[^\n]*/, 120_000);
    assert.match(banner, /demo tenant created/);
    const pid = postmasterPid();
    assert.ok(pid && alive(pid), 'embedded postmaster runs');

    // Holds the request in flight: its insert into users waits for this lock, visibly in pg_stat_activity.
    const port = Number(readFileSync(join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[3]);
    const password = readFileSync(join(dataDir, 'embedded-pg-password'), 'utf8').trim();
    const blocker = new Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'bulk_invite' });
    blocker.on('error', () => undefined); // the service stops this database when it exits
    await blocker.connect();
    let inFlight: ReturnType<typeof bulk> | undefined;
    try {
      await blocker.query('begin');
      await blocker.query('lock table users in share mode');
      inFlight = bulk(portOf(first.output()), tokenOf(first.output()), 2000, 'inflight');
      inFlight.catch(() => undefined); // awaited below; a refusal must not go unhandled while waiting
      await waitFor(
        async () =>
          (
            await blocker.query(
              `select 1 from pg_stat_activity where datname = 'bulk_invite' and pid <> pg_backend_pid() and wait_event_type = 'Lock'`,
            )
          ).rowCount,
        60_000,
        () => `the request waiting on the lock; output so far:\n${first.output()}`,
      );

      // Ctrl-C in a terminal signals the whole process group while a request is being served.
      process.kill(-first.child.pid!, 'SIGINT');
      await first.waitFor(/SIGINT: shutting down, finishing in-flight work/, 30_000);
      await blocker.query('commit');
    } finally {
      await blocker.end().catch(() => undefined);
    }
    assert.equal((await inFlight!).data?.bulkInviteUsers.successful, 2000, 'the in-flight request finished');
    assert.equal(await first.exited(), 0);
    assert.equal(alive(pid!), false, 'no orphan postmaster after Ctrl-C');
  });

  it('refuses a second start while a server runs on the checkout, leaving that server alone', async () => {
    const env = { DATA_DIR: dataDir, PORT: String(await freePort()), RUN_WORKER: 'false', LOG_LEVEL: 'warn' };
    const first = spawnEntry('src/main.ts', env);
    const banner = await first.waitFor(/Bulk invite service ready[^\n]*/, 120_000);
    assert.doesNotMatch(banner, /demo tenant created/, 'the demo tenant is created only on the first start');
    const pid = postmasterPid();
    try {
      // Another port: the embedded database is what is in use.
      const second = spawnEntry('src/main.ts', { ...env, PORT: String(await freePort()) });
      assert.equal(await second.exited(60_000), 1, second.output());
      const lines = second.output().trim().split('\n');
      assert.equal(lines.length, 1, second.output());
      assert.match(lines[0], new RegExp(`^error: the embedded PostgreSQL in .+ is in use by a running server \\(pid ${first.child.pid}\\); .*DATABASE_URL`));
      // The same port: refused as well, in one line.
      const third = spawnEntry('src/main.ts', env);
      assert.equal(await third.exited(60_000), 1, third.output());
      assert.match(third.output().trim(), new RegExp(`^error: PORT ${env.PORT} is already in use on 127\\.0\\.0\\.1; .*set PORT[^\n]*$`));

      assert.equal(postmasterPid(), pid, 'the same postmaster still runs');
      assert.ok(alive(pid!));
      const health = await fetch(`http://127.0.0.1:${env.PORT}/health`);
      assert.equal(health.status, 200, 'the first server still answers');
      assert.equal((await fetch(`http://127.0.0.1:${env.PORT}/health/ready`)).status, 200);
    } finally {
      first.child.kill('SIGTERM');
      assert.equal(await first.exited(), 0);
    }
    assert.equal(alive(pid!), false);
  });

  it('recovers from a postmaster left running by a crash, and stops cleanly on SIGTERM', async () => {
    const env = { DATA_DIR: dataDir, PORT: String(await freePort()), RUN_WORKER: 'false', LOG_LEVEL: 'warn' };
    const crashed = spawnEntry('src/main.ts', env);
    await crashed.waitFor(/Bulk invite service ready[^\n]*/, 120_000);
    const stalePid = postmasterPid();
    crashed.child.kill('SIGKILL');
    await crashed.exited();
    assert.ok(stalePid && alive(stalePid), 'the postmaster outlived its parent');
    assert.ok(existsSync(join(dataDir, 'pg.owner')), 'the dead owner left its lock');

    const next = spawnEntry('src/main.ts', { ...env, PORT: String(await freePort()) });
    await next.waitFor(/Bulk invite service ready/, 120_000);
    const health = await fetch(`http://127.0.0.1:${portOf(next.output())}/health`);
    assert.equal(health.status, 200);
    const runningPid = postmasterPid();
    assert.ok(runningPid && runningPid !== stalePid && !alive(stalePid!), 'the stale postmaster was replaced');
    next.child.kill('SIGTERM');
    assert.equal(await next.exited(), 0);
    assert.equal(alive(runningPid!), false, 'no orphan postmaster after SIGTERM');
  });
});
