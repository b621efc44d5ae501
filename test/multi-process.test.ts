import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakePostmark } from './helpers/fake-postmark';
import { BULK_INVITE, type SeededTenant, TEST_JWT_SECRET, type TestApp, createTestApp } from './helpers/harness';
import { type Spawned, freePort, spawnEntry } from './helpers/processes';
import { waitFor } from './helpers/wait';

describe('two server processes on one database', () => {
  const postmark = new FakePostmark();
  let t: TestApp;
  let a: SeededTenant;
  const servers: Array<{ process: Spawned; base: string }> = [];

  before(async () => {
    const apiUrl = await postmark.start();
    t = await createTestApp();
    a = await t.seedTenant('Twin');
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      const process = spawnEntry('src/main.ts', {
        DATABASE_URL: t.databaseUrl,
        PORT: String(port),
        JWT_SECRET: TEST_JWT_SECRET,
        POSTMARK_SERVER_TOKEN: 'test-token',
        POSTMARK_API_URL: apiUrl,
        EMAIL_POLL_INTERVAL_MS: '100',
        BULK_INVITE_RATE_LIMIT: '0',
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

  it('ends 20 concurrent overlapping requests with one membership, one invitation and exactly one email per person', async () => {
    const pool = Array.from({ length: 150 }, (_, i) => `twin-${i}@example.com`);
    const requests = Array.from({ length: 20 }, (_, r) => pool.filter((_, i) => (i * 7 + r) % 4 !== 0).slice(r % 5).map((email) => ({ email })));
    const answers = await Promise.all(
      requests.map(async (users, r) => {
        const response = await fetch(`${servers[r % 2].base}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${a.token}` },
          body: JSON.stringify({ query: BULK_INVITE, variables: { input: { users } } }),
        });
        return (await response.json()) as any;
      }),
    );
    let invited = 0;
    for (const answer of answers) {
      assert.equal(answer.errors, undefined, JSON.stringify(answer.errors));
      for (const r of answer.data.bulkInviteUsers.results) {
        if (r.__typename === 'UserInvited') invited++;
        else assert.equal(r.code, 'ALREADY_MEMBER');
      }
    }
    const distinct = new Set(requests.flat().map((u) => u.email));
    assert.equal(invited, distinct.size);

    await waitFor(
      async () => (await t.sql(`select count(*)::int as n from invitation where email_status = 'SENT'`))[0].n === distinct.size,
      60_000,
      'every invitation SENT',
    );
    const perPerson = await t.sql(
      `select u.email_normalized, count(distinct m.id)::int as memberships, count(distinct i.id)::int as invitations
         from users u join membership m on m.user_id = u.id join invitation i on i.membership_id = m.id group by 1`,
    );
    assert.equal(perPerson.length, distinct.size);
    assert.ok(perPerson.every((p) => p.memberships === 1 && p.invitations === 1));
    const emails = postmark.recipients().filter((r) => r.startsWith('twin-'));
    assert.equal(emails.length, distinct.size, 'every person got an email');
    assert.equal(new Set(emails).size, emails.length, 'nobody got two');
    console.log(`# two processes: ${requests.length} requests, ${distinct.size} distinct people, ${emails.length} emails, ${emails.length - new Set(emails).size} duplicates`);
  });
});
