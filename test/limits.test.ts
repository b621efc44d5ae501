import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'pg';
import { createLogger } from '../src/logger';
import { drainInvitationEmails } from '../src/mail/email-worker';
import { DevMailboxSender } from '../src/mail/email-sender';
import { BULK_INVITE, type SeededTenant, type TestApp, createTestApp } from './helpers/harness';
import { tokenFromMailbox } from './helpers/mailbox';

describe('reads: page size and cost with variables', () => {
  let t: TestApp;
  let a: SeededTenant;

  before(async () => {
    t = await createTestApp();
    a = await t.seedTenant('Reader');
  });
  after(() => t.close());

  it('answers first above 500 with BAD_USER_INPUT, literal or variable, and serves 500', async () => {
    for (const [query, variables] of [
      ['{ invitations(first: 501) { totalCount } }', {}],
      ['{ invitations(first: 100000) { nodes { id email } } }', {}],
      ['query($n: Int) { invitations(first: $n) { totalCount } }', { n: 501 }],
      ['query($n: Int) { invitations(first: $n) { nodes { id email status } } }', { n: 1_000_000 }],
      ['query($n: Int = 9999) { invitations(first: $n) { totalCount } }', {}],
    ] as const) {
      const res = await t.gql(query, variables, a.token);
      assert.equal(res.status, 400, query);
      assert.equal(res.errors?.[0].extensions?.code, 'BAD_USER_INPUT', `${query}: ${JSON.stringify(res.errors)}`);
      assert.match(res.errors![0].message, /first must be between 0 and 500/);
      assert.equal(res.data, undefined);
    }
    const literal = await t.gql('{ invitations(first: 500) { totalCount } }', {}, a.token);
    assert.equal(literal.errors, undefined);
    const variable = await t.gql('query($n: Int) { invitations(first: $n) { totalCount } }', { n: 500 }, a.token);
    assert.equal(variable.errors, undefined);
  });

  it('prices first from variables as from literals: a page size in a variable does not get past the cost limit', async () => {
    const fields = 'id email status emailStatus emailError expiresAt createdAt redirectUrl';
    const heavy = (first: string) => `query($n: Int) { a: invitations(first: ${first}) { nodes { ${fields} } } b: invitations(first: ${first}) { nodes { ${fields} } } }`;
    const viaVariable = await t.gql(heavy('$n'), { n: 500 }, a.token);
    assert.equal(viaVariable.status, 400);
    assert.equal(viaVariable.errors?.[0].extensions?.code, 'GRAPHQL_VALIDATION_FAILED', JSON.stringify(viaVariable.errors));
    assert.match(viaVariable.errors![0].message, /cost limit/i);
    const viaLiteral = await t.gql(heavy('500'), {}, a.token);
    assert.equal(viaLiteral.errors?.[0].extensions?.code, 'GRAPHQL_VALIDATION_FAILED', 'the same price whichever way first is given');
    const small = await t.gql(heavy('$n'), { n: 20 }, a.token);
    assert.equal(small.errors, undefined, JSON.stringify(small.errors));
  });
});

describe('reads: per-tenant rate limit', () => {
  let t: TestApp;
  let a: SeededTenant;
  let b: SeededTenant;

  before(async () => {
    // A day-long window: the test cannot straddle two windows.
    t = await createTestApp({ READ_RATE_LIMIT: '3', READ_RATE_WINDOW_MS: String(24 * 3600_000) });
    a = await t.seedTenant('Busy');
    b = await t.seedTenant('Quiet');
  });
  after(() => t.close());

  it('refuses the query past the limit with RATE_LIMITED, 429 and Retry-After; other tenants and mutations are not counted', async () => {
    for (let i = 0; i < 3; i++) {
      assert.equal((await t.gql('{ roles { id } }', {}, a.token)).errors, undefined);
    }
    const mutation = await t.gql(BULK_INVITE, { input: { users: [{ email: 'x@example.com' }], dryRun: true } }, a.token);
    assert.equal(mutation.errors, undefined, 'mutations are not reads');

    const response = await t.app.server.inject({
      method: 'POST',
      url: '/graphql',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.token({ tenantId: a.tenantId.toUpperCase() })}` },
      payload: JSON.stringify({ query: '{ roles { id } }' }),
    });
    assert.equal(response.statusCode, 429);
    const body = response.json();
    assert.equal(body.errors[0].extensions.code, 'RATE_LIMITED', 'an upper-case tenantId shares the bucket');
    assert.ok(body.errors[0].extensions.retryAfterSeconds > 0);
    assert.equal(response.headers['retry-after'], String(body.errors[0].extensions.retryAfterSeconds));
    assert.equal(body.data, undefined);

    assert.equal((await t.gql('{ roles { id } }', {}, b.token)).errors, undefined, 'another tenant has its own budget');
    const [row] = await t.sql(`select sum(used)::int as used from rate_limit_usage where tenant_id = $1 and bucket = 'read_requests'`, [a.tenantId]);
    assert.equal(row.used, 3, 'the refused query took nothing');
  });
});

describe('large bodies without a valid bearer token', () => {
  let t: TestApp;
  let a: SeededTenant;
  let pool: Pool;
  let port: number;
  const sockets: Socket[] = [];
  const EIGHT_MB = 8 * 1024 * 1024;

  before(async () => {
    t = await createTestApp();
    a = await t.seedTenant('Bodies');
    pool = new Pool({ connectionString: t.databaseUrl, max: 2 });
    t.app.server.server.on('connection', (socket: Socket) => sockets.push(socket));
    await t.app.server.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.server.address() as { port: number }).port;
  });
  after(async () => {
    await pool.end();
    await t.close();
  });

  /**
   * Sends the head of a request, then its body in chunks for as long as the server lets it, and resolves with the
   * server's answer and how many bytes the server's socket read in total.
   */
  function send(options: { path: string; headers: Record<string, string>; body: Buffer; chunked?: boolean }) {
    return new Promise<{ status: number; headers: string; body: string; serverBytesRead: number; ms: number }>((resolve, reject) => {
      const started = performance.now();
      const before = sockets.length;
      const socket = connect(port, '127.0.0.1');
      let received = '';
      let answered = false;
      const head = [
        `POST ${options.path} HTTP/1.1`,
        'host: 127.0.0.1',
        ...Object.entries(options.headers).map(([k, v]) => `${k}: ${v}`),
        options.chunked ? 'transfer-encoding: chunked' : `content-length: ${options.body.length}`,
        '',
        '',
      ].join('\r\n');
      socket.on('error', () => undefined); // the server closes while we still write: expected
      socket.on('data', (chunk) => {
        received += chunk.toString();
        answered = true;
      });
      const timer = setTimeout(() => socket.destroy(new Error('no answer within 60 s')), 60_000);
      socket.on('close', () => {
        clearTimeout(timer);
        const server = sockets[before];
        const match = /^HTTP\/1\.1 (\d+)[^\r]*\r\n([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(received);
        if (!match) return reject(new Error(`no HTTP answer: ${received.slice(0, 200)}`));
        let body = match[3];
        if (/transfer-encoding: chunked/i.test(match[2])) body = body.replace(/^[0-9a-f]+\r\n/i, '').replace(/\r\n0\r\n\r\n$/, '');
        resolve({ status: Number(match[1]), headers: match[2], body, serverBytesRead: server?.bytesRead ?? -1, ms: performance.now() - started });
      });
      socket.write(head);
      const piece = 64 * 1024;
      let offset = 0;
      const pump = () => {
        while (!answered && offset < options.body.length) {
          const slice = options.body.subarray(offset, offset + piece);
          offset += slice.length;
          const framed = options.chunked ? Buffer.concat([Buffer.from(`${slice.length.toString(16)}\r\n`), slice, Buffer.from('\r\n')]) : slice;
          if (!socket.write(framed)) return void socket.once('drain', pump);
        }
        // No end(): a half-closed socket would abort the request; every request here asks the server to close.
        if (!answered && options.chunked) socket.write('0\r\n\r\n');
      };
      pump();
    });
  }

  const bigGraphQLBody = () => {
    const users = Array.from({ length: Math.ceil(EIGHT_MB / 40) }, (_, i) => ({ email: `person-${i}@example.com` }));
    return Buffer.from(JSON.stringify({ query: BULK_INVITE, variables: { input: { users, dryRun: true } } })).subarray(0, EIGHT_MB);
  };

  it('refuses an 8 MB anonymous body with 401 at once, reading almost none of it, on GraphQL and both REST shims', async () => {
    const body = bigGraphQLBody();
    const cases: Array<{ path: string; headers: Record<string, string>; chunked?: boolean }> = [
      { path: '/graphql', headers: { 'content-type': 'application/json' } },
      { path: '/graphql', headers: { 'content-type': 'application/json' }, chunked: true },
      { path: '/graphql', headers: { 'content-type': 'application/json', authorization: 'Bearer not.a.token' } },
      { path: '/user/bulk', headers: { 'content-type': 'application/json' } },
      { path: '/auth/v1/user/bulk-invite', headers: { 'content-type': 'application/json' }, chunked: true },
    ];
    for (const c of cases) {
      const res = await send({ ...c, body });
      const what = `${c.path}${c.chunked ? ' (chunked)' : ''}${c.headers.authorization ? ' (invalid token)' : ''}`;
      assert.equal(res.status, 401, `${what}: ${res.body}`);
      assert.match(res.headers, /connection: close/i, what);
      assert.ok(res.serverBytesRead < 1024 * 1024, `${what}: the server read ${res.serverBytesRead} bytes of an 8 MB request`);
      assert.ok(res.ms < 5_000, `${what}: answered in ${Math.round(res.ms)} ms`);
      console.log(`${what}: 401 in ${Math.round(res.ms)} ms, the server read ${res.serverBytesRead} bytes`);
      const json = JSON.parse(res.body);
      if (c.path === '/graphql') assert.equal(json.errors[0].extensions.code, 'UNAUTHENTICATED', what);
      else if (c.path === '/user/bulk') assert.deepEqual(Object.keys(json), ['message'], 'royalti envelope');
      else assert.equal(json.statusCode, 401, 'aptlydone envelope');
    }
  });

  it('keeps serving anonymous acceptInvitation (declared length and chunked) and big bodies with a valid token', async () => {
    const deliver = async () => {
      const deps = { config: t.config, sender: new DevMailboxSender(), log: createLogger('silent') };
      await drainInvitationEmails(deps, {
        withPgClient: async (fn) => {
          const client = await pool.connect();
          try {
            return await fn(client as never);
          } finally {
            client.release();
          }
        },
      });
    };
    const emails = ['accept-length@example.com', 'accept-chunked@example.com'];
    const invited = await t.gql(BULK_INVITE, { input: { users: emails.map((email) => ({ email })) } }, a.token);
    assert.equal(invited.data.bulkInviteUsers.successful, 2);
    await deliver();
    for (const [i, email] of emails.entries()) {
      const token = await tokenFromMailbox(t, email);
      const body = Buffer.from(JSON.stringify({ query: 'mutation($t: String!) { acceptInvitation(token: $t) { invitation { status } } }', variables: { t: token } }));
      const res = await send({ path: '/graphql', headers: { 'content-type': 'application/json', connection: 'close' }, body, chunked: i === 1 });
      assert.equal(res.status, 200, res.body);
      assert.equal(JSON.parse(res.body).data.acceptInvitation.invitation.status, 'ACCEPTED');
    }

    const users = Array.from({ length: 3000 }, (_, i) => ({ email: `big-${i}@example.com`, firstName: 'Big', lastName: 'Request' }));
    const big = Buffer.from(JSON.stringify({ query: BULK_INVITE, variables: { input: { users, dryRun: true } } }));
    assert.ok(big.length > 2 * 64 * 1024);
    for (const chunked of [false, true]) {
      const res = await send({
        path: '/graphql',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${a.token}`, connection: 'close' },
        body: big,
        chunked,
      });
      assert.equal(res.status, 200, res.body.slice(0, 300));
      assert.equal(JSON.parse(res.body).data.bulkInviteUsers.total, 3000);
    }
    const rest = await send({
      path: '/user/bulk',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${a.token}`, connection: 'close' },
      body: Buffer.from(JSON.stringify({ users: users.slice(0, 1500), sendEmail: false })),
    });
    assert.equal(rest.status, 200, rest.body.slice(0, 300));
    assert.equal(JSON.parse(rest.body).processedCount, 1500);
  });
});
