import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { createLogger } from '../src/logger';
import { type EmailWorker, startEmailWorker } from '../src/mail/email-worker';
import { FakePostmark } from './helpers/fake-postmark';
import { FakeWebhookReceiver, type ReceivedWebhook } from './helpers/fake-webhook-receiver';
import { BULK_INVITE, type SeededTenant, TEST_JWT_SECRET, type TestApp, createTestApp } from './helpers/harness';
import { type Spawned, spawnEntry } from './helpers/processes';
import { waitFor } from './helpers/wait';

const CREATE = `mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { secret endpoint { id url eventTypes enabled description disabledReason createdAt } }
}`;
const UPDATE = `mutation($id: ID!, $input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $input) { id url enabled eventTypes disabledReason } }`;
const ROTATE = `mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret endpoint { id } } }`;
const DELETE = `mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`;
const ENDPOINTS = `{ webhookEndpoints { id url enabled disabledReason eventTypes } }`;
const EVENTS = `query($types: [String!], $first: Int, $after: String) { events(types: $types, first: $first, after: $after) { nodes { id type occurredAt data } pageInfo { hasNextPage endCursor } } }`;

const codeOf = (res: { errors?: Array<{ extensions?: { code?: string } }> }) => res.errors?.[0]?.extensions?.code ?? 'OK';

/** As a receiver would: the `standardwebhooks` package checks the signature (and the timestamp's freshness). */
function verify(secret: string, message: ReceivedWebhook): { type: string; data: Record<string, any> } {
  return new Webhook(secret).verify(message.body, message.headers) as { type: string; data: Record<string, any> };
}

/**
 * The retry schedule 20,000 times faster than in service: one second of it lasts 0.05 ms, so the 30 min step takes
 * 90 ms, the 2 h step 360 ms, all eight attempts about 5 s, and the 5-day disabling window 21.6 s.
 */
const FAST = { WEBHOOK_RETRY_BASE_MS: '0.05', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_TIMEOUT_MS: '400' };
const UNIT_MS = 0.05;

describe('webhook endpoints and delivery', () => {
  let t: TestApp;
  let a: SeededTenant;
  let b: SeededTenant;
  let worker: EmailWorker;
  const receivers: FakeWebhookReceiver[] = [];

  const receiver = async () => {
    const r = new FakeWebhookReceiver();
    const url = await r.start();
    receivers.push(r);
    return { r, url };
  };
  const createEndpoint = async (url: string, token = a.token, eventTypes?: string[]) => {
    const res = await t.gql(CREATE, { input: { url, eventTypes } }, token);
    assert.equal(codeOf(res), 'OK', JSON.stringify(res.errors));
    return res.data.createWebhookEndpoint as { secret: string; endpoint: { id: string; enabled: boolean } };
  };
  const invite = async (emails: string[], token = a.token) => {
    const res = await t.gql(BULK_INVITE, { input: { users: emails.map((email) => ({ email })), sendEmail: false } }, token);
    assert.equal(res.data.bulkInviteUsers.successful, emails.length, JSON.stringify(res));
    return res.data.bulkInviteUsers.results.map((r: any) => r.invitation.id as string);
  };
  const deliveries = (endpointId: string) =>
    t.sql<{ status: string; attempts: number; last_response_status: number | null; last_error: string | null }>(
      'select status, attempts, last_response_status, last_error from webhook_delivery where endpoint_id = $1 order by event_seq',
      [endpointId],
    );

  before(async () => {
    t = await createTestApp(FAST);
    a = await t.seedTenant();
    b = await t.seedTenant();
    worker = await startEmailWorker({ config: t.config, databaseUrl: t.databaseUrl, log: createLogger('silent') });
  });
  after(async () => {
    await worker.stop();
    await t.close();
    for (const r of receivers) await r.stop();
  });

  it('creates an endpoint with a whsec_ secret shown once, and delivers signed events that standardwebhooks verifies', async () => {
    const { r, url } = await receiver();
    const { secret, endpoint } = await createEndpoint(url);
    assert.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
    assert.equal(Buffer.from(secret.slice(6), 'base64').length, 32);
    const listed = await t.gql(ENDPOINTS, {}, a.token);
    assert.deepEqual(listed.data.webhookEndpoints.map((e: any) => e.id), [endpoint.id]);
    assert.ok(!JSON.stringify(listed).includes(secret.slice(6)), 'the secret is never shown again');
    const [stored] = await t.sql('select secret from webhook_endpoint where id = $1', [endpoint.id]);
    assert.ok(stored.secret.length > 0);

    const ids = await invite(['w1@example.com', 'w2@example.com', 'w3@example.com']);
    await waitFor(() => r.received.length >= 3, 15_000, 'three deliveries');
    const events = await t.gql(EVENTS, { types: ['invitation.created'] }, a.token);
    const byInvitation = new Map(events.data.events.nodes.map((e: any) => [e.data.invitationId, e.id]));
    for (const message of r.received) {
      const payload = verify(secret, message);
      assert.equal(payload.type, 'invitation.created');
      assert.ok(ids.includes(payload.data.invitationId));
      assert.equal(message.headers['webhook-id'], byInvitation.get(payload.data.invitationId), 'webhook-id is the event id');
      assert.match(message.headers['webhook-signature'], /^v1,[A-Za-z0-9+/]+=*$/);
      assert.ok(Math.abs(Number(message.headers['webhook-timestamp']) - Date.now() / 1000) < 60);
      assert.ok(!/token|accept/i.test(message.body), 'no token or accept link in a delivery');
    }
    // A tampered body does not verify.
    assert.throws(() => verify(secret, { ...r.received[0], body: r.received[0].body.replace('invitation.created', 'invitation.accepted') }));
    await t.gql(DELETE, { id: endpoint.id }, a.token);
  });

  it('retries a failing delivery with the same webhook-id (500, hang, closed connection, redirect) until a 2xx', async () => {
    const { r, url } = await receiver();
    r.script = [500, 'hang', 'close', { redirect: 'http://169.254.169.254/latest/meta-data/' }];
    const { secret, endpoint } = await createEndpoint(url);
    await invite(['retry@example.com']);
    await waitFor(async () => (await deliveries(endpoint.id))[0]?.status === 'SUCCEEDED', 30_000, () => `delivery to succeed; got ${r.received.length} attempts`);
    assert.equal(r.received.length, 5, 'four failures, then the success');
    const ids = new Set(r.received.map((m) => m.headers['webhook-id']));
    assert.equal(ids.size, 1, 'the same webhook-id on every attempt');
    for (const message of r.received) verify(secret, message);
    const [row] = await deliveries(endpoint.id);
    assert.equal(row.attempts, 5);
    // Retries wait as the schedule says (scaled): 5 s, 5 min, 30 min, 2 h before attempts 2 to 5.
    const gaps = r.received.slice(1).map((m, i) => m.at - r.received[i].at);
    assert.ok(gaps[2] >= 1800 * UNIT_MS - 5, `the third retry came after ${gaps[2]} ms`);
    assert.ok(gaps[3] >= 7200 * UNIT_MS - 5, `the fourth retry came after ${gaps[3]} ms`);
    await t.gql(DELETE, { id: endpoint.id }, a.token);
  });

  it("holds an invitation's later events behind its failing one, so they arrive in event order", async () => {
    const { r, url } = await receiver();
    // The first delivery fails five times (about 0.5 s scaled); the revocation, appended meanwhile, must wait for it.
    r.script = [500, 500, 500, 500, 500];
    const { secret, endpoint } = await createEndpoint(url);
    const [id] = await invite(['ordered@example.com']);
    await waitFor(() => r.received.length >= 1, 15_000, 'the first attempt');
    const revoked = await t.gql('mutation($ids: [ID!]!) { revokeInvitations(ids: $ids) { results { ok } } }', { ids: [id] }, a.token);
    assert.equal(revoked.data.revokeInvitations.results[0].ok, true);
    assert.deepEqual((await deliveries(endpoint.id)).map((d) => d.status), ['PENDING', 'PENDING'], 'the revocation was appended while the creation still failed');
    await waitFor(async () => (await deliveries(endpoint.id)).every((d) => d.status === 'SUCCEEDED') && r.received.length >= 7, 15_000, 'both delivered');
    const types = r.received.map((m) => verify(secret, m).type);
    assert.deepEqual(types, [...Array(6).fill('invitation.created'), 'invitation.revoked']);
    await t.gql(DELETE, { id: endpoint.id }, a.token);
  });

  it('records a redirect as a failure and does not follow it', async () => {
    const { r, url } = await receiver();
    const target = await receiver();
    r.otherwise = { redirect: target.url };
    const { endpoint } = await createEndpoint(url);
    await invite(['redirect@example.com']);
    await waitFor(async () => (await deliveries(endpoint.id))[0]?.last_response_status === 302, 15_000, 'a 302 recorded');
    const [row] = await deliveries(endpoint.id);
    assert.equal(row.status, 'PENDING');
    assert.equal(target.r.received.length, 0, 'the redirect target was never called');
    await t.gql(DELETE, { id: endpoint.id }, a.token);
  });

  it('disables an endpoint that answers 410, and one whose attempts all failed for 5 days (scaled); gives up after the last retry', async () => {
    const gone = await receiver();
    gone.r.otherwise = 410;
    const first = await createEndpoint(gone.url);
    await invite(['gone@example.com']);
    await waitFor(async () => {
      const res = await t.gql(ENDPOINTS, {}, a.token);
      return res.data.webhookEndpoints.find((e: any) => e.id === first.endpoint.id && !e.enabled);
    }, 15_000, 'the endpoint to be disabled after 410');
    const [endpointRow] = await t.sql('select disabled_reason from webhook_endpoint where id = $1', [first.endpoint.id]);
    assert.match(endpointRow.disabled_reason, /410/);
    assert.equal((await deliveries(first.endpoint.id))[0].status, 'FAILED');
    // A disabled endpoint gets no new deliveries.
    await invite(['after-gone@example.com']);
    assert.equal((await deliveries(first.endpoint.id)).length, 1);

    const failing = await receiver();
    failing.r.otherwise = 503;
    const second = await createEndpoint(failing.url);
    await invite(['failing@example.com']);
    // Eight attempts (the schedule takes about 5 s scaled), then the delivery has failed for good.
    await waitFor(async () => (await deliveries(second.endpoint.id))[0]?.status === 'FAILED', 30_000, () => `the delivery to fail for good; ${failing.r.received.length} attempts`);
    assert.equal((await deliveries(second.endpoint.id))[0].attempts, 8);
    assert.equal(failing.r.received.length, 8);
    assert.equal(new Set(failing.r.received.map((m) => m.headers['webhook-id'])).size, 1);
    const [stillEnabled] = await t.sql('select enabled, failing_since from webhook_endpoint where id = $1', [second.endpoint.id]);
    assert.equal(stillEnabled.enabled, true, 'one failed delivery does not disable an endpoint');
    assert.ok(stillEnabled.failing_since);
    // Failing for longer than 5 days (scaled: 432,000 s x 0.05 ms = 21.6 s): the next failure disables it.
    await t.sql(`update webhook_endpoint set failing_since = now() - interval '30 seconds' where id = $1`, [second.endpoint.id]);
    await invite(['failing-later@example.com']);
    await waitFor(async () => !(await t.sql('select enabled from webhook_endpoint where id = $1', [second.endpoint.id]))[0].enabled, 15_000, 'the endpoint to be disabled');
    const [secondRow] = await t.sql('select enabled, disabled_reason from webhook_endpoint where id = $1', [second.endpoint.id]);
    assert.equal(secondRow.enabled, false);
    assert.match(secondRow.disabled_reason, /5 days/);

    // Enabled again by the tenant: the failure history is cleared, and what it kept pending goes out at once.
    failing.r.otherwise = 200;
    const again = await t.gql(UPDATE, { id: second.endpoint.id, input: { enabled: true } }, a.token);
    assert.equal(again.data.updateWebhookEndpoint.enabled, true);
    assert.equal(again.data.updateWebhookEndpoint.disabledReason, null);
    await waitFor(async () => (await deliveries(second.endpoint.id))[1]?.status === 'SUCCEEDED', 10_000, 'the kept delivery after enabling');
    for (const id of [first.endpoint.id, second.endpoint.id]) await t.gql(DELETE, { id }, a.token);
  });

  it('signs with both the old and the new secret for 24 hours after a rotation', async () => {
    const { r, url } = await receiver();
    const { secret: oldSecret, endpoint } = await createEndpoint(url);
    const rotated = await t.gql(ROTATE, { id: endpoint.id }, a.token);
    const newSecret = rotated.data.rotateWebhookSecret.secret as string;
    assert.notEqual(newSecret, oldSecret);
    await invite(['rotate@example.com']);
    await waitFor(() => r.received.length >= 1, 15_000, 'a delivery');
    const message = r.received[0];
    assert.equal(message.headers['webhook-signature'].split(' ').length, 2);
    assert.equal(verify(newSecret, message).type, 'invitation.created');
    assert.equal(verify(oldSecret, message).type, 'invitation.created');
    // Past the overlap only the new secret signs.
    await t.sql(`update webhook_endpoint set previous_secret_expires_at = now() - interval '1 second' where id = $1`, [endpoint.id]);
    await invite(['rotate2@example.com']);
    await waitFor(() => r.received.length >= 2, 15_000, 'a second delivery');
    assert.equal(verify(newSecret, r.received[1]).type, 'invitation.created');
    assert.throws(() => verify(oldSecret, r.received[1]));
    await t.gql(DELETE, { id: endpoint.id }, a.token);
  });

  it("keeps tenants apart: another tenant's endpoint id is not found, and events never leak", async () => {
    const { r, url } = await receiver();
    const { endpoint } = await createEndpoint(url, a.token, ['invitation.created']);
    for (const [query, variables] of [
      [UPDATE, { id: endpoint.id, input: { enabled: false } }],
      [ROTATE, { id: endpoint.id }],
      [DELETE, { id: endpoint.id }],
      [DELETE, { id: endpoint.id.toUpperCase() }],
    ] as const) {
      const res = await t.gql(query, variables, b.token);
      assert.equal(codeOf(res), 'BAD_USER_INPUT', JSON.stringify(res));
      assert.match(res.errors![0].message, /not found/i);
    }
    assert.deepEqual((await t.gql(ENDPOINTS, {}, b.token)).data.webhookEndpoints, []);
    await invite(['only-b@example.com'], b.token);
    const ofB = await t.gql(EVENTS, {}, b.token);
    assert.ok(ofB.data.events.nodes.length >= 1);
    assert.ok(ofB.data.events.nodes.every((e: any) => e.data.tenantId === b.tenantId));
    const ofA = await t.gql(EVENTS, { first: 500 }, a.token);
    assert.ok(ofA.data.events.nodes.every((e: any) => e.data.tenantId === a.tenantId));
    await invite(['only-a@example.com']);
    await waitFor(() => r.received.length >= 1, 15_000, "a delivery of tenant A's event");
    assert.ok(r.bodies().every((m) => m.data.tenantId === a.tenantId), "tenant B's event never reached A's endpoint");
    const [{ n }] = await t.sql('select count(*)::int as n from webhook_delivery where endpoint_id = $1', [endpoint.id]);
    assert.equal(n, 1);
    // Without tenant:admin the endpoints and the events are refused.
    const member = t.token({ tenantId: a.tenantId, permissions: ['users:invite', 'users:read'] });
    assert.equal(codeOf(await t.gql(ENDPOINTS, {}, member)), 'FORBIDDEN');
    assert.equal(codeOf(await t.gql(EVENTS, {}, member)), 'FORBIDDEN');
    await t.gql(DELETE, { id: endpoint.id }, a.token);
  });

  it('refuses unknown event types and malformed URLs at creation', async () => {
    assert.equal(codeOf(await t.gql(CREATE, { input: { url: 'http://127.0.0.1:9/x', eventTypes: ['invitation.nope'] } }, a.token)), 'BAD_USER_INPUT');
    assert.equal(codeOf(await t.gql(CREATE, { input: { url: 'ftp://example.com/x' } }, a.token)), 'BAD_USER_INPUT');
    assert.equal(codeOf(await t.gql(CREATE, { input: { url: 'not a url' } }, a.token)), 'BAD_USER_INPUT');
    assert.equal(codeOf(await t.gql(CREATE, { input: { url: 'http://user:pw@127.0.0.1:9/x' } }, a.token)), 'BAD_USER_INPUT');
  });
});

describe('webhook targets with the SSRF guard on (WEBHOOK_ALLOW_PRIVATE_TARGETS unset)', () => {
  let t: TestApp;
  let a: SeededTenant;
  let worker: EmailWorker;
  const r = new FakeWebhookReceiver();

  before(async () => {
    t = await createTestApp({ WEBHOOK_RETRY_BASE_MS: '0.05' });
    a = await t.seedTenant();
    worker = await startEmailWorker({ config: t.config, databaseUrl: t.databaseUrl, log: createLogger('silent') });
  });
  after(async () => {
    await worker.stop();
    await t.close();
    await r.stop();
  });

  it('refuses loopback, metadata, private and IPv4-mapped targets at creation', async () => {
    for (const url of [
      'http://127.0.0.1:8080/hook',
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.5/hook',
      'http://[::1]/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://[::ffff:a9fe:a9fe]/hook',
      'http://localhost/hook',
      'http://0.0.0.0/hook',
    ]) {
      const res = await t.gql(CREATE, { input: { url } }, a.token);
      assert.equal(codeOf(res), 'BAD_USER_INPUT', `${url}: ${JSON.stringify(res)}`);
      assert.match(res.errors![0].message, /non-public address/);
    }
    assert.equal((await t.sql('select count(*)::int as n from webhook_endpoint'))[0].n, 0);
  });

  it('checks again at delivery: an endpoint that now resolves to loopback gets nothing', async () => {
    const url = await r.start();
    // As if the address behind a public name had changed since creation (the row is written directly).
    const [endpoint] = await t.sql(
      `insert into webhook_endpoint (id, tenant_id, url, event_types, enabled, secret, created_at)
       values (gen_random_uuid(), $1, $2, '{}', true, 'whsec_' || encode(decode(md5(random()::text) || md5(random()::text), 'hex'), 'base64'), now()) returning id`,
      [a.tenantId, url],
    );
    const res = await t.gql(BULK_INVITE, { input: { users: [{ email: 'guarded@example.com' }], sendEmail: false } }, a.token);
    assert.equal(res.data.bulkInviteUsers.successful, 1);
    await waitFor(async () => {
      const [row] = await t.sql('select attempts, last_error from webhook_delivery where endpoint_id = $1', [endpoint.id]);
      return row?.attempts >= 2 && row;
    }, 15_000, 'two refused attempts');
    const [row] = await t.sql('select status, last_error from webhook_delivery where endpoint_id = $1', [endpoint.id]);
    assert.match(row.last_error, /target refused: .*loopback/);
    assert.equal(r.received.length, 0, 'the loopback receiver was never called');
  });
});

describe('webhook delivery when the worker process is killed mid-delivery', () => {
  let t: TestApp;
  let a: SeededTenant;
  const r = new FakeWebhookReceiver();
  const running: Spawned[] = [];

  before(async () => {
    t = await createTestApp({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' });
    a = await t.seedTenant();
  });
  after(async () => {
    for (const p of running) {
      p.child.kill('SIGKILL');
      await p.exited().catch(() => undefined);
    }
    await t.close();
    await r.stop();
  });

  it('delivers the event once another worker starts, with the same webhook-id (at least once)', async () => {
    const url = await r.start();
    // The first attempt hangs: the worker is killed while it waits for the answer.
    r.script = ['hang'];
    const res = await t.gql(CREATE, { input: { url } }, a.token);
    const secret = res.data.createWebhookEndpoint.secret as string;
    const invited = await t.gql(BULK_INVITE, { input: { users: [{ email: 'killed@example.com' }], sendEmail: false } }, a.token);
    assert.equal(invited.data.bulkInviteUsers.successful, 1);
    const env = {
      DATABASE_URL: t.databaseUrl,
      JWT_SECRET: TEST_JWT_SECRET,
      PUBLIC_URL: t.config.publicUrl,
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      EMAIL_POLL_INTERVAL_MS: '100',
      LOG_LEVEL: 'warn',
    };
    const first = spawnEntry('src/worker.ts', env);
    running.push(first);
    await waitFor(() => r.received.length === 1, 30_000, 'the first attempt to arrive');
    first.child.kill('SIGKILL');
    await first.exited();
    const [pending] = await t.sql(`select status, attempts from webhook_delivery`);
    assert.deepEqual(pending, { status: 'PENDING', attempts: 0 }, 'the killed attempt was never recorded');

    const second = spawnEntry('src/worker.ts', env);
    running.push(second);
    await waitFor(async () => (await t.sql(`select status from webhook_delivery`))[0].status === 'SUCCEEDED', 30_000, 'the delivery after the restart');
    assert.equal(r.received.length, 2);
    assert.equal(r.received[0].headers['webhook-id'], r.received[1].headers['webhook-id'], 'the same webhook-id');
    assert.equal(verify(secret, r.received[1]).type, 'invitation.created');
  });
});

describe('a hanging webhook endpoint and the email queue', () => {
  const postmark = new FakePostmark();
  const r = new FakeWebhookReceiver();
  let t: TestApp;
  let a: SeededTenant;
  let worker: EmailWorker;

  before(async () => {
    const apiUrl = await postmark.start();
    t = await createTestApp({
      POSTMARK_SERVER_TOKEN: 'test-token',
      POSTMARK_API_URL: apiUrl,
      POSTMARK_FROM: 'invites@acme.test',
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      WEBHOOK_TIMEOUT_MS: '20000',
    });
    a = await t.seedTenant();
    worker = await startEmailWorker({ config: t.config, databaseUrl: t.databaseUrl, log: createLogger('silent') });
  });
  after(async () => {
    await r.stop(); // ends the hanging request
    await worker.stop();
    await t.close();
    await postmark.stop();
  });

  it('sends invitation emails while a delivery waits on an endpoint that never answers', async () => {
    r.otherwise = 'hang';
    await t.gql(CREATE, { input: { url: await r.start() } }, a.token);
    const started = Date.now();
    const res = await t.gql(BULK_INVITE, { input: { users: [{ email: 'while-hanging@example.com' }] } }, a.token);
    assert.equal(res.data.bulkInviteUsers.successful, 1);
    await waitFor(() => r.received.length === 1, 10_000, 'the hanging delivery to start');
    await waitFor(() => postmark.accepted.some((m) => m.To === 'while-hanging@example.com'), 10_000, 'the email');
    assert.ok(Date.now() - started < 10_000, 'the email did not wait for the 20 s webhook timeout');
  });
});
