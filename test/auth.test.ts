import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import { BULK_INVITE, TEST_JWT_SECRET, type TestApp, createTestApp } from './helpers/harness';

const ROLES = '{ roles { id name } }';
const ISSUER = 'https://issuer.test';
const AUDIENCE = 'bulk-invite';

function b64(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Hand-made tokens, for the cases jsonwebtoken refuses to produce; `edit` rewrites the payload JSON text. */
function handMade(header: object, payload: object, sign?: (input: string) => string, edit: (json: string) => string = (json) => json): string {
  const input = `${b64(header)}.${Buffer.from(edit(JSON.stringify(payload))).toString('base64url')}`;
  return `${input}.${sign ? sign(input) : ''}`;
}

describe('JWT authentication (HS256, iss and aud pinned)', () => {
  let t: TestApp;
  let tenantId: string;
  const claims = () => ({ sub: 'u1', tenantId, permissions: ['users:read'] });
  const sign = (payload: object, options: jwt.SignOptions & { noExp?: boolean } = {}, secret = TEST_JWT_SECRET) => {
    const { noExp, ...rest } = options;
    const base: jwt.SignOptions = { algorithm: 'HS256', issuer: ISSUER, audience: AUDIENCE, ...(noExp ? {} : { expiresIn: 600 }) };
    return jwt.sign(payload, secret, { ...base, ...rest });
  };

  before(async () => {
    t = await createTestApp({ JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
    tenantId = (await t.seedTenant()).tenantId;
  });
  after(() => t.close());

  it('accepts a valid token (control)', async () => {
    const res = await t.gql(ROLES, {}, sign(claims()));
    assert.equal(res.errors, undefined);
    assert.deepEqual(res.data.roles.map((r: { name: string }) => r.name), ['Admin', 'Member']);
  });

  const refused: Array<[string, () => Record<string, string>]> = [
    ['no Authorization header', () => ({})],
    ['a malformed header', () => ({ authorization: 'Token abc' })],
    ['"Bearer" with no token', () => ({ authorization: 'Bearer ' })],
    ['a token that is not a JWT', () => ({ authorization: 'Bearer not-a-jwt' })],
    ['a bad signature', () => ({ authorization: `Bearer ${sign(claims(), {}, 'another-secret-that-is-32-bytes-long!!')}` })],
    [
      'alg: none',
      () => ({
        authorization: `Bearer ${handMade({ alg: 'none', typ: 'JWT' }, { ...claims(), iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 600 })}`,
      }),
    ],
    ['an expired token', () => ({ authorization: `Bearer ${sign({ ...claims(), exp: Math.floor(Date.now() / 1000) - 10 }, { noExp: true })}` })],
    ['a token without exp', () => ({ authorization: `Bearer ${sign(claims(), { noExp: true })}` })],
    ['a wrong iss', () => ({ authorization: `Bearer ${sign(claims(), { issuer: 'https://evil.test' })}` })],
    ['a wrong aud', () => ({ authorization: `Bearer ${sign(claims(), { audience: 'other-service' })}` })],
    ['a HS384 token (algorithm not pinned)', () => ({ authorization: `Bearer ${sign(claims(), { algorithm: 'HS384' })}` })],
    ['a tenantId that is not a UUID', () => ({ authorization: `Bearer ${sign({ ...claims(), tenantId: "x' or 1=1" })}` })],
    ['a tenantId of a tenant that does not exist', () => ({ authorization: `Bearer ${sign({ ...claims(), tenantId: randomUUID() })}` })],
    ['an iat two minutes in the future', () => ({ authorization: `Bearer ${sign({ ...claims(), iat: Math.floor(Date.now() / 1000) + 120 })}` })],
    [
      'a non-numeric iat',
      () => ({
        authorization: `Bearer ${handMade(
          { alg: 'HS256', typ: 'JWT' },
          { ...claims(), iss: ISSUER, aud: AUDIENCE, iat: 'now', exp: Math.floor(Date.now() / 1000) + 600 },
          (input) => createHmac('sha256', TEST_JWT_SECRET).update(input).digest('base64url'),
        )}`,
      }),
    ],
    [
      'an exp of 1e400 (Infinity)',
      () => ({
        authorization: `Bearer ${handMade(
          { alg: 'HS256', typ: 'JWT' },
          { ...claims(), iss: ISSUER, aud: AUDIENCE, exp: 0 },
          (input) => createHmac('sha256', TEST_JWT_SECRET).update(input).digest('base64url'),
          (json) => json.replace('"exp":0', '"exp":1e400'),
        )}`,
      }),
    ],
    ['a sub with NUL', () => ({ authorization: `Bearer ${sign({ ...claims(), sub: 'u\u00001' })}` })],
    ['a sub with a line break', () => ({ authorization: `Bearer ${sign({ ...claims(), sub: 'u1\r\nadmin' })}` })],
    ['a sub of 256 characters', () => ({ authorization: `Bearer ${sign({ ...claims(), sub: 'u'.repeat(256) })}` })],
    ['a numeric sub', () => ({ authorization: `Bearer ${sign({ ...claims(), sub: 12 })}` })],
  ];

  for (const [name, headers] of refused) {
    it(`refuses ${name} as UNAUTHENTICATED (GraphQL and REST)`, async () => {
      const gql = await t.app.server.inject({
        method: 'POST',
        url: '/graphql',
        headers: { 'content-type': 'application/json', ...headers() },
        payload: JSON.stringify({ query: ROLES }),
      });
      const body = gql.json();
      assert.equal(body.data, null);
      assert.equal(body.errors[0].extensions.code, 'UNAUTHENTICATED');
      const rest = await t.app.server.inject({
        method: 'POST',
        url: '/user/bulk',
        headers: { 'content-type': 'application/json', ...headers() },
        payload: JSON.stringify({ users: [{ email: 'x@example.com' }] }),
      });
      assert.equal(rest.statusCode, 401);
      assert.deepEqual(Object.keys(rest.json()), ['message']);
    });
  }

  it('serves the same tenant to a token whose tenantId is in upper case', async () => {
    const res = await t.gql(ROLES, {}, sign({ ...claims(), tenantId: tenantId.toUpperCase() }));
    assert.equal(res.errors, undefined);
    assert.deepEqual(res.data.roles.map((r: { name: string }) => r.name), ['Admin', 'Member']);
    const created = await t.gql('mutation { createRole(input: {name: "Upper"}) { id } }', {}, sign({ sub: 'u1', tenantId: tenantId.toUpperCase(), permissions: ['tenant:admin'] }));
    assert.equal(created.errors, undefined);
    assert.deepEqual(await t.sql('select tenant_id from role where name = $1', ['Upper']), [{ tenant_id: tenantId }]);
  });

  it('answers UNAUTHENTICATED / 401 to a validly signed token of a tenant that does not exist, and writes nothing', async () => {
    const missing = randomUUID();
    const token = sign({ sub: 'u1', tenantId: missing, permissions: ['users:invite', 'users:read', 'tenant:admin'] });
    const role = await t.gql('mutation { createRole(input: {name: "Ghost"}) { id } }', {}, token);
    assert.equal(role.errors?.[0].extensions?.code, 'UNAUTHENTICATED');
    const invite = await t.gql(BULK_INVITE, { input: { users: [{ email: 'ghost@example.com' }] } }, token);
    assert.equal(invite.errors?.[0].extensions?.code, 'UNAUTHENTICATED');
    const royalti = await t.post('/user/bulk', { users: [{ email: 'ghost@example.com' }] }, token);
    assert.equal(royalti.status, 401);
    assert.deepEqual(Object.keys(royalti.body), ['message']);
    const aptlydone = await t.post('/auth/v1/user/bulk-invite', { tenantId: missing, users: [{ firstName: 'G', lastName: 'H', email: 'ghost@example.com' }] }, token);
    assert.equal(aptlydone.status, 401);
    assert.equal(aptlydone.body.statusCode, 401);
    assert.equal((await t.sql(`select count(*)::int as n from users where email_normalized = 'ghost@example.com'`))[0].n, 0);
    assert.equal((await t.sql(`select count(*)::int as n from role where name = 'Ghost'`))[0].n, 0);

    // Once the tenant exists the same token works at once: a missing tenant is not remembered.
    await t.sql('insert into tenant (id, name, created_at) values ($1, $2, now())', [missing, 'Late']);
    const later = await t.gql('mutation { createRole(input: {name: "Ghost"}) { id } }', {}, token);
    assert.equal(later.errors, undefined);
  });

  it('answers FORBIDDEN to a valid token lacking the permission', async () => {
    const token = sign({ sub: 'u1', tenantId, permissions: ['users:read'] });
    const res = await t.gql('mutation { createRole(input: {name: "X"}) { id } }', {}, token);
    assert.equal(res.errors?.[0].extensions?.code, 'FORBIDDEN');
    const rest = await t.post('/auth/v1/user/bulk-invite', { users: [{ email: 'x@example.com' }] }, token);
    assert.equal(rest.status, 403);
    assert.equal(rest.body.statusCode, 403);
    assert.equal((await t.sql('select count(*)::int as n from role where name = $1', ['X']))[0].n, 0);
  });

  it('lets a platform token without tenant create tenants, and nothing tenant-scoped', async () => {
    const platform = sign({ sub: 'ops', permissions: ['tenants:create'] });
    const created = await t.gql('mutation { createTenant(input: {name: "Acme"}) { id name } }', {}, platform);
    assert.equal(created.data.createTenant.name, 'Acme');
    const roles = await t.gql(ROLES, {}, platform);
    assert.equal(roles.errors?.[0].extensions?.code, 'FORBIDDEN');
  });
});

describe('JWT authentication with JWT_PUBLIC_KEY (RS256)', () => {
  let t: TestApp;
  let tenantId: string;
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });

  before(async () => {
    t = await createTestApp({ JWT_PUBLIC_KEY: publicKey, JWT_SECRET: '' });
    tenantId = (await t.seedTenant()).tenantId;
  });
  after(() => t.close());

  it('accepts an RS256 token signed with the private key (control)', async () => {
    const token = jwt.sign({ tenantId, permissions: ['users:read'] }, privateKey, { algorithm: 'RS256', subject: 'u1', expiresIn: 600 });
    const res = await t.gql(ROLES, {}, token);
    assert.equal(res.errors, undefined);
    assert.equal(res.data.roles.length, 2);
  });

  it('refuses a HS256 token signed with the public key (algorithm confusion)', async () => {
    const token = handMade(
      { alg: 'HS256', typ: 'JWT' },
      { sub: 'u1', tenantId, permissions: ['users:read'], exp: Math.floor(Date.now() / 1000) + 600 },
      (input) => createHmac('sha256', publicKey).update(input).digest('base64url'),
    );
    const res = await t.gql(ROLES, {}, token);
    assert.equal(res.errors?.[0].extensions?.code, 'UNAUTHENTICATED');
  });
});

describe('JWT authentication with JWT_PUBLIC_KEY (ES256)', () => {
  let t: TestApp;
  let tenantId: string;
  const { publicKey, privateKey } = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });

  before(async () => {
    t = await createTestApp({ JWT_PUBLIC_KEY: publicKey, JWT_SECRET: '' });
    tenantId = (await t.seedTenant()).tenantId;
  });
  after(() => t.close());

  it('accepts an ES256 token signed with the EC private key (control)', async () => {
    const token = jwt.sign({ tenantId, permissions: ['users:read'] }, privateKey, { algorithm: 'ES256', subject: 'u1', expiresIn: 600 });
    const res = await t.gql(ROLES, {}, token);
    assert.equal(res.errors, undefined);
    assert.equal(res.data.roles.length, 2);
  });

  it('refuses HS256 tokens: with the test secret, and signed with the public key (algorithm pinning)', async () => {
    const withSecret = jwt.sign({ tenantId, permissions: ['users:read'] }, TEST_JWT_SECRET, { algorithm: 'HS256', subject: 'u1', expiresIn: 600 });
    const withPublicKey = handMade(
      { alg: 'HS256', typ: 'JWT' },
      { sub: 'u1', tenantId, permissions: ['users:read'], exp: Math.floor(Date.now() / 1000) + 600 },
      (input) => createHmac('sha256', publicKey).update(input).digest('base64url'),
    );
    for (const token of [withSecret, withPublicKey]) {
      const res = await t.gql(ROLES, {}, token);
      assert.equal(res.errors?.[0].extensions?.code, 'UNAUTHENTICATED');
      const rest = await t.post('/user/bulk', { users: [{ email: 'x@example.com' }] }, token);
      assert.equal(rest.status, 401);
    }
  });

  it('refuses an ES384 token from another curve', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const token = jwt.sign({ tenantId, permissions: ['users:read'] }, other.privateKey, { algorithm: 'ES384', subject: 'u1', expiresIn: 600 });
    assert.equal((await t.gql(ROLES, {}, token)).errors?.[0].extensions?.code, 'UNAUTHENTICATED');
  });
});

describe('JWT_MAX_AGE_SECONDS', () => {
  let t: TestApp;
  let tenantId: string;

  before(async () => {
    t = await createTestApp({ JWT_MAX_AGE_SECONDS: '3600' });
    tenantId = (await t.seedTenant()).tenantId;
  });
  after(() => t.close());

  it('refuses tokens that live longer than the maximum, accepts shorter ones', async () => {
    const now = Math.floor(Date.now() / 1000);
    // iat only where a case sets it (jsonwebtoken's noTimestamp would also delete a given iat).
    const sign = (times: object) =>
      jwt.sign({ sub: 'u1', tenantId, permissions: ['users:read'], ...times }, TEST_JWT_SECRET, { algorithm: 'HS256', noTimestamp: !('iat' in times) });
    assert.equal((await t.gql(ROLES, {}, sign({ iat: now, exp: now + 3600 }))).errors, undefined);
    assert.equal((await t.gql(ROLES, {}, sign({ exp: now + 600 }))).errors, undefined);
    for (const times of [{ iat: now, exp: 1e15 }, { exp: 1e15 }, { iat: now, exp: now + 3601 }, { exp: now + 7200 }]) {
      const res = await t.gql(ROLES, {}, sign(times));
      assert.equal(res.errors?.[0].extensions?.code, 'UNAUTHENTICATED', JSON.stringify(times));
    }
  });
});
