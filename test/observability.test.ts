import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { Client } from 'pg';
import type { MikroORM } from '@mikro-orm/postgresql';
import { buildApp } from '../src/app';
import { PERMISSIONS, mintToken } from '../src/auth/jwt';
import { Role, Tenant } from '../src/entities';
import { createOrm, migrate } from '../src/db/orm';
import { metrics } from '../src/http/observability';
import type { Logger } from '../src/logger';
import { BULK_INVITE, TEST_JWT_SECRET, type TestApp, createScratchDatabase, createTestApp, serverUrl, testConfig } from './helpers/harness';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('x-request-id', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  it('echoes a usable request id, and makes one up otherwise', async () => {
    const given = await t.app.server.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'edge-7f3a.1' } });
    assert.equal(given.headers['x-request-id'], 'edge-7f3a.1');
    const none = await t.app.server.inject({ method: 'GET', url: '/health' });
    assert.match(String(none.headers['x-request-id']), UUID);
    const unusable = await t.app.server.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'has spaces\tand tabs' } });
    assert.match(String(unusable.headers['x-request-id']), UUID);
    const notFound = await t.app.server.inject({ method: 'GET', url: '/nowhere', headers: { 'x-request-id': 'lost-1' } });
    assert.equal(notFound.statusCode, 404);
    assert.equal(notFound.headers['x-request-id'], 'lost-1', 'on errors too');
    const graphql = await t.app.server.inject({
      method: 'POST',
      url: '/graphql',
      headers: { 'content-type': 'application/json', 'x-request-id': 'gql-1' },
      payload: JSON.stringify({ query: '{ __typename }' }),
    });
    assert.equal(graphql.headers['x-request-id'], 'gql-1');
  });
});

describe('GET /metrics', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  const scrape = async () => {
    const response = await t.app.server.inject({ method: 'GET', url: '/metrics' });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    return response.body;
  };

  it('has the HTTP latency histogram by route and status, event-loop lag and process metrics', async () => {
    await t.app.server.inject({ method: 'GET', url: '/health' });
    await t.app.server.inject({ method: 'GET', url: '/invitations/accept?token=secret-token-value' });
    await t.app.server.inject({ method: 'GET', url: '/no/such/route/123' });
    const body = await scrape();
    assert.match(body, /^# TYPE http_request_duration_seconds histogram$/m);
    assert.match(body, /^http_request_duration_seconds_bucket\{le="\+Inf",method="GET",route="\/health",status_code="200"\} [1-9]/m);
    assert.match(body, /^http_request_duration_seconds_count\{method="GET",route="\/invitations\/accept",status_code="\d{3}"\} [1-9]/m);
    assert.match(body, /^http_request_duration_seconds_count\{method="GET",route="unmatched",status_code="404"\} [1-9]/m, 'unknown paths share one series');
    assert.doesNotMatch(body, /secret-token-value|\/no\/such\/route/);
    assert.match(body, /^nodejs_eventloop_lag_seconds [\d.e-]+$/m);
    assert.match(body, /^nodejs_eventloop_lag_p99_seconds [\d.e-]+$/m);
    assert.match(body, /^process_cpu_user_seconds_total [\d.e-]+$/m);
    assert.match(body, /^process_resident_memory_bytes \d+$/m);
  });

  it('counts the people of bulk invites by outcome code, and exports the other counters', async () => {
    const tenant = await t.seedTenant();
    const count = (body: string, code: string) => Number(new RegExp(`^bulk_invite_results_total\\{code="${code}"\\} (\\d+)$`, 'm').exec(body)?.[1] ?? 0);
    const before = await scrape();
    const users = [{ email: 'counted@example.com' }, { email: 'nope' }, { email: 'COUNTED@example.com' }];
    assert.equal((await t.gql(BULK_INVITE, { input: { users, sendEmail: false } }, tenant.token)).data.bulkInviteUsers.total, 3);
    const after = await scrape();
    assert.deepEqual(
      ['INVITED', 'INVALID_EMAIL', 'DUPLICATE_IN_BATCH'].map((code) => count(after, code) - count(before, code)),
      [1, 1, 1],
    );
    metrics.emailSendResults.inc({ result: 'sent' });
    metrics.rateLimitRefusals.inc({ limit: 'bulk_requests' });
    const body = await scrape();
    assert.match(body, /^email_send_results_total\{result="sent"\} 1$/m);
    assert.match(body, /^rate_limit_refusals_total\{limit="bulk_requests"\} 1$/m);
  });

  it('reads the email queue depth from the database at each scrape', async () => {
    const tenant = await t.seedTenant();
    const before = await scrape();
    assert.match(before, /^email_queue_depth 0$/m);
    const users = ['q1', 'q2', 'q3'].map((name) => ({ email: `${name}@example.com` }));
    const invited = await t.gql(BULK_INVITE, { input: { users, sendEmail: true } }, tenant.token);
    assert.equal(invited.data.bulkInviteUsers.successful, 3);
    // No worker runs in tests: the three emails wait in the queue.
    assert.match(await scrape(), /^email_queue_depth 3$/m);
  });
});

describe('GET /health/ready', () => {
  it('is 200 when the database answers and the migrations are applied, 503 when the database is down', async () => {
    const t = await createTestApp();
    try {
      const ready = await t.app.server.inject({ method: 'GET', url: '/health/ready' });
      assert.equal(ready.statusCode, 200);
      assert.deepEqual(ready.json(), { status: 'ready' });

      const name = new URL(t.databaseUrl).pathname.slice(1);
      const admin = new Client({ connectionString: serverUrl() });
      await admin.connect();
      await admin.query(`alter database "${name}" with allow_connections false`);
      await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [name]);
      try {
        const down = await t.app.server.inject({ method: 'GET', url: '/health/ready' });
        assert.equal(down.statusCode, 503);
        assert.deepEqual(down.json(), { status: 'unavailable', reason: 'database unavailable' });
        const metricsWhileDown = await t.app.server.inject({ method: 'GET', url: '/metrics' });
        assert.equal(metricsWhileDown.statusCode, 200, 'a scrape still answers');
      } finally {
        await admin.query(`alter database "${name}" with allow_connections true`);
        await admin.end();
      }
      const back = await t.app.server.inject({ method: 'GET', url: '/health/ready' });
      assert.equal(back.statusCode, 200, 'ready again without a restart');
    } finally {
      await t.close();
    }
  });

  it('is 503 until the migrations are applied, while /health is already 200', async () => {
    const db = await createScratchDatabase();
    const orm = await createOrm(db.url);
    const config = testConfig(db.url);
    const log = pino({ level: 'silent' }) as Logger;
    const app = await buildApp({ config, orm, log });
    try {
      const before = await app.server.inject({ method: 'GET', url: '/health/ready' });
      assert.equal(before.statusCode, 503);
      assert.match(before.json().reason, /^migrations not applied/);
      assert.equal((await app.server.inject({ method: 'GET', url: '/health' })).statusCode, 200);
      await migrate(orm, db.url, log);
      assert.equal((await app.server.inject({ method: 'GET', url: '/health/ready' })).statusCode, 200);
      // A migration recorded as applied but missing from the table (a rolled-back deploy, say) is not ready either.
      await orm.em.getConnection().execute(`delete from mikro_orm_migrations where id = (select max(id) from mikro_orm_migrations)`);
      const partial = await app.server.inject({ method: 'GET', url: '/health/ready' });
      assert.equal(partial.statusCode, 503);
      assert.match(partial.json().reason, /^migrations not applied: Migration\d+$/);
    } finally {
      await app.close();
      await orm.close();
      await db.drop();
    }
  });
});

describe('request logs', () => {
  it('one line per request with request id, route, status, duration and tenant; never the query string', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const db = await createScratchDatabase();
    const orm = await createOrm(db.url);
    const log = pino({ level: 'info', base: undefined }, sink) as Logger;
    await migrate(orm, db.url, pino({ level: 'silent' }) as Logger);
    const app = await buildApp({ config: testConfig(db.url), orm, log });
    try {
      const seed = await seedTenant(orm);
      const response = await app.server.inject({
        method: 'POST',
        url: '/graphql?token=query-secret',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${seed.token}`, 'x-request-id': 'log-test-1' },
        payload: JSON.stringify({ query: '{ roles { name } }' }),
      });
      assert.equal(response.statusCode, 200);
      await app.server.inject({ method: 'GET', url: '/invitations/accept?token=accept-secret' });

      const completed = lines.filter((line) => line.msg === 'request completed');
      const graphql = completed.find((line) => line.reqId === 'log-test-1');
      assert.ok(graphql, JSON.stringify(lines));
      assert.equal(graphql.method, 'POST');
      assert.equal(graphql.path, '/graphql');
      assert.equal(graphql.route, '/graphql');
      assert.equal(graphql.statusCode, 200);
      assert.equal(typeof graphql.durationMs, 'number');
      assert.equal(graphql.tenant, seed.tenantId);
      assert.equal(completed.filter((line) => line.reqId === 'log-test-1').length, 1, 'one line per request');
      assert.ok(completed.some((line) => line.path === '/invitations/accept'));
      const everything = JSON.stringify(lines);
      assert.doesNotMatch(everything, /query-secret|accept-secret/, 'query strings are never logged');
      assert.doesNotMatch(everything, new RegExp(seed.token.split('.')[2]), 'tokens are never logged');
    } finally {
      await app.close();
      await orm.close();
      await db.drop();
    }
  });
});

/** A tenant and a token for it, on an app built by hand (createTestApp's seeding needs a TestApp). */
async function seedTenant(orm: MikroORM) {
  const em = orm.em.fork();
  const tenant = em.create(Tenant, { name: 'Logs' });
  em.create(Role, { tenant, name: 'Admin' });
  await em.flush();
  const token = mintToken({ secret: TEST_JWT_SECRET, subject: 'logger', tenantId: tenant.id, permissions: PERMISSIONS, expiresInSeconds: 600 });
  return { tenantId: tenant.id, token };
}
