import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type SeededTenant, type TestApp, createTestApp } from './helpers/harness';
import { SCIM, assertScimError, createScimToken, patchOp, scimClient } from './helpers/scim';

const TOKENS = 'query { scimTokens { id description createdAt lastUsedAt } }';

describe('SCIM tokens, tenant isolation and bad input', () => {
  let t: TestApp;
  let a: SeededTenant;
  let b: SeededTenant;
  let tokenA: { id: string; secret: string };
  let scimA: ReturnType<typeof scimClient>;
  let scimB: ReturnType<typeof scimClient>;
  let userA: string;
  let groupA: string;

  before(async () => {
    t = await createTestApp();
    a = await t.seedTenant('A');
    b = await t.seedTenant('B');
    tokenA = await createScimToken(t, a, 'Okta A');
    scimA = scimClient(t, tokenA.secret);
    scimB = scimClient(t, (await createScimToken(t, b, 'Okta B')).secret);
    const user = await scimA('POST', '/Users', { schemas: [SCIM.user], userName: 'a.person@example.com', name: { givenName: 'A' }, externalId: 'shared-ext' });
    assert.equal(user.status, 201);
    userA = user.body.id;
    groupA = (await scimA('POST', '/Groups', { schemas: [SCIM.group], displayName: 'A group', members: [{ value: userA }] })).body.id;
  });
  after(async () => t?.close());

  it('creates tokens for tenant admins only, shows the secret once, stores only its hash, keeps lastUsedAt, revokes', async () => {
    const listed = await t.gql(TOKENS, {}, a.token);
    assert.equal(listed.errors, undefined);
    const mine = listed.data.scimTokens.find((x: any) => x.id === tokenA.id);
    assert.equal(mine.description, 'Okta A');
    assert.ok(mine.lastUsedAt, 'lastUsedAt is kept');
    assert.equal(JSON.stringify(listed.data).includes(tokenA.secret), false, 'the secret is never listed');
    const [row] = await t.sql('select secret_hash from scim_token where id = $1', [tokenA.id]);
    assert.equal(row.secret_hash.length, 64);
    assert.equal(tokenA.secret.includes(row.secret_hash), false);

    const reader = t.token({ tenantId: a.tenantId, permissions: ['users:read', 'users:invite'] });
    const refused = await t.gql('mutation { createScimToken(description: "x") { secret } }', {}, reader);
    assert.equal(refused.errors?.[0]?.extensions?.code, 'FORBIDDEN');
    assert.equal((await t.gql(TOKENS, {}, reader)).errors?.[0]?.extensions?.code, 'FORBIDDEN');

    const temporary = await createScimToken(t, a, 'temporary');
    const client = scimClient(t, temporary.secret);
    assert.equal((await client('GET', '/Users')).status, 200);
    // Another tenant's admin cannot revoke it; its own can, and it stops working at once.
    assert.equal((await t.gql('mutation($id: ID!) { revokeScimToken(id: $id) }', { id: temporary.id }, b.token)).data.revokeScimToken, false);
    assert.equal((await t.gql('mutation($id: ID!) { revokeScimToken(id: $id) }', { id: temporary.id.toUpperCase() }, a.token)).data.revokeScimToken, true);
    assertScimError(await client('GET', '/Users'), 401);
    const after = await t.gql(TOKENS, {}, a.token);
    assert.equal(after.data.scimTokens.some((x: any) => x.id === temporary.id), false);
  });

  it('accepts only SCIM tokens on /scim/v2, and SCIM tokens nowhere else', async () => {
    assertScimError(await scimClient(t, a.token)('GET', '/Users'), 401);
    assertScimError(await scimClient(t, undefined)('GET', '/ServiceProviderConfig'), 401);
    // A tampered secret with a real token id.
    const tampered = tokenA.secret.slice(0, -2) + (tokenA.secret.endsWith('AA') ? 'BB' : 'AA');
    assertScimError(await scimClient(t, tampered)('GET', '/Users'), 401);
    const gql = await t.gql('query { members { totalCount } }', {}, tokenA.secret);
    assert.equal(gql.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
    const rest = await t.post('/auth/v1/user/bulk-invite', { users: [] }, tokenA.secret);
    assert.equal(rest.status, 401);
    // Without a valid token, a large body is refused before it is read.
    const big = await scimClient(t, 'nope')('POST', '/Users', { schemas: [SCIM.user], userName: 'x@example.com', pad: 'x'.repeat(100_000) });
    assertScimError(big, 401);
  });

  it('never reads or writes another tenant: its ids behave as missing', async () => {
    assertScimError(await scimB('GET', `/Users/${userA}`), 404);
    assertScimError(await scimB('PUT', `/Users/${userA}`, { schemas: [SCIM.user], userName: 'a.person@example.com', active: false }), 404);
    assertScimError(await scimB('PATCH', `/Users/${userA}`, patchOp({ op: 'replace', value: { active: false } })), 404);
    assertScimError(await scimB('DELETE', `/Users/${userA}`), 404);
    assertScimError(await scimB('GET', `/Groups/${groupA}`), 404);
    assertScimError(await scimB('PATCH', `/Groups/${groupA}`, patchOp({ op: 'add', path: 'members', value: [{ value: userA }] })), 404);
    assertScimError(await scimB('DELETE', `/Groups/${groupA}`), 404);
    const list = await scimB('GET', `/Users?filter=${encodeURIComponent('userName eq "a.person@example.com" or externalId eq "shared-ext"')}`);
    assert.equal(list.body.totalResults, 0);
    const groupsOfB = await scimB('GET', '/Groups?count=500');
    assert.equal(groupsOfB.body.Resources.some((g: any) => g.id === groupA || g.displayName === 'A group'), false);
    // B's own group cannot take A's member.
    const groupB = (await scimB('POST', '/Groups', { schemas: [SCIM.group], displayName: 'B group' })).body.id;
    assertScimError(await scimB('PATCH', `/Groups/${groupB}`, patchOp({ op: 'add', path: 'members', value: [{ value: userA }] })), 400, 'invalidValue');
    // The same person provisioned in B: B's own membership, A's names and externalId stay A's.
    const inB = await scimB('POST', '/Users', { schemas: [SCIM.user], userName: 'A.Person@example.com', name: { givenName: 'Bee' }, externalId: 'shared-ext' });
    assert.equal(inB.status, 201, JSON.stringify(inB.body));
    assert.equal(inB.body.id, userA, 'one platform user');
    assert.equal(inB.body.name.givenName, 'Bee');
    assert.equal((await scimA('GET', `/Users/${userA}`)).body.name.givenName, 'A');
    assert.equal((await scimA('GET', `/Users/${userA}`)).body.active, true);
    const [aRow] = await t.sql('select status from membership where tenant_id = $1 and user_id = $2', [a.tenantId, userA]);
    assert.equal(aRow.status, 'ACTIVE');
  });

  it('answers hostile and malformed input with SCIM errors, never a 5xx', async () => {
    assertScimError(await scimA('POST', '/Users', '{"schemas": ['), 400, 'invalidSyntax');
    assertScimError(await scimA('POST', '/Users', { schemas: ['urn:example:unknown'], userName: 'x@example.com' }), 400, 'invalidSyntax');
    assertScimError(await scimA('POST', '/Users', { schemas: [SCIM.user, 'urn:example:unknown'], userName: 'x@example.com' }), 400, 'invalidSyntax');
    assertScimError(await scimA('POST', '/Users', { schemas: [SCIM.user], userName: 'not-an-email' }), 400, 'invalidValue');
    assertScimError(await scimA('POST', '/Users', { schemas: [SCIM.user] }), 400, 'invalidValue');
    assertScimError(await scimA('POST', '/Users', [1, 2]), 400, 'invalidSyntax');
    assertScimError(await scimA('POST', '/Users', ''), 400, 'invalidSyntax');
    assertScimError(await scimA('POST', '/Users', '{"__proto__": {"admin": true}, "schemas": []}'), 400, 'invalidSyntax');
    assertScimError(await scimA('POST', '/Users', 'userName=x', { 'content-type': 'text/plain' }), 400, 'invalidSyntax');
    assertScimError(await scimA('POST', '/Users', '<user/>', { 'content-type': 'application/xml' }), 415);
    assertScimError(await scimA('POST', '/Users', { schemas: [SCIM.user], userName: 'dup.ext@example.com', externalId: 'shared-ext' }), 409, 'uniqueness');

    const zero = await scimA('GET', '/Users?startIndex=0&count=1');
    assert.equal(zero.status, 200);
    assert.equal(zero.body.startIndex, 1, 'startIndex below 1 is 1 (RFC 7644 3.4.2.4)');
    const negative = await scimA('GET', '/Users?startIndex=-5&count=-1');
    assert.equal(negative.status, 200);
    assert.equal(negative.body.itemsPerPage, 0);
    const huge = await scimA('GET', '/Users?count=99999999999');
    assert.equal(huge.status, 200);
    assert.ok(huge.body.itemsPerPage <= 500);
    assertScimError(await scimA('GET', '/Users?count=abc'), 400, 'invalidValue');

    for (const filter of ['userName co "a"', 'title eq "x"', 'userName eq', 'not (userName eq "x")', 'name.givenName eq "A"', 'userName gt "a"', 'emails[type co "w"].value eq "x"']) {
      assertScimError(await scimA('GET', `/Users?filter=${encodeURIComponent(filter)}`), 400, 'invalidFilter');
    }
    assertScimError(await scimA('GET', `/Groups?filter=${encodeURIComponent('members.display eq "x"')}`), 400, 'invalidFilter');
    assertScimError(await scimA('GET', `/Users?filter=${encodeURIComponent('userName eq "x@example.com"')}&filter=${encodeURIComponent('id pr')}`), 400, 'invalidFilter');
    assertScimError(await scimA('GET', `/Users?filter=${encodeURIComponent(`${'userName eq "x" or '.repeat(200)}userName eq "y"`)}`), 400, 'invalidFilter');
    // Quotes and SQL in values are only ever parameters.
    const quoted = await scimA('GET', `/Users?filter=${encodeURIComponent(`userName eq "x' or '1'='1"`)}`);
    assert.equal(quoted.body.totalResults, 0);

    for (const path of ['id', 'meta', 'groups', 'meta.created']) {
      assertScimError(await scimA('PATCH', `/Users/${userA}`, patchOp({ op: 'replace', path, value: 'x' })), 400, 'mutability');
    }
    assertScimError(await scimA('PATCH', `/Users/${userA}`, patchOp({ op: 'replace', value: { id: randomUUID() } })), 400, 'mutability');
    assertScimError(await scimA('PATCH', `/Users/${userA}`, patchOp({ op: 'replace', path: 'title', value: 'x' })), 400, 'invalidPath');
    assertScimError(await scimA('PATCH', `/Users/${userA}`, patchOp({ op: 'replace', path: 'emails[type eq "home"].value', value: 'x@example.com' })), 400, 'noTarget');
    assertScimError(await scimA('PATCH', `/Users/${userA}`, patchOp({ op: 'remove' })), 400, 'noTarget');
    assertScimError(await scimA('PATCH', `/Users/${userA}`, patchOp({ op: 'move', path: 'active', value: true })), 400, 'invalidSyntax');
    assertScimError(await scimA('PATCH', `/Users/${userA}`, patchOp({ op: 'replace', path: 'active', value: 'maybe' })), 400, 'invalidValue');
    assertScimError(await scimA('PATCH', `/Users/${userA}`, { Operations: [{ op: 'replace', path: 'active', value: false }] }), 400, 'invalidSyntax');
    assertScimError(await scimA('PATCH', `/Groups/${groupA}`, patchOp({ op: 'replace', path: 'members[value eq "x"]', value: [] })), 400, 'invalidPath');
    assertScimError(await scimA('PATCH', `/Groups/${groupA}`, patchOp({ op: 'replace', path: 'owner', value: 'x' })), 400, 'invalidPath');
    assertScimError(await scimA('GET', '/Nope'), 404);
    // A malformed URL is refused by fastify before routing, in its own envelope: still a 4xx.
    assert.equal((await scimA('GET', '/Users/%E0%A4%A')).status, 400);
    assert.equal((await scimA('GET', `/Users/${userA}`)).body.active, true, 'nothing refused changed the user');
  });

  it('serves the discovery documents', async () => {
    const config = await scimA('GET', '/ServiceProviderConfig');
    assert.equal(config.status, 200);
    assert.match(config.contentType, /^application\/scim\+json/);
    assert.deepEqual(config.body.bulk, { supported: true, maxOperations: 1000, maxPayloadSize: 1_048_576 });
    assert.equal(config.body.patch.supported, true);
    assert.equal(config.body.filter.supported, true);
    const types = await scimA('GET', '/ResourceTypes');
    assert.deepEqual(types.body.Resources.map((r: any) => r.id), ['User', 'Group']);
    const schemas = await scimA('GET', '/Schemas');
    assert.deepEqual(schemas.body.Resources.map((s: any) => s.id), [SCIM.user, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', SCIM.group]);
    assert.equal((await scimA('GET', `/Schemas/${SCIM.group}`)).body.name, 'Group');
  });
});
