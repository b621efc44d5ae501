import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startImportWorker, type ImportWorker } from '../src/imports/import-worker';
import { createLogger } from '../src/logger';
import { countStatements } from '../src/db/query-stats';
import { graphileEmailQueue } from '../src/mail/email-queue';
import { InviteImportRunner, purgeExpiredImports } from '../src/services/imports/import-runner';
import { FakePostmark } from './helpers/fake-postmark';
import { type SeededTenant, type TestApp, TEST_JWT_SECRET, createTestApp } from './helpers/harness';
import { csv, listen, resultRows, upload, waitForImport } from './helpers/imports';
import { freePort, spawnEntry, type Spawned } from './helpers/processes';
import { waitFor } from './helpers/wait';

describe('async imports: a worker killed mid-import resumes with every row and email exactly once', () => {
  const postmark = new FakePostmark();
  let t: TestApp;
  let a: SeededTenant;
  let base: string;
  let workerEnv: Record<string, string>;
  const spawned: Spawned[] = [];

  before(async () => {
    const apiUrl = await postmark.start();
    t = await createTestApp({ POSTMARK_SERVER_TOKEN: 'test-token', POSTMARK_API_URL: apiUrl, IMPORT_CHUNK_ROWS: '25' });
    a = await t.seedTenant('Killed Worker Co');
    base = await listen(t);
    workerEnv = {
      NODE_ENV: 'test',
      DATABASE_URL: t.databaseUrl,
      JWT_SECRET: TEST_JWT_SECRET,
      POSTMARK_SERVER_TOKEN: 'test-token',
      POSTMARK_API_URL: apiUrl,
      EMAIL_POLL_INTERVAL_MS: '100',
      // Emails the killed worker had claimed are taken over after this lease, and checked with the provider first.
      EMAIL_CLAIM_LEASE_MS: '2000',
      IMPORT_CHUNK_ROWS: '25',
      BULK_INVITE_USERS_PER_MINUTE: '0',
      LOG_LEVEL: 'warn',
    };
  });
  after(async () => {
    for (const worker of spawned) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    await t.close();
    await postmark.stop();
  });

  it('SIGKILLed during an upload, the server leaves nothing of it behind', async () => {
    const port = await freePort();
    const server = spawnEntry('src/main.ts', { ...workerEnv, PORT: String(port), RUN_WORKER: 'false' });
    spawned.push(server);
    await server.waitFor(/Bulk invite service ready/, 120_000);
    const req = request({ host: '127.0.0.1', port, path: '/imports', method: 'POST', headers: { authorization: `Bearer ${a.token}`, 'content-type': 'text/csv' } });
    req.on('error', () => undefined);
    req.write('email\n');
    for (let i = 0; i < 3000; i++) req.write(`upload-killed-${i}@example.com\n`);
    await waitFor(async () => (await t.sql(`select count(*)::int as n from pg_stat_activity where datname = current_database() and state = 'idle in transaction'`))[0].n > 0, 30_000, 'the upload transaction to start');
    server.child.kill('SIGKILL');
    await server.exited();
    req.destroy();
    await waitFor(
      async () => (await t.sql(`select count(*)::int as n from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'`))[0].n === 0,
      30_000,
      "the killed server's transaction to be rolled back",
    );
    assert.deepEqual(await t.sql(`select count(*)::int as n from invite_import_row where email like 'upload-killed-%'`), [{ n: 0 }]);
    assert.deepEqual(await t.sql(`select count(*)::int as n from invite_import where tenant_id = $1`, [a.tenantId]), [{ n: 0 }]);
  });

  it('SIGKILLed during processing, the next worker finishes the import: no row twice, none lost, no email twice', async () => {
    const total = 1500;
    const res = await upload(base, a.token, csv('email,firstName,role', Array.from({ length: total }, (_, i) => `killed-${i}@example.com,K${i},Member`)));
    assert.equal(res.status, 202);
    const id = res.body.id as string;

    const first = spawnEntry('src/worker.ts', workerEnv);
    spawned.push(first);
    const progress = async () => (await t.sql<{ processed_rows: number; status: string }>('select processed_rows, status from invite_import where id = $1', [id]))[0];
    await waitFor(async () => (await progress()).processed_rows >= 200, 90_000, 'the first worker to process some chunks');
    first.child.kill('SIGKILL');
    await first.exited();
    const atKill = await progress();
    assert.ok(atKill.processed_rows < total, `killed mid-import (${atKill.processed_rows} of ${total} processed)`);
    assert.equal(atKill.status, 'RUNNING');

    const second = spawnEntry('src/worker.ts', workerEnv);
    spawned.push(second);
    const done = await waitForImport(base, a.token, id, ['COMPLETED', 'FAILED', 'CANCELLED'], 120_000);
    assert.deepEqual([done.status, done.processedRows, done.successful, done.failed], ['COMPLETED', total, total, 0]);
    await waitFor(async () => (await t.sql(`select count(*)::int as n from invitation where email_status = 'SENT' and email like 'killed-%'`))[0].n === total, 120_000, 'every email sent');

    const out = await resultRows(base, a.token, id);
    assert.equal(out.length, total);
    assert.ok(out.every((r, i) => r.row === i + 1 && r.outcome === 'invited'), 'every row invited exactly once (a second pass would say ALREADY_MEMBER)');
    const [counts] = await t.sql(`select count(*)::int as invitations, count(distinct membership_id)::int as members from invitation where batch_id = $1`, [id]);
    assert.deepEqual(counts, { invitations: total, members: total });
    const recipients = postmark.recipients().filter((r) => r.startsWith('killed-'));
    assert.equal(recipients.length, total, 'one email per person');
    assert.equal(new Set(recipients).size, total, 'nobody emailed twice');
    second.child.kill('SIGTERM');
    await second.exited();
  });
});

describe('async imports: cancel, concurrency, disconnects, seats, budgets, retention', () => {
  let t: TestApp;
  let a: SeededTenant;
  let base: string;
  let worker: ImportWorker | null = null;
  const startWorker = async () => {
    worker = await startImportWorker({ config: t.config, orm: t.orm, databaseUrl: t.databaseUrl, log: createLogger('silent') });
  };

  before(async () => {
    t = await createTestApp({ IMPORT_CHUNK_ROWS: '20', BULK_INVITE_USERS_PER_MINUTE: '100000' });
    a = await t.seedTenant('Cancel Co');
    base = await listen(t);
  });
  after(async () => {
    await worker?.stop();
    await t.close();
  });

  it('cancel stops after the chunk in flight; processed rows keep their outcomes, the rest are not processed', async () => {
    const res = await upload(base, a.token, csv('email', Array.from({ length: 600 }, (_, i) => `cancel-${i}@example.com`)), { query: 'sendEmail=false' });
    const id = res.body.id as string;
    await startWorker();
    await waitFor(async () => (await t.sql('select processed_rows from invite_import where id = $1', [id]))[0].processed_rows >= 40, 30_000, 'some chunks processed');
    const cancelled = await t.gql(`mutation($id: ID!) { cancelInviteImport(id: $id) { id status } }`, { id }, a.token);
    assert.equal(cancelled.errors, undefined);
    const done = await waitForImport(base, a.token, id);
    assert.equal(done.status, 'CANCELLED');
    assert.ok(done.processedRows < 600 && done.processedRows % 20 === 0, `stopped at a chunk boundary (${done.processedRows})`);
    const out = await resultRows(base, a.token, id);
    assert.equal(out.filter((r) => r.outcome === 'invited').length, done.processedRows);
    assert.equal(out.filter((r) => r.outcome === 'not_processed').length, 600 - done.processedRows);
    const [members] = await t.sql(`select count(*)::int as n from invitation where batch_id = $1`, [id]);
    assert.equal(members.n, done.processedRows);
    await worker!.stop();
    worker = null;
  });

  it("runs one import of a tenant at a time (IMPORT_CONCURRENCY=1); each gets its own rows' outcomes", async () => {
    const [one, two] = await Promise.all(
      ['first', 'second'].map((name) => upload(base, a.token, csv('email', Array.from({ length: 200 }, (_, i) => `${name}-${i}@example.com`)), { query: 'sendEmail=false' })),
    );
    await startWorker();
    const [d1, d2] = await Promise.all([waitForImport(base, a.token, one.body.id), waitForImport(base, a.token, two.body.id)]);
    assert.deepEqual([d1.status, d1.successful, d2.status, d2.successful], ['COMPLETED', 200, 'COMPLETED', 200]);
    const [earlier, later] = [d1, d2].sort((x, y) => Date.parse(x.startedAt) - Date.parse(y.startedAt));
    assert.ok(Date.parse(later.startedAt) >= Date.parse(earlier.finishedAt), 'the second started after the first finished');
  });

  it('applies the seat limit across chunk boundaries: the first free seats go to the first rows', async () => {
    const s = await t.seedTenant('Seats Co');
    await t.sql('update tenant set max_members = 30 where id = $1', [s.tenantId]);
    const res = await upload(base, s.token, csv('email', Array.from({ length: 50 }, (_, i) => `seat-${i}@example.com`)), { query: 'sendEmail=false' });
    const done = await waitForImport(base, s.token, res.body.id);
    assert.deepEqual([done.successful, done.failed], [30, 20]);
    const out = await resultRows(base, s.token, res.body.id);
    assert.ok(out.slice(0, 30).every((r) => r.outcome === 'invited'));
    assert.ok(out.slice(30).every((r) => r.code === 'SEAT_LIMIT_REACHED'));
  });

  it('leaves nothing behind when the client disconnects mid-upload', async () => {
    const url = new URL(base);
    const req = request({ host: url.hostname, port: url.port, path: '/imports', method: 'POST', headers: { authorization: `Bearer ${a.token}`, 'content-type': 'text/csv' } });
    req.on('error', () => undefined);
    req.write('email\n');
    for (let i = 0; i < 3000; i++) req.write(`gone-${i}@example.com\n`);
    // The server stores the rows as they arrive, in the upload's transaction, which then waits for more.
    await waitFor(async () => (await t.sql(`select count(*)::int as n from pg_stat_activity where datname = current_database() and state = 'idle in transaction'`))[0].n > 0, 10_000, 'the upload transaction to start');
    req.destroy();
    await waitFor(
      async () => (await t.sql(`select count(*)::int as n from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'`))[0].n === 0,
      10_000,
      'the upload transaction to end',
    );
    assert.deepEqual(await t.sql(`select count(*)::int as n from invite_import_row where email like 'gone-%'`), [{ n: 0 }]);
    const healthy = await upload(base, a.token, csv('email', ['after-disconnect@example.com']), { query: 'sendEmail=false' });
    assert.equal(healthy.status, 202);
  });

  it('counts imported people against BULK_INVITE_USERS_PER_MINUTE', async () => {
    const r = await t.seedTenant('Budget Co');
    const res = await upload(base, r.token, csv('email', Array.from({ length: 60 }, (_, i) => `budget-${i}@example.com`)), { query: 'sendEmail=false' });
    await waitForImport(base, r.token, res.body.id);
    const [usage] = await t.sql(`select sum(used)::int as used from rate_limit_usage where tenant_id = $1 and bucket = 'bulk_users'`, [r.tenantId]);
    assert.equal(usage.used, 60);
  });

  it('resumes after every database connection is cut mid-import (as in a PostgreSQL restart), each row once', async () => {
    const total = 800;
    const res = await upload(base, a.token, csv('email', Array.from({ length: total }, (_, i) => `cut-${i}@example.com`)), { query: 'sendEmail=false' });
    const id = res.body.id as string;
    await waitFor(async () => (await t.sql('select processed_rows from invite_import where id = $1', [id]))[0].processed_rows >= 60, 30_000, 'some chunks processed');
    const [{ processed_rows: atCut }] = await t.sql('select processed_rows from invite_import where id = $1', [id]);
    assert.ok(atCut < total, `cut mid-import (${atCut} of ${total})`);
    await t.sql(`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`).catch(() => undefined);
    const done = await waitFor(
      async () => {
        const [row] = await t.sql('select status, processed_rows, successful from invite_import where id = $1', [id]).catch(() => [null]);
        return row && row.status !== 'RUNNING' ? row : null;
      },
      60_000,
      'the import to finish after the connections were cut',
    );
    assert.deepEqual(done, { status: 'COMPLETED', processed_rows: total, successful: total });
    assert.deepEqual(await t.sql(`select count(*)::int as n from invitation where batch_id = $1`, [id]), [{ n: total }]);
  });

  it('deletes imports and their row results after IMPORT_RETENTION_DAYS', async () => {
    const res = await upload(base, a.token, csv('email', ['retained@example.com']), { query: 'sendEmail=false' });
    await waitForImport(base, a.token, res.body.id);
    await t.sql(`update invite_import set created_at = now() - interval '31 days' where id = $1`, [res.body.id]);
    const purged = await purgeExpiredImports(t.orm.em.fork(), t.config.imports.retentionDays);
    assert.ok(purged >= 1);
    assert.deepEqual(await t.sql('select count(*)::int as n from invite_import_row where import_id = $1', [res.body.id]), [{ n: 0 }]);
    assert.equal((await fetch(`${base}/imports/${res.body.id}`, { headers: { authorization: `Bearer ${a.token}` } })).status, 404);
    // The invitations themselves stay: only the import's bookkeeping is deleted.
    assert.deepEqual(await t.sql(`select count(*)::int as n from invitation where email = 'retained@example.com'`), [{ n: 1 }]);
  });
});

describe('async imports: a chunk is set-based', () => {
  let t: TestApp;
  let a: SeededTenant;
  let base: string;

  before(async () => {
    t = await createTestApp({ IMPORT_CHUNK_ROWS: '1000' });
    a = await t.seedTenant('Statements Co');
    base = await listen(t);
  });
  after(async () => t.close());

  it('sends the same number of SQL statements for a chunk of 10 rows and of 1,000', async (context) => {
    const runner = new InviteImportRunner(t.config, graphileEmailQueue, { waitFor: async (_tenant, people) => people }, createLogger('silent'));
    const statements: number[] = [];
    for (const n of [10, 1000]) {
      const row = (i: number) => `stmt${n}-${i}@example.com,S,${i},Member,${a.groups[0]},${a.groups[0]},${a.positions[0]}`;
      const res = await upload(base, a.token, csv('email,firstName,lastName,role,groupIds,primaryGroupId,positionIds', Array.from({ length: n }, (_, i) => row(i))), { query: 'sendEmail=true' });
      const { result, statements: count } = await countStatements(() => runner.runChunk(t.orm.em.fork(), a.tenantId, res.body.id));
      assert.deepEqual(result, { kind: 'ended', status: 'COMPLETED' });
      statements.push(count);
    }
    assert.equal(statements[0], statements[1], `statements per chunk: ${statements.join(' vs ')}`);
    assert.ok(statements[0] <= 30, `${statements[0]} statements`);
    context.diagnostic(`SQL statements per chunk (sendEmail=true, role, primary group, position): ${statements[0]}`);
  });
});
