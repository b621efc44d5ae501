import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../src/logger';
import { appendEvents } from '../src/services/events';
import { type WebhookRunner, startWebhookRunner } from '../src/webhooks/delivery-worker';
import { FakeWebhookReceiver } from './helpers/fake-webhook-receiver';
import { type SeededTenant, type TestApp, createTestApp } from './helpers/harness';
import { waitFor } from './helpers/wait';

const CREATE = `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }`;

/**
 * Review of issue 15: one tenant's endpoint that never answers must not hold the webhook worker for all its backlog
 * while other tenants' events wait. With one worker slot and a 200 ms timeout, 500 events to a hanging endpoint
 * kept the slot for all their rounds and retries (over 15 s) before anyone else's delivery went out; now it waits
 * one round at most (ten waves of 200 ms).
 */
describe('webhook delivery: a hanging endpoint and another tenant', () => {
  const hanging = new FakeWebhookReceiver();
  const healthy = new FakeWebhookReceiver();
  let t: TestApp;
  let a: SeededTenant;
  let b: SeededTenant;
  let runner: WebhookRunner;

  before(async () => {
    t = await createTestApp({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_TIMEOUT_MS: '200', WEBHOOK_WORKER_CONCURRENCY: '1' });
    a = await t.seedTenant();
    b = await t.seedTenant();
    hanging.otherwise = 'hang';
    await t.gql(CREATE, { input: { url: await hanging.start() } }, a.token);
    await t.gql(CREATE, { input: { url: await healthy.start() } }, b.token);
  });
  after(async () => {
    await runner?.stop();
    await t.close();
    await hanging.stop();
    await healthy.stop();
  });

  it("delivers tenant B's event within a few seconds while tenant A's endpoint hangs on a backlog", async () => {
    const em = t.orm.em.fork();
    await em.transactional((tx) =>
      appendEvents(tx, Array.from({ length: 500 }, (_, i) => ({ tenantId: a.tenantId, type: 'import.completed' as const, data: { n: i } }))),
    );
    await em.transactional((tx) => appendEvents(tx, [{ tenantId: b.tenantId, type: 'import.completed', data: { n: 'b' } }]));
    runner = await startWebhookRunner({ config: t.config, databaseUrl: t.databaseUrl, log: createLogger('silent') });
    await waitFor(() => hanging.received.length > 0, 5_000, "A's first delivery");
    const started = Date.now();
    await waitFor(() => healthy.received.length === 1, 20_000, "B's delivery");
    const waited = Date.now() - started;
    assert.ok(waited < 4_000, `tenant B's event waited ${waited} ms behind tenant A's hanging endpoint`);
    // A's backlog still goes on, a round per job.
    await waitFor(() => hanging.received.length > 200, 15_000, "A's later rounds");
  });
});

describe('webhook delivery: a name server that never answers', () => {
  let t: TestApp;
  let a: SeededTenant;
  let runner: WebhookRunner;

  before(async () => {
    t = await createTestApp({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOK_TIMEOUT_MS: '300' });
    a = await t.seedTenant();
  });
  after(async () => {
    await runner?.stop();
    await t.close();
  });

  it('ends the attempt at the timeout, DNS included, and records it as failed', async () => {
    // Written directly: creation would resolve the name with the system resolver.
    const [endpoint] = await t.sql(
      `insert into webhook_endpoint (id, tenant_id, url, event_types, enabled, secret, created_at)
       values (gen_random_uuid(), $1, 'http://slow-dns.example:9/hook', '{}', true, 'whsec_' || encode(decode(md5(random()::text) || md5(random()::text), 'hex'), 'base64'), now()) returning id`,
      [a.tenantId],
    );
    await t.orm.em.fork().transactional((tx) => appendEvents(tx, [{ tenantId: a.tenantId, type: 'import.completed', data: {} }]));
    runner = await startWebhookRunner({ config: t.config, databaseUrl: t.databaseUrl, log: createLogger('silent'), lookup: () => new Promise(() => undefined) });
    const [row] = await waitFor(async () => {
      const rows = await t.sql('select attempts, last_error from webhook_delivery where endpoint_id = $1 and attempts > 0', [endpoint.id]);
      return rows.length ? rows : undefined;
    }, 5_000, 'the attempt to be recorded');
    assert.match(row.last_error, /did not resolve within 300 ms/);
  });
});
