import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startImportWorker, type ImportWorker } from '../src/imports/import-worker';
import { createLogger } from '../src/logger';
import { BULK_INVITE, type SeededTenant, type TestApp, createTestApp } from './helpers/harness';
import { listen, resultRows, upload, waitForImport } from './helpers/imports';
import { waitFor } from './helpers/wait';

describe('import review: an import decides each row like one bulkInviteUsers request of the whole file', () => {
  let t: TestApp;
  let a: SeededTenant;
  let b: SeededTenant;
  let base: string;
  let worker: ImportWorker;

  before(async () => {
    t = await createTestApp({ IMPORT_CHUNK_ROWS: '3' });
    a = await t.seedTenant('Review A');
    b = await t.seedTenant('Review B');
    base = await listen(t);
    worker = await startImportWorker({ config: t.config, orm: t.orm, databaseUrl: t.databaseUrl, log: createLogger('silent') });
  });
  after(async () => {
    await worker.stop();
    await t.close();
  });

  it('matches a dry run of the same people row by row (duplicates, case, domains, seats, other tenant ids)', async () => {
    // A person of tenant B, and one of tenant A already.
    const other = await t.gql(BULK_INVITE, { input: { users: [{ email: 'other@example.com' }], sendEmail: false } }, b.token);
    const otherId = other.data.bulkInviteUsers.results[0].user.id;
    await t.gql(BULK_INVITE, { input: { users: [{ email: 'member@example.com' }], sendEmail: false } }, a.token);
    await t.sql(`update tenant set max_members = 8, allowed_email_domains = '{example.com,ok.org}' where id = $1`, [a.tenantId]);
    const people: Array<Record<string, unknown>> = [
      { email: 'p0@example.com' },
      { email: 'bad' },
      { email: 'P0@Example.com' },
      { email: 'x@evil.com' },
      { email: 'member@example.com' },
      { existingUserId: otherId },
      { email: 'other@example.com' },
      { email: 'p7@ok.org', role: 'Nope' },
      { email: 'P7@OK.org' },
      { email: 'p9@example.com', roleIds: [b.roles.member] },
      { email: 'p10@example.com' },
      { existingUserId: randomUUID() },
      { email: 'p12@example.com' },
      { email: 'p13@example.com' },
      { email: 'p14@example.com' },
      { email: 'p15@example.com' },
      { email: 'p16@example.com' },
      { email: 'p17@example.com' },
      { email: 'p0@EXAMPLE.COM' },
      { email: 'p10@example.com' },
    ];
    const dry = await t.gql(BULK_INVITE, { input: { users: people, sendEmail: false, dryRun: true } }, a.token);
    const expected = dry.data.bulkInviteUsers.results.map((r: any) =>
      r.__typename === 'UserInvited' ? 'invited' : `${r.code}${r.firstIndex !== undefined && r.firstIndex !== null ? `#${r.firstIndex}` : ''}`,
    );
    const res = await upload(base, a.token, people.map((p) => JSON.stringify(p)).join('\n') + '\n', { contentType: 'application/x-ndjson', query: 'sendEmail=false' });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    await waitForImport(base, a.token, res.body.id);
    const rows = await resultRows(base, a.token, res.body.id);
    const got = rows.map((r) => (r.outcome === 'invited' ? 'invited' : `${r.code}${r.code === 'DUPLICATE_IN_BATCH' ? `#${/users\[(\d+)\]/.exec(r.message)?.[1]}` : ''}`));
    assert.ok(expected.includes('SEAT_LIMIT_REACHED') && expected.includes('DUPLICATE_IN_BATCH#0') && expected.includes('UNKNOWN_USER'), expected.join(' '));
    assert.deepEqual(got, expected);
  });
});

describe('import review: an upload in progress does not hold up interactive invites', () => {
  let t: TestApp;
  let a: SeededTenant;
  let base: string;

  before(async () => {
    t = await createTestApp();
    a = await t.seedTenant('Review Seats');
    base = await listen(t);
  });
  after(async () => t.close());

  it('serves a 1-user bulkInviteUsers of a tenant with a seat limit while that tenant uploads a file slowly', async () => {
    await t.sql('update tenant set max_members = 1000 where id = $1', [a.tenantId]);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    async function* slowBody() {
      yield Buffer.from('email\nslow-1@example.com\n');
      await released;
      yield Buffer.from('slow-2@example.com\n');
    }
    const uploading = upload(base, a.token, slowBody());
    await waitFor(
      async () => (await t.sql(`select 1 from pg_stat_activity where state = 'idle in transaction' and datname = current_database() and query like 'insert into invite_import%'`)).length > 0 || null,
      10_000,
      'the upload to be stored in its transaction',
    );
    const started = Date.now();
    const invited = await Promise.race([
      t.gql(BULK_INVITE, { input: { users: [{ email: 'interactive@example.com' }], sendEmail: false } }, a.token),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 5_000)),
    ]);
    const ms = Date.now() - started;
    release();
    const res = await uploading;
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.ok(invited, `the 1-user invite was still waiting after ${ms} ms, behind the upload's transaction`);
    assert.equal(invited.data.bulkInviteUsers.successful, 1);
  });
});

describe('import review: slow uploads do not take every database connection', () => {
  let t: TestApp;
  let a: SeededTenant;
  let b: SeededTenant;
  let base: string;

  before(async () => {
    t = await createTestApp();
    a = await t.seedTenant('Review Uploader');
    b = await t.seedTenant('Review Bystander');
    base = await listen(t);
  });
  after(async () => t.close());

  it("serves another tenant's invite while one tenant holds a dozen uploads open", async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const uploads = Array.from({ length: 12 }, (_, i) =>
      upload(
        base,
        a.token,
        (async function* () {
          yield Buffer.from(`email\nheld-${i}@example.com\n`);
          await released;
        })(),
      ),
    );
    await waitFor(
      async () =>
        (await t.sql(`select count(*)::int as n from pg_stat_activity where datname = current_database() and state = 'idle in transaction' and query like 'insert into invite_import%'`))[0].n >=
          t.config.imports.maxConcurrentUploads || null,
      10_000,
      'the uploads to be open',
    );
    const started = Date.now();
    const invited = await Promise.race([
      t.gql(BULK_INVITE, { input: { users: [{ email: 'bystander@example.com' }], sendEmail: false } }, b.token),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 5_000)),
    ]);
    const ms = Date.now() - started;
    release();
    const statuses = (await Promise.all(uploads)).map((r) => r.status);
    assert.ok(invited, `another tenant's 1-user invite was still waiting after ${ms} ms`);
    // The uploads over IMPORT_MAX_CONCURRENT_UPLOADS were refused as busy, before their bodies were read.
    assert.equal(statuses.filter((s) => s === 202).length, t.config.imports.maxConcurrentUploads, statuses.join(' '));
    assert.equal(statuses.filter((s) => s === 503).length, 12 - t.config.imports.maxConcurrentUploads, statuses.join(' '));
    assert.equal(invited.data.bulkInviteUsers.successful, 1);
  });
});
