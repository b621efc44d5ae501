import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createScimRequestContext } from '../src/context';
import { countStatements } from '../src/db/query-stats';
import { type SeededTenant, type TestApp, createTestApp } from './helpers/harness';
import { SCIM, assertScimError, createScimToken, patchOp, scimClient } from './helpers/scim';

const userOp = (bulkId: string, userName: string) => ({
  method: 'POST',
  path: '/Users',
  bulkId,
  data: { schemas: [SCIM.user], userName, name: { givenName: 'Bulk', familyName: bulkId } },
});
const bulk = (Operations: unknown[], extra: Record<string, unknown> = {}) => ({ schemas: [SCIM.bulkRequest], Operations, ...extra });

describe('SCIM /Bulk and the set-based engine', () => {
  let t: TestApp;
  let tenant: SeededTenant;
  let scim: ReturnType<typeof scimClient>;
  const ctx = () => createScimRequestContext(t.app.contextDeps, { requestId: randomUUID(), tenantId: tenant.tenantId, tokenId: randomUUID() });

  before(async () => {
    t = await createTestApp();
    tenant = await t.seedTenant('Bulk tenant');
    scim = scimClient(t, (await createScimToken(t, tenant)).secret);
  });
  after(async () => t?.close());

  it('creates 1,000 users in one Bulk with one set-based write (as many statements as 5 users)', async () => {
    const ops = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => userOp(`${prefix}${i}`, `${prefix}${i}@example.com`));
    const statementsFor = async (n: number, prefix: string) => {
      const run = await countStatements(() => t.app.services.scim.bulk.run(ctx(), bulk(ops(n, prefix))), { timings: true });
      assert.equal(run.result.Operations.length, n);
      assert.ok(run.result.Operations.every((o: any) => o.status === '201'), JSON.stringify(run.result.Operations.find((o: any) => o.status !== '201')));
      const inserts = run.timings!.filter((s) => /^insert into "?(users|membership)"?/.test(s.sql));
      assert.equal(inserts.length, 2, `one insert into users and one into membership: ${inserts.map((s) => s.sql).join(' | ')}`);
      return run.statements;
    };
    const five = await statementsFor(5, 'five');
    const thousand = await statementsFor(1000, 'thousand');
    assert.equal(thousand, five, `5 creates: ${five} statements, 1,000 creates: ${thousand}`);
    console.log(`# statements for a Bulk of 5 and of 1,000 user creates: ${five}, ${thousand}`);
    const [{ n }] = await t.sql("select count(*)::int as n from membership where tenant_id = $1 and status = 'ACTIVE' and first_name = 'Bulk'", [tenant.tenantId]);
    assert.equal(n, 1005);
    assert.equal((await t.sql('select count(*)::int as n from invitation where tenant_id = $1', [tenant.tenantId]))[0].n, 0);

    // The same over HTTP, in one request: the statuses and locations of each operation, in order.
    const res = await scim('POST', '/Bulk', bulk(ops(1000, 'http')));
    assert.equal(res.status, 200);
    assert.equal(res.body.Operations.length, 1000);
    assert.equal(res.body.Operations[999].bulkId, 'http999');
    assert.equal(res.body.Operations[999].status, '201');
    assert.match(res.body.Operations[999].location, /\/scim\/v2\/Users\/[0-9a-f-]{36}$/);
  });

  it('resolves bulkId references (also forward ones), refuses circular ones, reports failures per operation', async () => {
    const res = await scim(
      'POST',
      '/Bulk',
      bulk([
        { method: 'POST', path: '/Groups', bulkId: 'team', data: { schemas: [SCIM.group], displayName: 'Bulk team', members: [{ value: 'bulkId:ann' }, { value: 'bulkId:bob' }] } },
        userOp('ann', 'ann.bulk@example.com'),
        userOp('bob', 'bob.bulk@example.com'),
        userOp('dup', 'ann.bulk@example.com'),
        { method: 'PATCH', path: '/Users/bulkId:bob', data: patchOp({ op: 'replace', path: 'active', value: false }) },
        { method: 'POST', path: '/Groups', bulkId: 'c1', data: { schemas: [SCIM.group], displayName: 'Cycle 1', members: [{ value: 'bulkId:c2' }] } },
        { method: 'POST', path: '/Groups', bulkId: 'c2', data: { schemas: [SCIM.group], displayName: 'Cycle 2', members: [{ value: 'bulkId:c1' }] } },
        { method: 'DELETE', path: `/Users/${randomUUID()}` },
      ]),
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const byBulkId = new Map(res.body.Operations.map((o: any) => [o.bulkId ?? o.method, o]));
    assert.equal(res.body.Operations.length, 8);
    const team: any = byBulkId.get('team');
    assert.equal(team.status, '201');
    const ann: any = byBulkId.get('ann');
    const group = await scim('GET', team.location.replace(/^.*\/scim\/v2/, ''));
    assert.equal(group.body.members.length, 2);
    assert.ok(group.body.members.some((m: any) => ann.location.endsWith(m.value)));
    const dup: any = byBulkId.get('dup');
    assert.equal(dup.status, '409');
    assert.equal(dup.response.scimType, 'uniqueness');
    const patched = res.body.Operations[4];
    assert.equal(patched.status, '200');
    const bob = await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "bob.bulk@example.com"')}`);
    assert.equal(bob.body.Resources[0].active, false);
    for (const id of ['c1', 'c2']) assert.equal((byBulkId.get(id) as any).status, '409');
    assert.equal((await scim('GET', `/Groups?filter=${encodeURIComponent('displayName eq "Cycle 1"')}`)).body.totalResults, 0);
    assert.equal(res.body.Operations[7].status, '404');
  });

  it('stops after failOnErrors errors', async () => {
    const res = await scim('POST', '/Bulk', bulk([{ method: 'DELETE', path: `/Users/${randomUUID()}` }, userOp('late', 'late.bulk@example.com')], { failOnErrors: 1 }));
    assert.equal(res.status, 200);
    assert.equal(res.body.Operations.length, 1);
    assert.equal(res.body.Operations[0].status, '404');
    assert.equal((await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "late.bulk@example.com"')}`)).body.totalResults, 0);
  });

  it('refuses a Bulk over maxOperations or maxPayloadSize with 413 naming the limit, and malformed ones with 400', async () => {
    const tooMany = await scim('POST', '/Bulk', bulk(Array.from({ length: 1001 }, (_, i) => userOp(`x${i}`, `x${i}@example.com`))));
    assertScimError(tooMany, 413);
    assert.match(tooMany.body.detail, /maxOperations/);
    const tooBig = await scim('POST', '/Bulk', bulk([userOp('big', 'big@example.com')], { padding: 'x'.repeat(1_100_000) }));
    assertScimError(tooBig, 413);
    assert.match(tooBig.body.detail, /maxPayloadSize/);
    assertScimError(await scim('POST', '/Bulk', { Operations: [] }), 400, 'invalidSyntax');
    assertScimError(await scim('POST', '/Bulk', bulk([{ method: 'POST', path: '/Users', data: {} }])), 400, 'invalidSyntax');
    assertScimError(await scim('POST', '/Bulk', bulk([userOp('same', 'a1@example.com'), userOp('same', 'a2@example.com')])), 400, 'invalidSyntax');
    assertScimError(await scim('POST', '/Bulk', bulk([{ method: 'GET', path: '/Users' }])), 400, 'invalidSyntax');
    const badPath = await scim('POST', '/Bulk', bulk([{ method: 'POST', path: '/Things', bulkId: 't', data: {} }]));
    assert.equal(badPath.body.Operations[0].status, '400');
    assert.equal(badPath.body.Operations[0].response.scimType, 'invalidPath');
  });

  it('settles concurrent creates of one person and concurrent member changes without a 5xx', async () => {
    const body = { schemas: [SCIM.user], userName: 'race@example.com', externalId: 'race-1' };
    const answers = await Promise.all(Array.from({ length: 6 }, () => scim('POST', '/Users', body)));
    assert.deepEqual(answers.map((a) => a.status).sort(), [201, 409, 409, 409, 409, 409], JSON.stringify(answers.map((a) => a.body)));
    const group = (await scim('POST', '/Groups', { schemas: [SCIM.group], displayName: 'Race group' })).body.id;
    const users = (await scim('GET', '/Users?count=20')).body.Resources.map((u: any) => u.id);
    const patches = await Promise.all(users.map((value: string) => scim('PATCH', `/Groups/${group}`, patchOp({ op: 'add', path: 'members', value: [{ value }] }))));
    assert.ok(patches.every((p) => p.status === 204), JSON.stringify(patches.map((p) => p.body)));
    assert.equal((await scim('GET', `/Groups/${group}`)).body.members.length, users.length);
  });

  it('changes the members of a large group without loading them', async () => {
    // A group of 2,000 members, written directly.
    const [{ id: groupId }] = await t.sql("insert into tenant_group (id, tenant_id, name, created_at) values (gen_random_uuid(), $1, 'Large', now()) returning id", [tenant.tenantId]);
    const small = (await scim('POST', '/Groups', { schemas: [SCIM.group], displayName: 'Small' })).body.id;
    const members = await t.sql("select user_id, id from membership where tenant_id = $1 and status = 'ACTIVE' order by created_at, id limit 2001", [tenant.tenantId]);
    assert.equal(members.length, 2001);
    await t.sql('insert into membership_group (tenant_id, membership_id, group_id, is_primary_org) select $1, unnest($2::uuid[]), $3, false', [tenant.tenantId, members.slice(0, 2000).map((m) => m.id), groupId]);
    await t.sql('insert into membership_group (tenant_id, membership_id, group_id, is_primary_org) select $1, unnest($2::uuid[]), $3, false', [tenant.tenantId, members.slice(0, 2).map((m) => m.id), small]);
    const change = (gid: string) =>
      countStatements(
        () => t.app.services.scim.groups.patch(ctx(), gid, patchOp({ op: 'remove', path: `members[value eq "${members[0].user_id}"]` }, { op: 'add', path: 'members', value: [{ value: members[2000].user_id }] })),
        { timings: true },
      );
    const large = await change(groupId);
    const few = await change(small);
    assert.equal(large.statements, few.statements);
    assert.equal(large.timings!.some((s) => /^select/i.test(s.sql) && s.sql.includes('membership_group')), false, large.timings!.map((s) => s.sql).join('\n'));
    const [{ n }] = await t.sql('select count(*)::int as n from membership_group where group_id = $1', [groupId]);
    assert.equal(n, 2000);
    // Listing groups without members does not read membership_group at all.
    const listed = await countStatements(() => t.app.services.scim.groups.list(ctx(), { excludedAttributes: 'members' }), { timings: true });
    assert.equal(listed.timings!.some((s) => s.sql.includes('membership_group')), false);
  });
});

describe('SCIM writes count against BULK_INVITE_USERS_PER_MINUTE', () => {
  let t: TestApp;
  let scim: ReturnType<typeof scimClient>;

  before(async () => {
    // One bulk request per window: SCIM requests must not count against it (only their people do).
    t = await createTestApp({ BULK_INVITE_USERS_PER_MINUTE: '3', BULK_INVITE_RATE_LIMIT: '1' });
    const tenant = await t.seedTenant('Limited');
    scim = scimClient(t, (await createScimToken(t, tenant)).secret);
  });
  after(async () => t?.close());

  it('refuses a Bulk over the people budget with 429 and Retry-After, writing nothing; single writes count people, not requests', async () => {
    const over = await scim('POST', '/Bulk', bulk(Array.from({ length: 4 }, (_, i) => userOp(`r${i}`, `r${i}@example.com`))));
    assertScimError(over, 429);
    assert.ok(Number(over.headers['retry-after']) >= 1);
    assert.equal((await scim('GET', '/Users')).body.totalResults, 0);
    for (let i = 0; i < 3; i++) assert.equal((await scim('POST', '/Users', { schemas: [SCIM.user], userName: `one${i}@example.com` })).status, 201);
    assertScimError(await scim('POST', '/Users', { schemas: [SCIM.user], userName: 'one3@example.com' }), 429);
    // Reads are not writes.
    assert.equal((await scim('GET', '/Users')).status, 200);
  });
});

describe('SCIM /Bulk and the people in flight', () => {
  let t: TestApp;
  let tenant: SeededTenant;
  let scim: ReturnType<typeof scimClient>;

  before(async () => {
    t = await createTestApp({ BULK_INVITE_HEAVY_USERS: '10', BULK_INVITE_TENANT_USERS_IN_FLIGHT: '100' });
    tenant = await t.seedTenant('In flight');
    scim = scimClient(t, (await createScimToken(t, tenant)).secret);
  });
  after(async () => t?.close());

  it('admits a heavy Bulk by its Content-Length beside the tenant’s other heavy work, and releases it when answered', async () => {
    const body = bulk(Array.from({ length: 60 }, (_, i) => userOp(`f${i}`, `flight${i}@example.com`)));
    const other = {};
    t.app.services.admission.admit(other, tenant.tenantId, 90);
    // Two operations in a 50 KB body: only the Content-Length stage weighs it as heavy.
    const refused = await scim('POST', '/Bulk', bulk([userOp('p1', 'padded1@example.com'), userOp('p2', 'padded2@example.com')], { padding: 'x'.repeat(50_000) }));
    assertScimError(refused, 429);
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    assert.equal((await scim('GET', '/Users')).body.totalResults, 0, 'refused before anything was written');
    t.app.services.admission.close(other);
    const admitted = await scim('POST', '/Bulk', body);
    assert.equal(admitted.status, 200);
    assert.equal(admitted.body.Operations.filter((o: any) => o.status === '201').length, 60);
    assert.equal(t.app.services.admission.inFlight(tenant.tenantId), 0, 'released once answered');
  });
});
