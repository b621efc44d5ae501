import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../src/logger';
import { type EmailWorker, startEmailWorker } from '../src/mail/email-worker';
import { FakePostmark, type RecordedMessage } from './helpers/fake-postmark';
import { BULK_INVITE, type SeededTenant, type TestApp, createTestApp } from './helpers/harness';
import { waitFor } from './helpers/wait';

const AUTH = `Basic ${Buffer.from('postmark:hook-password').toString('base64')}`;
const codeOf = (res: { errors?: Array<{ extensions?: { code?: string } }> }) => res.errors?.[0]?.extensions?.code ?? 'OK';

describe('POST /webhooks/postmark: delivery and bounce feedback', () => {
  const postmark = new FakePostmark();
  let t: TestApp;
  let a: SeededTenant;
  let worker: EmailWorker;

  before(async () => {
    const apiUrl = await postmark.start();
    t = await createTestApp({
      POSTMARK_SERVER_TOKEN: 'test-token',
      POSTMARK_API_URL: apiUrl,
      POSTMARK_FROM: 'invites@acme.test',
      POSTMARK_WEBHOOK_USERNAME: 'postmark',
      POSTMARK_WEBHOOK_PASSWORD: 'hook-password',
      RESEND_COOLDOWN_SECONDS: '0',
    });
    a = await t.seedTenant();
    worker = await startEmailWorker({ config: t.config, databaseUrl: t.databaseUrl, log: createLogger('silent') });
  });
  after(async () => {
    await worker.stop();
    await t.close();
    await postmark.stop();
  });

  /** Invites one person, waits for Postmark to accept the email, returns the invitation and the message. */
  async function sent(email: string): Promise<{ id: string; message: RecordedMessage }> {
    const res = await t.gql(BULK_INVITE, { input: { users: [{ email }] } }, a.token);
    const id = res.data.bulkInviteUsers.results[0].invitation.id as string;
    const message = await waitFor(() => postmark.accepted.find((m) => m.To === email), 15_000, `the email to ${email}`);
    await waitFor(async () => (await row(id)).email_status === 'SENT', 15_000, 'SENT recorded');
    return { id, message };
  }
  const row = async (id: string) => (await t.sql('select email_status, email_error from invitation where id = $1', [id]))[0];
  const eventsOf = async (id: string) =>
    (await t.sql<{ type: string; data: any }>(`select type, data from event where data->>'invitationId' = $1 order by seq`, [id])).map((e) => e);
  const hook = (body: unknown, authorization: string | null = AUTH) =>
    t.app.server.inject({
      method: 'POST',
      url: '/webhooks/postmark',
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const delivery = (message: RecordedMessage) => ({
    RecordType: 'Delivery',
    MessageID: message.MessageID,
    Recipient: message.To,
    DeliveredAt: new Date().toISOString(),
    Metadata: message.Metadata,
  });
  const bounce = (message: RecordedMessage, type: string) => ({
    RecordType: 'Bounce',
    Type: type,
    TypeCode: 1,
    MessageID: message.MessageID,
    Email: message.To,
    Description: 'The server was unable to deliver your message (ex: unknown user, mailbox not found).',
    Details: 'smtp;550 5.1.1 user unknown',
    Metadata: message.Metadata,
  });

  it('sends invitationId and tenantId as Metadata with every email', async () => {
    const { id, message } = await sent('meta@example.com');
    assert.equal(message.Metadata?.invitationId, id);
    assert.equal(message.Metadata?.tenantId, a.tenantId);
    assert.deepEqual((await eventsOf(id)).map((e) => e.type), ['invitation.created', 'invitation.sent']);
  });

  it('Delivery -> DELIVERED with an invitation.delivered event; a replay changes nothing', async () => {
    const { id, message } = await sent('delivered@example.com');
    const first = await hook(delivery(message));
    assert.equal(first.statusCode, 200, first.body);
    assert.equal((await row(id)).email_status, 'DELIVERED');
    for (let i = 0; i < 3; i++) assert.equal((await hook(delivery(message))).statusCode, 200);
    const events = await eventsOf(id);
    assert.deepEqual(events.map((e) => e.type), ['invitation.created', 'invitation.sent', 'invitation.delivered']);
    assert.equal(events[2].data.emailStatus, 'DELIVERED');
    const res = await t.gql('query($id: ID!) { invitation(id: $id) { emailStatus } }', { id }, a.token);
    assert.equal(res.data.invitation.emailStatus, 'DELIVERED');
  });

  it('HardBounce, SpamComplaint, BadEmailAddress, ManuallyDeactivated, Blocked -> BOUNCED with the reason; soft bounces change nothing', async () => {
    for (const type of ['HardBounce', 'SpamComplaint', 'BadEmailAddress', 'ManuallyDeactivated', 'Blocked']) {
      const { id, message } = await sent(`bounce-${type.toLowerCase()}@example.com`);
      for (const soft of ['SoftBounce', 'Transient', 'AutoResponder']) {
        assert.equal((await hook(bounce(message, soft))).statusCode, 200);
        assert.equal((await row(id)).email_status, 'SENT', `${soft} changes nothing`);
      }
      assert.equal((await hook(bounce(message, type))).statusCode, 200);
      assert.equal((await hook(bounce(message, type))).statusCode, 200, 'a replay');
      const stored = await row(id);
      assert.equal(stored.email_status, 'BOUNCED');
      assert.match(stored.email_error, new RegExp(`^${type}: The server was unable`));
      const bounced = (await eventsOf(id)).filter((e) => e.type === 'invitation.bounced');
      assert.equal(bounced.length, 1, 'one event however often Postmark repeats itself');
      assert.equal(bounced[0].data.bounceType, type);
      assert.equal(bounced[0].data.emailStatus, 'BOUNCED');
    }
    // Postmark's own SpamComplaint record type.
    const { id, message } = await sent('complaint@example.com');
    assert.equal((await hook({ RecordType: 'SpamComplaint', MessageID: message.MessageID, Email: message.To, Metadata: message.Metadata })).statusCode, 200);
    assert.equal((await row(id)).email_status, 'BOUNCED');
  });

  it('refuses bad credentials, unknown messages, missing Metadata and malformed bodies with a 4xx and changes nothing', async () => {
    const { id, message } = await sent('refused@example.com');
    const wrong = `Basic ${Buffer.from('postmark:nope').toString('base64')}`;
    assert.equal((await hook(delivery(message), wrong)).statusCode, 401);
    assert.equal((await hook(delivery(message), null)).statusCode, 401);
    assert.equal((await hook(delivery(message), 'Bearer x')).statusCode, 401);
    assert.equal((await hook({ ...delivery(message), MessageID: '00000000-0000-0000-0000-000000000000' })).statusCode, 422);
    assert.equal((await hook({ ...delivery(message), Metadata: { ...message.Metadata, invitationId: '00000000-0000-0000-0000-000000000000' } })).statusCode, 422);
    // The right invitation named under another tenant: no such invitation there.
    const other = await t.seedTenant();
    assert.equal((await hook({ ...delivery(message), Metadata: { ...message.Metadata, tenantId: other.tenantId } })).statusCode, 422);
    const { Metadata: _dropped, ...withoutMetadata } = delivery(message);
    assert.equal((await hook(withoutMetadata)).statusCode, 400);
    assert.equal((await hook('{"RecordType": "Delivery", ')).statusCode, 400);
    assert.equal((await hook('[]')).statusCode, 400);
    assert.equal((await hook({ RecordType: 'Bounce', MessageID: message.MessageID, Metadata: message.Metadata })).statusCode, 400);
    assert.equal((await row(id)).email_status, 'SENT');
    assert.deepEqual((await eventsOf(id)).map((e) => e.type), ['invitation.created', 'invitation.sent']);
  });

  it('refuses to resend to a BOUNCED address unless force: true', async () => {
    const { id, message } = await sent('resend-bounced@example.com');
    await hook(bounce(message, 'HardBounce'));
    const refused = await t.gql('mutation($id: ID!) { resendInvitation(id: $id) { emailStatus } }', { id }, a.token);
    assert.equal(codeOf(refused), 'BAD_USER_INPUT');
    assert.match(refused.errors![0].message, /bounced/);
    const many = await t.gql('mutation($ids: [ID!]!) { resendInvitations(ids: $ids) { results { ok code } } }', { ids: [id] }, a.token);
    assert.deepEqual(many.data.resendInvitations.results, [{ ok: false, code: 'EMAIL_BOUNCED' }]);
    assert.equal((await row(id)).email_status, 'BOUNCED');
    const forced = await t.gql('mutation($id: ID!) { resendInvitation(id: $id, force: true) { emailStatus } }', { id }, a.token);
    assert.equal(forced.data.resendInvitation.emailStatus, 'QUEUED');
    await waitFor(() => postmark.accepted.filter((m) => m.To === 'resend-bounced@example.com').length === 2, 15_000, 'the forced email');
  });
});

describe('POST /webhooks/postmark without credentials configured', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => t.close());

  it('answers 404', async () => {
    const res = await t.app.server.inject({ method: 'POST', url: '/webhooks/postmark', headers: { authorization: AUTH, 'content-type': 'application/json' }, payload: '{}' });
    assert.equal(res.statusCode, 404);
  });
});
