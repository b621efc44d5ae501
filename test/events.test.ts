import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { createLogger } from '../src/logger';
import { type EmailWorker, startEmailWorker } from '../src/mail/email-worker';
import { appendEvents } from '../src/services/events';
import { FakePostmark } from './helpers/fake-postmark';
import { FakeWebhookReceiver } from './helpers/fake-webhook-receiver';
import { type SeededTenant, type TestApp, createTestApp } from './helpers/harness';
import { waitFor } from './helpers/wait';

const INVITE = `mutation($input: BulkInviteUsersInput!) {
  bulkInviteUsers(input: $input) { successful results { ... on UserInvited { user { id } invitation { id acceptUrl batchId } } } }
}`;
const EVENTS = `query($types: [String!], $first: Int, $after: String) {
  events(types: $types, first: $first, after: $after) { nodes { id type occurredAt data } pageInfo { hasNextPage endCursor } }
}`;
const AUTH = `Basic ${Buffer.from('pm:pw').toString('base64')}`;
const INVITATION_FIELDS = ['invitationId', 'tenantId', 'userId', 'email', 'status', 'emailStatus', 'batchId', 'invitedBy', 'metadata', 'occurredAt'];
const codeOf = (res: { errors?: Array<{ extensions?: { code?: string } }> }) => res.errors?.[0]?.extensions?.code ?? 'OK';

describe('events: every change writes its event, listed oldest first and delivered signed', () => {
  const postmark = new FakePostmark();
  const receiver = new FakeWebhookReceiver();
  let t: TestApp;
  let a: SeededTenant;
  let worker: EmailWorker;
  let secret: string;

  before(async () => {
    const apiUrl = await postmark.start();
    const url = await receiver.start();
    t = await createTestApp({
      POSTMARK_SERVER_TOKEN: 'test-token',
      POSTMARK_API_URL: apiUrl,
      POSTMARK_FROM: 'invites@acme.test',
      POSTMARK_WEBHOOK_USERNAME: 'pm',
      POSTMARK_WEBHOOK_PASSWORD: 'pw',
      WEBHOOK_RETRY_BASE_MS: '0.05',
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    });
    a = await t.seedTenant();
    const created = await t.gql('mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret } }', { input: { url } }, a.token);
    secret = created.data.createWebhookEndpoint.secret;
    worker = await startEmailWorker({ config: t.config, databaseUrl: t.databaseUrl, log: createLogger('silent') });
  });
  after(async () => {
    await worker.stop();
    await t.close();
    await postmark.stop();
    await receiver.stop();
  });

  const invite = async (email: string, sendEmail: boolean, metadata?: Record<string, unknown>) => {
    const res = await t.gql(INVITE, { input: { users: [{ email, metadata }], sendEmail } }, a.token);
    assert.equal(res.data.bulkInviteUsers.successful, 1, JSON.stringify(res));
    const r = res.data.bulkInviteUsers.results[0];
    return { id: r.invitation.id as string, userId: r.user.id as string, acceptUrl: r.invitation.acceptUrl as string | null, batchId: r.invitation.batchId as string };
  };
  const postmarkHook = (body: unknown) =>
    t.app.server.inject({ method: 'POST', url: '/webhooks/postmark', headers: { authorization: AUTH, 'content-type': 'application/json' }, payload: JSON.stringify(body) });

  it('covers every event type end to end; each delivery verifies with standardwebhooks, in order per invitation', async () => {
    const delivered = await invite('delivered@example.com', true, { crm: 42 });
    const bounced = await invite('bounced@example.com', true);
    const accepted = await invite('accepted@example.com', false);
    const revoked = await invite('revoked@example.com', false);
    const expired = await invite('expired@example.com', false);

    const messageTo = (email: string) => waitFor(() => postmark.accepted.find((m) => m.To === email), 15_000, `the email to ${email}`);
    await waitFor(async () => (await t.sql(`select count(*)::int as n from event where type = 'invitation.sent'`))[0].n === 2, 15_000, 'two sent events');
    const toDelivered = await messageTo('delivered@example.com');
    assert.equal((await postmarkHook({ RecordType: 'Delivery', MessageID: toDelivered.MessageID, Metadata: toDelivered.Metadata })).statusCode, 200);
    const toBounced = await messageTo('bounced@example.com');
    assert.equal((await postmarkHook({ RecordType: 'Bounce', Type: 'HardBounce', MessageID: toBounced.MessageID, Metadata: toBounced.Metadata, Description: 'Unknown user' })).statusCode, 200);

    const token = new URL(accepted.acceptUrl!).searchParams.get('token')!;
    const acceptRes = await t.gql('mutation($token: String!) { acceptInvitation(token: $token) { invitation { status } } }', { token });
    assert.equal(acceptRes.data.acceptInvitation.invitation.status, 'ACCEPTED');
    const revokeRes = await t.gql('mutation($ids: [ID!]!) { revokeInvitations(ids: $ids) { results { ok } } }', { ids: [revoked.id] }, a.token);
    assert.equal(revokeRes.data.revokeInvitations.results[0].ok, true);
    // A refused change writes no event: revoking the accepted invitation.
    const refused = await t.gql('mutation($id: ID!) { revokeInvitation(id: $id) { id } }', { id: accepted.id }, a.token);
    assert.equal(codeOf(refused), 'BAD_USER_INPUT');

    // The expiry sweep (a graphile-worker cron task, asked to run now): once per expired invitation.
    await t.sql(`update invitation set expires_at = now() - interval '1 minute' where id = $1`, [expired.id]);
    await t.sql(`select graphile_worker.add_job('expire_invitations', '{}'::json)`);
    await waitFor(async () => (await t.sql(`select count(*)::int as n from event where type = 'invitation.expired'`))[0].n === 1, 15_000, 'the expired event');
    await t.sql(`select graphile_worker.add_job('expire_invitations', '{}'::json)`);

    const updated = await t.gql('mutation($userId: ID!) { updateMember(userId: $userId, input: { firstName: "Ada" }) { status } }', { userId: accepted.userId }, a.token);
    assert.equal(codeOf(updated), 'OK', JSON.stringify(updated));
    const removed = await t.gql('mutation($userId: ID!) { removeMember(userId: $userId) { status } }', { userId: accepted.userId }, a.token);
    assert.equal(removed.data.removeMember.status, 'REMOVED');

    const all = [
      'invitation.created',
      'invitation.sent',
      'invitation.delivered',
      'invitation.bounced',
      'invitation.accepted',
      'invitation.revoked',
      'invitation.expired',
      'member.updated',
      'member.removed',
    ];
    const [{ n: total }] = await t.sql<{ n: number }>('select count(*)::int as n from event where tenant_id = $1', [a.tenantId]);
    // 5 created, 2 sent, delivered, bounced, accepted, revoked, expired, member.updated, member.removed.
    assert.equal(total, 14);
    await waitFor(() => receiver.received.length >= total, 20_000, () => `all ${total} deliveries; got ${receiver.received.length}`);
    assert.equal(receiver.received.length, total, 'each event delivered once to a receiver that answers 200');
    const verified = receiver.received.map((m) => ({ id: m.headers['webhook-id'], ...(new Webhook(secret).verify(m.body, m.headers) as { type: string; timestamp: string; data: any }) }));
    assert.deepEqual([...new Set(verified.map((v) => v.type))].sort(), [...all].sort());
    assert.ok(!receiver.received.some((m) => /token=|acceptUrl|accept\?/.test(m.body)), 'no token or accept link in any delivery');

    // Per invitation, deliveries arrive in event order.
    const typesOf = (invitationId: string) => verified.filter((v) => v.data.invitationId === invitationId).map((v) => v.type);
    assert.deepEqual(typesOf(delivered.id), ['invitation.created', 'invitation.sent', 'invitation.delivered']);
    assert.deepEqual(typesOf(bounced.id), ['invitation.created', 'invitation.sent', 'invitation.bounced']);
    assert.deepEqual(typesOf(accepted.id), ['invitation.created', 'invitation.accepted']);
    assert.deepEqual(typesOf(revoked.id), ['invitation.created', 'invitation.revoked']);
    assert.deepEqual(typesOf(expired.id), ['invitation.created', 'invitation.expired']);

    // The data of the contract.
    const created = verified.find((v) => v.type === 'invitation.created' && v.data.invitationId === delivered.id)!;
    for (const field of INVITATION_FIELDS) assert.ok(field in created.data, `invitation data has ${field}`);
    assert.deepEqual(
      { ...created.data, occurredAt: undefined },
      {
        invitationId: delivered.id,
        tenantId: a.tenantId,
        userId: delivered.userId,
        email: 'delivered@example.com',
        status: 'PENDING',
        emailStatus: 'QUEUED',
        batchId: delivered.batchId,
        invitedBy: 'test-user',
        metadata: { crm: 42 },
        occurredAt: undefined,
      },
    );
    assert.equal(created.timestamp, created.data.occurredAt);
    const acceptedEvent = verified.find((v) => v.type === 'invitation.accepted')!;
    assert.equal(acceptedEvent.data.status, 'ACCEPTED');
    assert.ok(acceptedEvent.data.acceptedAt);
    assert.equal(verified.find((v) => v.type === 'invitation.bounced')!.data.bounceType, 'HardBounce');
    assert.equal(verified.find((v) => v.type === 'invitation.expired')!.data.status, 'EXPIRED');
    assert.equal(verified.find((v) => v.type === 'invitation.revoked')!.data.status, 'REVOKED');
    const memberUpdated = verified.find((v) => v.type === 'member.updated')!;
    assert.deepEqual([memberUpdated.data.userId, memberUpdated.data.firstName, memberUpdated.data.status], [accepted.userId, 'Ada', 'ACTIVE']);
    assert.equal(verified.find((v) => v.type === 'member.removed')!.data.status, 'REMOVED');

    // The events query: the same events, oldest first, in pages joined by cursors.
    const pages: any[] = [];
    let after: string | null = null;
    for (;;) {
      const res: any = await t.gql(EVENTS, { first: 4, after }, a.token);
      pages.push(...res.data.events.nodes);
      if (!res.data.events.pageInfo.hasNextPage) break;
      after = res.data.events.pageInfo.endCursor;
    }
    assert.equal(pages.length, total);
    assert.deepEqual(new Set(pages.map((e) => e.id)), new Set(verified.map((v) => v.id)), 'webhook-id is the event id');
    const [{ ids }] = await t.sql(`select array_agg(id::text order by seq) as ids from event where tenant_id = $1`, [a.tenantId]);
    assert.deepEqual(pages.map((e) => e.id), ids, 'oldest first');
    const onlyMembers = await t.gql(EVENTS, { types: ['member.updated', 'member.removed'] }, a.token);
    assert.deepEqual(onlyMembers.data.events.nodes.map((e: any) => e.type), ['member.updated', 'member.removed']);
    // After the last cursor: nothing yet, and a new event shows up there.
    const last = (await t.gql(EVENTS, { first: 500 }, a.token)).data.events.pageInfo.endCursor;
    assert.deepEqual((await t.gql(EVENTS, { after: last }, a.token)).data.events.nodes, []);
    await invite('later@example.com', false);
    assert.deepEqual((await t.gql(EVENTS, { after: last }, a.token)).data.events.nodes.map((e: any) => e.type), ['invitation.created']);
  });

  it('appendEvents writes events of any type set-based, for other features (import.completed), only when the transaction commits', async () => {
    const importId = '5d3b8c3e-7f1a-4b7e-9a51-2c0e8f6a9b10';
    const before = receiver.received.length;
    await t.orm.em.fork().transactional(async (tx) => {
      await appendEvents(tx, [{ tenantId: a.tenantId, type: 'import.completed', data: { importId, tenantId: a.tenantId, total: 3 }, orderingKey: `import:${importId}` }]);
    });
    // Rolled back: no event, no delivery.
    await t.orm.em
      .fork()
      .transactional(async (tx) => {
        await appendEvents(tx, [{ tenantId: a.tenantId, type: 'import.completed', data: { importId: 'rolled-back' } }]);
        throw new Error('roll back');
      })
      .catch(() => undefined);
    const listed = await t.gql(EVENTS, { types: ['import.completed'] }, a.token);
    assert.deepEqual(listed.data.events.nodes.map((e: any) => e.data.importId), [importId]);
    assert.ok(listed.data.events.nodes[0].data.occurredAt);
    const eventId = listed.data.events.nodes[0].id;
    const message = await waitFor(() => receiver.received.find((m) => m.headers['webhook-id'] === eventId), 15_000, 'the import.completed delivery');
    assert.equal((new Webhook(secret).verify(message.body, message.headers) as { type: string }).type, 'import.completed');
    assert.ok(!receiver.received.slice(before).some((m) => m.body.includes('rolled-back')));
  });

  it('refuses bad arguments of the events query', async () => {
    for (const variables of [{ after: 'not-a-cursor' }, { after: Buffer.from('e:0').toString('base64url') }, { types: ['invitation.nope'] }, { first: 501 }, { first: -1 }]) {
      assert.equal(codeOf(await t.gql(EVENTS, variables, a.token)), 'BAD_USER_INPUT', JSON.stringify(variables));
    }
  });
});
