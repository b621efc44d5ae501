import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type App, buildApp } from '../src/app';
import { createOrm, migrate } from '../src/db/orm';
import { mintToken } from '../src/auth/jwt';
import { type RunningDatabase, startEmbeddedPostgres } from '../src/dev/embedded-postgres';
import { Tenant } from '../src/entities';
import { createLogger } from '../src/logger';
import { type EmailWorker, startEmailWorker } from '../src/mail/email-worker';
import { FakePostmark } from './helpers/fake-postmark';
import { BULK_INVITE, TEST_JWT_SECRET, type TestApp, createTestApp, testConfig } from './helpers/harness';
import { waitFor } from './helpers/wait';

const log = createLogger('silent');

describe('faults: the mail provider down for a while', () => {
  const postmark = new FakePostmark();
  let t: TestApp;
  let worker: EmailWorker;

  before(async () => {
    const apiUrl = await postmark.start();
    t = await createTestApp({ POSTMARK_SERVER_TOKEN: 'test-token', POSTMARK_API_URL: apiUrl, POSTMARK_TIMEOUT_MS: '2000' });
    worker = await startEmailWorker({ config: t.config, databaseUrl: t.databaseUrl, log });
  });
  after(async () => {
    await worker.stop();
    await t.close();
    await postmark.stop();
  });

  it('delivers every queued email exactly once when the provider comes back', async () => {
    const a = await t.seedTenant('Down');
    await postmark.stop();
    const users = Array.from({ length: 40 }, (_, i) => ({ email: `down-${i}@example.com` }));
    await t.gql(BULK_INVITE, { input: { users } }, a.token);
    // Every email has had an attempt recorded against the unreachable provider.
    await waitFor(
      async () => (await t.sql(`select count(*)::int as n from invitation where email_attempts >= 1 and email_claim_id is null`))[0].n === 40,
      30_000,
      'an attempt at every email while the provider is down',
    );
    const [during] = await t.sql(
      `select count(*)::int as n, max(email_attempts)::int as attempts from invitation where email_status in ('QUEUED', 'SENDING')`,
    );
    assert.equal(during.n, 40, 'nothing lost while the provider is down');
    assert.ok(during.attempts >= 1, 'and it was tried');
    await postmark.start();
    await waitFor(
      async () => (await t.sql(`select count(*)::int as n from invitation where email_status = 'SENT'`))[0].n === 40,
      30_000,
      'all 40 SENT',
    );
    const to = postmark.recipients();
    assert.equal(to.length, 40);
    assert.equal(new Set(to).size, 40);
  });
});

describe('faults: PostgreSQL restarted during a stream of requests', () => {
  let dataDir: string;
  let db: RunningDatabase;
  let app: App;
  let token: string;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'bi-restart-'));
    db = await startEmbeddedPostgres({ dataDir, name: 'pg', database: 'restart', log });
    const orm = await createOrm(db.url);
    await migrate(orm, db.url, log);
    app = await buildApp({ config: testConfig(db.url), orm, log });
    await app.server.ready();
    const em = orm.em.fork();
    const tenant = em.create(Tenant, { name: 'Restart' });
    await em.flush();
    token = mintToken({ secret: TEST_JWT_SECRET, subject: 's', tenantId: tenant.id, permissions: ['users:invite'], expiresInSeconds: 600 });
  });
  after(async () => {
    await app.close();
    await app.orm.close();
    await db.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('fails requests cleanly during the outage, recovers without a restart, and never half-writes a request', async () => {
    const outcomes = { ok: 0, failedCleanly: 0, other: 0 };
    const sent: string[][] = [];
    let stop = false;
    let streamFailure: unknown;
    const stream = (async () => {
      for (let i = 0; !stop; i++) {
        const users = Array.from({ length: 5 }, (_, j) => ({ email: `r${i}-${j}@example.com` }));
        const response = await app.server.inject({
          method: 'POST',
          url: '/graphql',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          payload: JSON.stringify({ query: BULK_INVITE, variables: { input: { users } } }),
        });
        const body = response.json();
        if (response.statusCode === 200 && body.data?.bulkInviteUsers?.successful === 5) {
          outcomes.ok++;
          sent.push(users.map((u) => u.email));
        } else if (body.errors?.[0]?.extensions?.code === 'INTERNAL_SERVER_ERROR' && body.data === null) outcomes.failedCleanly++;
        else outcomes.other++;
        const health = await app.server.inject({ method: 'GET', url: '/health' });
        assert.ok([200, 503].includes(health.statusCode));
      }
    })();
    stream.catch((error) => (streamFailure = error));
    /** Progress of the request stream, as seen by its answers; a failed assertion inside the stream surfaces here. */
    const streamReached = (condition: () => boolean, what: string) =>
      waitFor(
        () => {
          if (streamFailure) throw streamFailure;
          return condition();
        },
        60_000,
        () => `${what}: ${JSON.stringify(outcomes)}`,
      );
    try {
      await streamReached(() => outcomes.ok >= 5, 'requests written before the outage');
      await db.stop();
      await streamReached(() => outcomes.failedCleanly >= 3, 'requests refused during the outage');
      const restarted = await startEmbeddedPostgres({ dataDir, name: 'pg', database: 'restart', log, port: Number(new URL(db.url).port) });
      db = restarted;
      const okBeforeRestart = outcomes.ok;
      await streamReached(() => outcomes.ok >= okBeforeRestart + 5, 'requests written after the restart');
    } finally {
      stop = true;
      await stream.catch(() => undefined);
    }
    await stream;

    const after = await app.server.inject({
      method: 'POST',
      url: '/graphql',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      payload: JSON.stringify({ query: BULK_INVITE, variables: { input: { users: [{ email: 'after@example.com' }] } } }),
    });
    assert.equal(after.json().data.bulkInviteUsers.successful, 1, 'recovered without a restart');
    assert.equal((await app.server.inject({ method: 'GET', url: '/health' })).statusCode, 200);
    assert.equal(outcomes.other, 0, JSON.stringify(outcomes));
    assert.ok(outcomes.failedCleanly > 0, `the outage was seen: ${JSON.stringify(outcomes)}`);

    const rows: Array<{ prefix: string; users: number; memberships: number; invitations: number }> = await app.orm.em
      .fork()
      .getConnection()
      .execute(
        `select split_part(u.email, '-', 1) as prefix, count(distinct u.id)::int as users, count(distinct m.id)::int as memberships,
                count(distinct i.id)::int as invitations
           from users u left join membership m on m.user_id = u.id left join invitation i on i.membership_id = m.id
          where u.email like 'r%' group by 1`,
      );
    for (const row of rows) assert.deepEqual([row.users, row.memberships, row.invitations], [5, 5, 5], `request ${row.prefix} is whole`);
    assert.equal(rows.length, outcomes.ok, 'every answered request is written, no refused one is');
    console.log(`# PostgreSQL restart: ${outcomes.ok} requests written whole, ${outcomes.failedCleanly} failed cleanly, ${outcomes.other} other`);
  });
});
