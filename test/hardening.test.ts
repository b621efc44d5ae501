import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getIntrospectionQuery } from 'graphql';
import { User } from '../src/entities';
import { BULK_INVITE, type SeededTenant, type TestApp, createTestApp } from './helpers/harness';

describe('rate limits per tenant', () => {
  let t: TestApp;
  let a: SeededTenant;
  let b: SeededTenant;

  before(async () => {
    t = await createTestApp({ BULK_INVITE_RATE_LIMIT: '3', BULK_INVITE_RATE_WINDOW_MS: '60000' });
    a = await t.seedTenant('A');
    b = await t.seedTenant('B');
  });
  after(() => t.close());

  it('answers RATE_LIMITED (GraphQL) and 429 with Retry-After (both REST formats) past the limit, per tenant', async () => {
    const users = [{ email: 'someone@example.com' }];
    for (let i = 0; i < 3; i++) {
      const res = await t.gql(BULK_INVITE, { input: { users, dryRun: true } }, a.token);
      assert.equal(res.errors, undefined);
    }
    const limited = await t.gql(BULK_INVITE, { input: { users } }, a.token);
    assert.equal(limited.errors?.[0].extensions?.code, 'RATE_LIMITED');
    const royalti = await t.post('/user/bulk', { users }, a.token);
    assert.equal(royalti.status, 429);
    assert.ok(Number(royalti.headers['retry-after']) > 0);
    assert.deepEqual(Object.keys(royalti.body), ['message']);
    const aptlydone = await t.post('/auth/v1/user/bulk-invite', { users }, a.token);
    assert.equal(aptlydone.status, 429);
    assert.equal(aptlydone.body.statusCode, 429);
    assert.equal((await t.sql(`select count(*)::int as n from users where email_normalized = 'someone@example.com'`))[0].n, 0);

    const otherTenant = await t.gql(BULK_INVITE, { input: { users } }, b.token);
    assert.equal(otherTenant.data.bulkInviteUsers.successful, 1, 'another tenant has its own budget');
  });

  it('counts a token whose tenantId is in upper case against the same tenant budget', async () => {
    const c = await t.seedTenant('C');
    const upper = t.token({ tenantId: c.tenantId.toUpperCase() });
    const users = [{ email: 'upper@example.com' }];
    for (const token of [c.token, upper, c.token]) {
      const res = await t.gql(BULK_INVITE, { input: { users, dryRun: true } }, token);
      assert.equal(res.errors, undefined);
    }
    for (const token of [upper, c.token]) {
      const limited = await t.gql(BULK_INVITE, { input: { users, dryRun: true } }, token);
      assert.equal(limited.errors?.[0].extensions?.code, 'RATE_LIMITED', 'one bucket, whatever the spelling');
    }
  });
});

describe('GraphQL protection', () => {
  let t: TestApp;
  let prod: TestApp;
  let a: SeededTenant;

  before(async () => {
    t = await createTestApp();
    prod = await createTestApp({ NODE_ENV: 'production', POSTMARK_SERVER_TOKEN: 'x', POSTMARK_API_URL: 'http://127.0.0.1:9', PUBLIC_URL: 'https://invites.example.com', POSTMARK_FROM: 'invites@example.com' });
    a = await t.seedTenant('A');
  });
  after(async () => {
    await t.close();
    await prod.close();
  });

  const raw = (app: TestApp, payload: unknown, token?: string) =>
    app.app.server.inject({
      method: 'POST',
      url: '/graphql',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      payload: JSON.stringify(payload),
    });

  it('refuses abusive operations with a GraphQL error and a status below 500, before any resolver runs', async () => {
    const token = prod.token({ tenantId: a.tenantId });
    const cases: Array<[string, string]> = [
      ['hundreds of aliases', `{ ${Array.from({ length: 200 }, (_, i) => `a${i}: roles { id }`).join(' ')} }`],
      ['many directives', `{ roles { id ${'@include(if: true) '.repeat(60)} } }`],
      ['a huge document', `{ roles { ${'id '.repeat(6000)} } }`],
      ['nesting deeper than 8', `{ invitations { nodes { id } } a: __type(name: "X") { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } }`],
    ];
    for (const [what, query] of cases) {
      const res = await raw(prod, { query }, token);
      assert.ok(res.statusCode < 500, `${what}: status ${res.statusCode}`);
      const body = res.json();
      assert.ok(body.errors?.length, `${what}: refused`);
      assert.equal(body.data, undefined, `${what}: refused before execution`);
    }
  });

  it('refuses batched operation lists', async () => {
    const res = await raw(t, Array.from({ length: 50 }, () => ({ query: '{ roles { id } }' })), a.token);
    assert.equal(res.statusCode, 400);
  });

  it('serves introspection, Sandbox and the local GraphiQL in development, none of them in production', async () => {
    const dev = await raw(t, { query: getIntrospectionQuery() });
    assert.ok(dev.json().data.__schema.types.length > 10, 'Sandbox needs introspection');
    const page = await t.app.server.inject({ method: 'GET', url: '/graphql', headers: { accept: 'text/html' } });
    assert.match(page.body, /sandbox/i);
    assert.match(page.body, /<a href="\/graphiql">/, 'the landing page links to the local explorer');
    const graphiql = await t.app.server.inject({ method: 'GET', url: '/graphiql' });
    assert.equal(graphiql.statusCode, 200);
    assert.match(String(graphiql.headers['content-security-policy']), /script-src 'self';.*connect-src 'self'/);
    assert.equal((await t.app.server.inject({ method: 'GET', url: '/graphiql/assets/graphiql.js' })).statusCode, 200);
    assert.equal((await t.app.server.inject({ method: 'GET', url: '/graphiql/assets/..%2Fpackage.json' })).statusCode, 404);

    const production = await raw(prod, { query: getIntrospectionQuery() });
    assert.ok(production.statusCode < 500);
    assert.ok(production.json().errors?.length);
    const prodPage = await prod.app.server.inject({ method: 'GET', url: '/graphql', headers: { accept: 'text/html' } });
    assert.doesNotMatch(prodPage.body, /embeddable-sandbox|sandbox\.embed/i);
    const mailbox = await prod.app.server.inject({ method: 'GET', url: '/dev/mailbox' });
    assert.equal(mailbox.statusCode, 404, 'no dev mailbox in production');
    assert.doesNotMatch(prodPage.body, /graphiql/i);
    assert.equal((await prod.app.server.inject({ method: 'GET', url: '/graphiql' })).statusCode, 404, 'no local explorer in production');
  });

  it('answers a malformed cursor as BAD_USER_INPUT, not as an internal error', async () => {
    const res = await t.gql('{ invitations(after: "bm90LWEtY3Vyc29y") { totalCount } }', {}, a.token);
    assert.equal(res.errors?.[0].extensions?.code, 'BAD_USER_INPUT', 'a bad cursor is the caller’s mistake');
  });

  it('answers crafted cursors (dates PostgreSQL cannot store, garbage, huge) as BAD_USER_INPUT, logging no error', async () => {
    const id = '3f1e2d4c-5b6a-4789-9abc-def012345678';
    const b64 = (text: string) => Buffer.from(text).toString('base64url');
    const crafted = [
      b64(`+275760-09-14T00:00:00.001Z|${id}`),
      b64(`+275760-09-13T00:00:00.000Z|${id}`),
      b64(`-271821-04-20T00:00:00.000Z|${id}`),
      b64(`99999|${id}`),
      b64(`0000-01-01T00:00:00.000Z|${id}`),
      b64(`2024-01-01T00:00:00.000Z|${id}' or 1=1 --`),
      '%%%not base64%%%',
      'QUFB'.repeat(50_000),
    ];
    // The app's logger: an internal error would be logged here, with the failing SQL.
    const log = t.app.contextDeps.log;
    const logged: unknown[] = [];
    const spy = (...args: unknown[]) => void logged.push(args);
    const { error, fatal } = log;
    Object.assign(log, { error: spy, fatal: spy });
    try {
      for (const after of crafted) {
        const res = await t.gql('query($after: String) { invitations(after: $after) { totalCount } }', { after }, a.token);
        assert.equal(res.errors?.[0].extensions?.code, 'BAD_USER_INPUT', after.slice(0, 60));
        assert.doesNotMatch(res.errors![0].message, /select|timestamp|out of range/i);
      }
    } finally {
      Object.assign(log, { error, fatal });
    }
    assert.deepEqual(logged, []);
    const valid = await t.gql('query($after: String) { invitations(after: $after) { totalCount } }', { after: b64(`2024-01-01T00:00:00.000Z|${id.toUpperCase()}`) }, a.token);
    assert.equal(valid.errors, undefined, 'a well-formed cursor, upper-case id included, still works');
  });
});

describe('per-tenant email cap', () => {
  let t: TestApp;
  let a: SeededTenant;

  before(async () => {
    t = await createTestApp({ EMAILS_PER_TENANT_PER_HOUR: '3' });
    a = await t.seedTenant('Capped');
  });
  after(() => t.close());

  it('creates every invitation, and past the cap marks the emails FAILED with the reason instead of dropping them', async () => {
    const users = Array.from({ length: 5 }, (_, i) => ({ email: `cap-${i}@example.com` }));
    const res = await t.gql(
      `mutation($input: BulkInviteUsersInput!) { bulkInviteUsers(input: $input) { successful results { ... on UserInvited { invitation { id emailStatus emailError } } } } }`,
      { input: { users } },
      a.token,
    );
    assert.equal(res.data.bulkInviteUsers.successful, 5);
    const statuses = res.data.bulkInviteUsers.results.map((r: { invitation: { emailStatus: string } }) => r.invitation.emailStatus);
    assert.deepEqual(statuses, ['QUEUED', 'QUEUED', 'QUEUED', 'FAILED', 'FAILED']);
    assert.match(res.data.bulkInviteUsers.results[4].invitation.emailError, /cap/i);
    const rows = await t.sql(`select email_status, count(*)::int as n from invitation group by 1 order by 1`);
    assert.deepEqual(rows, [
      { email_status: 'FAILED', n: 2 },
      { email_status: 'QUEUED', n: 3 },
    ]);
    const resend = await t.gql('mutation($id: ID!) { resendInvitation(id: $id) { id } }', { id: res.data.bulkInviteUsers.results[4].invitation.id }, a.token);
    assert.equal(resend.errors?.[0].extensions?.code, 'RATE_LIMITED');
    const quiet = await t.gql(BULK_INVITE, { input: { users: [{ email: 'quiet@example.com' }], sendEmail: false } }, a.token);
    assert.equal(quiet.data.bulkInviteUsers.results[0].invitation.emailStatus, 'NOT_REQUESTED', 'no email, no cap');
  });
});

describe('text PostgreSQL cannot store', () => {
  let t: TestApp;
  let a: SeededTenant;
  before(async () => {
    t = await createTestApp();
    a = await t.seedTenant('Nul');
  });
  after(() => t.close());

  it('refuses NUL and other control characters in shared fields as BAD_USER_INPUT, not as a server error', async () => {
    for (const extra of [{ message: 'hi\u0000there' }, { idempotencyKey: 'k\u0000' }, { redirectUrl: 'https://ok.example.com/\u0000' }]) {
      const res = await t.gql(BULK_INVITE, { input: { users: [{ email: 'nul@example.com' }], ...extra } }, a.token);
      assert.equal(res.errors?.[0].extensions?.code, 'BAD_USER_INPUT', JSON.stringify(extra));
    }
    const ok = await t.gql(BULK_INVITE, { input: { users: [{ email: 'nul@example.com', firstName: 'A\u0000' }, { email: 'tab@example.com' }], message: 'line\n\tbreaks' } }, a.token);
    assert.deepEqual(ok.data.bulkInviteUsers.results.map((r: { code?: string }) => r.code ?? 'OK'), ['INVALID_INPUT', 'OK']);
  });
});

describe('names that change how text is displayed', () => {
  let t: TestApp;
  let a: SeededTenant;
  before(async () => {
    t = await createTestApp();
    a = await t.seedTenant('Names');
  });
  after(() => t.close());

  const tricky = ['\u202e', '\u2028', '\u2029', '\u0085', '\u200e', '\u200f', '\u2066', '\u2067', '\u2068', '\u2069', '\u0000', '\n', '\u001b', '\u007f', '\u009b'];

  it('refuses them in tenant, role, group and position names as BAD_USER_INPUT, and writes nothing', async () => {
    const platform = t.token({ permissions: ['tenants:create'] });
    const mutations: Array<[string, string, string]> = [
      ['createTenant', 'name', platform],
      ['createRole', 'name', a.token],
      ['createGroup', 'name', a.token],
      ['createPosition', 'title', a.token],
    ];
    for (const [mutation, field, token] of mutations) {
      for (const c of tricky) {
        const res = await t.gql(`mutation($v: String!) { ${mutation}(input: {${field}: $v}) { id } }`, { v: `Acme${c}Corp` }, token);
        assert.equal(res.errors?.[0].extensions?.code, 'BAD_USER_INPUT', `${mutation} with U+${c.codePointAt(0)!.toString(16)}`);
      }
    }
    const [row] = await t.sql(
      `select (select count(*) from tenant where name like 'Acme%') + (select count(*) from role where name like 'Acme%')
            + (select count(*) from tenant_group where name like 'Acme%') + (select count(*) from position where title like 'Acme%') as n`,
    );
    assert.equal(Number(row.n), 0);
    const plain = await t.gql('mutation { createTenant(input: {name: "Acme Zoë 株式会社"}) { name } }', {}, platform);
    assert.equal(plain.data.createTenant.name, 'Acme Zoë 株式会社', 'ordinary Unicode is fine');
  });
});

describe('security headers and ids across tenants', () => {
  let t: TestApp;
  let a: SeededTenant;
  let b: SeededTenant;

  before(async () => {
    t = await createTestApp();
    a = await t.seedTenant('A');
    b = await t.seedTenant('B');
  });
  after(() => t.close());

  it('sends security headers on the HTML pages', async () => {
    const res = await t.app.server.inject({ method: 'GET', url: '/invitations/accept?token=nope' });
    assert.equal(res.statusCode, 410);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.ok(res.headers['strict-transport-security']);
    assert.match(String(res.headers['content-security-policy']), /default-src 'none'/);
  });

  it('treats the id of a person who belongs only to another tenant as unknown, so their email never leaks', async () => {
    const inB = await t.gql(BULK_INVITE, { input: { users: [{ email: 'private@example.com' }] } }, b.token);
    const bUserId = inB.data.bulkInviteUsers.results[0].user.id;
    const em = t.orm.em.fork();
    const bare = em.create(User, { email: 'Fresh@Example.com', emailNormalized: 'fresh@example.com' });
    await em.flush();
    const inA = await t.gql(BULK_INVITE, { input: { users: [{ existingUserId: bUserId }, { existingUserId: bare.id }] } }, a.token);
    const [hidden, fresh] = inA.data.bulkInviteUsers.results;
    assert.equal(hidden.code, 'UNKNOWN_USER');
    assert.equal(hidden.email, null);
    assert.doesNotMatch(JSON.stringify(inA), /private@example\.com/);
    assert.equal(fresh.__typename, 'UserInvited');
    assert.equal(fresh.email, 'Fresh@Example.com');
    assert.equal(fresh.existingUser, true);
    const byEmail = await t.gql(BULK_INVITE, { input: { users: [{ email: 'private@example.com' }] } }, a.token);
    assert.equal(byEmail.data.bulkInviteUsers.results[0].existingUser, true, 'by email, the person joins this tenant too');
  });
});
