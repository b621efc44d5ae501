import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakePostmark } from './helpers/fake-postmark';
import { BULK_INVITE, TEST_JWT_SECRET, type TestApp, createTestApp } from './helpers/harness';
import { type Spawned, freePort, spawnEntry } from './helpers/processes';

/** The budgets live in PostgreSQL: two API processes on one database share them. */
describe('rate limits shared by two server processes', () => {
  const postmark = new FakePostmark();
  let t: TestApp;
  const servers: Array<{ process: Spawned; base: string }> = [];
  const PEOPLE_PER_MINUTE = 50;

  before(async () => {
    const apiUrl = await postmark.start();
    t = await createTestApp();
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      const process = spawnEntry('src/main.ts', {
        DATABASE_URL: t.databaseUrl,
        PORT: String(port),
        JWT_SECRET: TEST_JWT_SECRET,
        POSTMARK_SERVER_TOKEN: 'test-token',
        POSTMARK_API_URL: apiUrl,
        BULK_INVITE_RATE_LIMIT: '10',
        // A day-long request window: the burst below cannot straddle two windows.
        BULK_INVITE_RATE_WINDOW_MS: String(24 * 3600_000),
        BULK_INVITE_USERS_PER_MINUTE: String(PEOPLE_PER_MINUTE),
        LOG_LEVEL: 'warn',
      });
      servers.push({ process, base: `http://127.0.0.1:${port}` });
    }
    await Promise.all(servers.map((s) => s.process.waitFor(/Bulk invite service ready/, 120_000)));
  });
  after(async () => {
    for (const { process } of servers) {
      process.child.kill('SIGTERM');
      await process.exited();
    }
    await t.close();
    await postmark.stop();
  });

  const gql = async (server: number, token: string, users: Array<{ email: string }>, dryRun: boolean) => {
    const response = await fetch(`${servers[server].base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: BULK_INVITE, variables: { input: { users, dryRun } } }),
    });
    return (await response.json()) as any;
  };

  it('accepts at most BULK_INVITE_RATE_LIMIT requests per window across both processes, whatever the tenantId spelling', async () => {
    const tenant = await t.seedTenant('Burst');
    const upper = t.token({ tenantId: tenant.tenantId.toUpperCase() });
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => gql(i % 2, i % 3 === 0 ? upper : tenant.token, [{ email: `burst-${i}@example.com` }], true)),
    );
    const accepted = answers.filter((a) => a.data?.bulkInviteUsers);
    const refused = answers.filter((a) => a.errors?.[0]?.extensions?.code === 'RATE_LIMITED');
    assert.equal(accepted.length, 10, 'exactly the limit, in total over both processes');
    assert.equal(refused.length, 20);
    assert.ok(refused.every((a) => a.errors[0].extensions.retryAfterSeconds > 0));

    for (const [server, url, body] of [
      [0, '/user/bulk', { users: [{ email: 'rest@example.com' }] }],
      [1, '/auth/v1/user/bulk-invite', { users: [{ email: 'rest@example.com' }] }],
    ] as const) {
      const response = await fetch(`${servers[server].base}${url}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${upper}` },
        body: JSON.stringify(body),
      });
      assert.equal(response.status, 429, url);
      assert.ok(Number(response.headers.get('retry-after')) > 0, url);
    }
  });

  it('refuses a request whose people would exceed BULK_INVITE_USERS_PER_MINUTE, writing nothing; smaller ones still fit', async () => {
    const tenant = await t.seedTenant('People');
    // The people budget is per clock minute of the database: start early in a minute, so all three requests share it.
    for (;;) {
      const [row] = await t.sql(`select extract(second from clock_timestamp())::float as s`);
      if (row.s < 40) break;
      await t.sql(`select pg_sleep(0.2)`);
    }
    const people = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ email: `${prefix}-${i}@example.com` }));
    const first = await gql(0, tenant.token, people('first', 30), false);
    assert.equal(first.data?.bulkInviteUsers.successful, 30, JSON.stringify(first.errors));

    const over = await gql(1, tenant.token, people('over', 30), false);
    assert.equal(over.errors?.[0].extensions?.code, 'RATE_LIMITED', 'the other process sees the same budget');
    assert.ok(over.errors[0].extensions.retryAfterSeconds > 0);
    const [written] = await t.sql(`select count(*)::int as n from users where email_normalized like 'over-%'`);
    assert.equal(written.n, 0, 'nothing written for the refused request');

    const fits = await gql(1, tenant.token, people('fits', PEOPLE_PER_MINUTE - 30), false);
    assert.equal(fits.data?.bulkInviteUsers.successful, PEOPLE_PER_MINUTE - 30, 'the refused request took nothing from the budget');
  });
});
