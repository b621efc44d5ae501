import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../src/logger';
import { type EmailWorker, startEmailWorker } from '../src/mail/email-worker';
import { FakePostmark } from './helpers/fake-postmark';
import { BULK_INVITE, type SeededTenant, type TestApp, createTestApp } from './helpers/harness';

const RESEND = 'mutation($id: ID!) { resendInvitation(id: $id) { id status emailStatus } }';

async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs = 30_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function postmarkEnv(apiUrl: string) {
  return { POSTMARK_SERVER_TOKEN: 'test-token', POSTMARK_API_URL: apiUrl, POSTMARK_FROM: 'invites@acme.test' };
}

const codeOf = (res: { errors?: Array<{ extensions?: { code?: string } }> }) => res.errors?.[0]?.extensions?.code ?? 'OK';

describe('resendInvitation: cooldown and daily cap per invitation', () => {
  const postmark = new FakePostmark();
  let t: TestApp;
  let a: SeededTenant;
  let worker: EmailWorker;

  before(async () => {
    const apiUrl = await postmark.start();
    // Smaller than the default of 60 s: the test moves the clock back by just over this.
    t = await createTestApp({ ...postmarkEnv(apiUrl), RESEND_COOLDOWN_SECONDS: '30' });
    a = await t.seedTenant();
    worker = await startEmailWorker({ config: t.config, databaseUrl: t.databaseUrl, log: createLogger('silent') });
  });
  after(async () => {
    await worker.stop();
    await t.close();
    await postmark.stop();
  });

  const sentTo = (email: string) => postmark.recipients().filter((r) => r === email).length;
  const rowOf = async (id: string) =>
    (await t.sql('select token_hash, email_status, resends_in_window, last_resent_at from invitation where id = $1', [id]))[0];
  /** As if the cooldown had passed: the last resend moved back by just over the configured 30 s. */
  const afterCooldown = (id: string) => t.sql(`update invitation set last_resent_at = last_resent_at - interval '31 seconds' where id = $1`, [id]);

  it('sends one email for 20 concurrent resends, refuses the rest with RATE_LIMITED, and allows one more after the cooldown', async () => {
    const email = 'flood@example.com';
    const invited = await t.gql(BULK_INVITE, { input: { users: [{ email }], sendEmail: false } }, a.token);
    const id = invited.data.bulkInviteUsers.results[0].invitation.id;
    const [{ used: usedBefore = 0 } = {}] = await t.sql('select coalesce(sum(used), 0)::int as used from email_quota where tenant_id = $1', [a.tenantId]);

    const results = await Promise.all(Array.from({ length: 20 }, () => t.gql(RESEND, { id }, a.token)));
    const codes = results.map(codeOf);
    assert.equal(codes.filter((c) => c === 'OK').length, 1, JSON.stringify(codes));
    assert.equal(codes.filter((c) => c === 'RATE_LIMITED').length, 19, JSON.stringify(codes));
    for (const res of results.filter((r) => r.errors)) {
      const retryAfter = (res.errors![0].extensions as { retryAfterSeconds?: number }).retryAfterSeconds;
      assert.ok(retryAfter !== undefined && retryAfter >= 1 && retryAfter <= 30, `retryAfterSeconds ${retryAfter}`);
    }
    assert.equal((await rowOf(id)).resends_in_window, 1);
    // Refused resends give their reservation back: the tenant's email budget counts one email.
    const [{ used }] = await t.sql('select coalesce(sum(used), 0)::int as used from email_quota where tenant_id = $1', [a.tenantId]);
    assert.equal(used - usedBefore, 1);
    await waitUntil(async () => (await rowOf(id)).email_status === 'SENT', 15_000, 'the resent email SENT');
    assert.equal(sentTo(email), 1, 'exactly one email reached the provider');

    // Still within the cooldown: refused, and nothing about the invitation changes.
    const before = await rowOf(id);
    const early = await t.gql(RESEND, { id }, a.token);
    assert.equal(codeOf(early), 'RATE_LIMITED');
    assert.deepEqual(await rowOf(id), before, 'a refused resend changes nothing');

    await afterCooldown(id);
    const later = await t.gql(RESEND, { id }, a.token);
    assert.equal(codeOf(later), 'OK', JSON.stringify(later.errors));
    await waitUntil(() => sentTo(email) === 2, 15_000, 'the second email');
  });

  it('refuses the sixth resend of an invitation within 24 hours, even after the cooldown', async () => {
    const invited = await t.gql(BULK_INVITE, { input: { users: [{ email: 'daily@example.com' }], sendEmail: false } }, a.token);
    const id = invited.data.bulkInviteUsers.results[0].invitation.id;
    for (let i = 1; i <= 5; i++) {
      const res = await t.gql(RESEND, { id }, a.token);
      assert.equal(codeOf(res), 'OK', `resend ${i}: ${JSON.stringify(res.errors)}`);
      await afterCooldown(id);
    }
    // The worker is running: let it finish with the fifth email, so that only the refused resend could change the row.
    await waitUntil(async () => (await rowOf(id)).email_status === 'SENT', 15_000, 'the fifth email SENT');
    const before = await rowOf(id);
    const sixth = await t.gql(RESEND, { id }, a.token);
    assert.equal(codeOf(sixth), 'RATE_LIMITED');
    const retryAfter = (sixth.errors![0].extensions as { retryAfterSeconds: number }).retryAfterSeconds;
    assert.ok(retryAfter > 23 * 3600 && retryAfter <= 24 * 3600, `retry when the day's window ends (${retryAfter})`);
    assert.deepEqual(await rowOf(id), before, 'the refused resend changed nothing');

    // A day after the first of them, the window starts over.
    await t.sql(`update invitation set resend_window_start = resend_window_start - interval '24 hours' where id = $1`, [id]);
    assert.equal(codeOf(await t.gql(RESEND, { id }, a.token)), 'OK');
    assert.equal((await rowOf(id)).resends_in_window, 1);
  });
});

describe('email queue: fair across tenants', () => {
  const postmark = new FakePostmark();
  let t: TestApp;
  let worker: EmailWorker | undefined;

  before(async () => {
    const apiUrl = await postmark.start();
    t = await createTestApp(postmarkEnv(apiUrl));
  });
  after(async () => {
    await worker?.stop();
    await t.close();
    await postmark.stop();
  });

  it("sends a quiet tenant's single email in the first or second provider call, whatever another tenant queued first", async () => {
    const busy = await t.seedTenant('Busy');
    const quiet = await t.seedTenant('Quiet');
    const users = Array.from({ length: 2_000 }, (_, i) => ({ email: `busy-${i}@example.com` }));
    const queued = await t.gql('mutation($input: BulkInviteUsersInput!) { bulkInviteUsers(input: $input) { successful } }', { input: { users } }, busy.token);
    assert.equal(queued.data.bulkInviteUsers.successful, 2_000);
    await t.gql(BULK_INVITE, { input: { users: [{ email: 'quiet@example.com' }] } }, quiet.token);

    // A slow provider: each batch call takes a while, as a real one does for 500 messages.
    postmark.delayMs = 200;
    const calls: string[][] = [];
    postmark.onBatch = (messages) => calls.push(messages.map((m) => m.To));
    worker = await startEmailWorker({ config: t.config, databaseUrl: t.databaseUrl, log: createLogger('silent') });
    await waitUntil(() => calls.some((to) => to.includes('quiet@example.com')), 30_000, "the quiet tenant's email");
    const call = calls.findIndex((to) => to.includes('quiet@example.com')) + 1;
    assert.ok(call <= 2, `the quiet tenant's email went out in provider call ${call}`);
    await waitUntil(() => postmark.accepted.length === 2_001, 60_000, 'every email sent');
    assert.equal(new Set(postmark.recipients()).size, 2_001, 'each person got exactly one email');
    console.log(`# 2,000 queued by one tenant, 1 by another: the other's email went out in provider call ${call} of ${calls.length}`);
  });
});
