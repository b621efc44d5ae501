import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type SeededTenant, type TestApp, createTestApp } from './helpers/harness';
import { SCIM, assertScimError, createScimToken, patchOp, scimClient } from './helpers/scim';

/**
 * SCIM 2.0 conformance, written from the clients' documented request shapes: Okta's SCIM 2.0 SPEC test
 * sequence and provisioning lifecycle, Microsoft Entra ID's default mode and its aadOptscim062020 flag.
 */
describe('SCIM 2.0: Okta', () => {
  let t: TestApp;
  let tenant: SeededTenant;
  let scim: ReturnType<typeof scimClient>;
  let okta: ReturnType<typeof scimClient>;

  before(async () => {
    t = await createTestApp();
    tenant = await t.seedTenant('Okta tenant');
    const { secret } = await createScimToken(t, tenant, 'Okta');
    scim = scimClient(t, secret);
    // Okta's SPEC tests send application/json.
    okta = scimClient(t, secret, 'application/json');
    // One member invited through the platform, so the first list has something in it.
    const res = await t.gql(
      'mutation($input: BulkInviteUsersInput!) { bulkInviteUsers(input: $input) { successful } }',
      { input: { users: [{ email: 'invited.person@example.com', firstName: 'Invited', lastName: 'Person' }], sendEmail: false } },
      tenant.token,
    );
    assert.equal(res.data.bulkInviteUsers.successful, 1);
  });
  after(async () => t?.close());

  it('runs the SCIM 2.0 SPEC test sequence', async () => {
    // 1. The first page of one user: integers, and every attribute Okta requires on the first resource.
    const first = await okta('GET', '/Users?count=1&startIndex=1');
    assert.equal(first.status, 200);
    assert.match(first.contentType, /^application\/scim\+json/);
    assert.deepEqual(first.body.schemas, [SCIM.listResponse]);
    for (const key of ['totalResults', 'itemsPerPage', 'startIndex']) assert.ok(Number.isInteger(first.body[key]), key);
    assert.equal(first.body.itemsPerPage, 1);
    assert.equal(first.body.startIndex, 1);
    const invited = first.body.Resources[0];
    assert.equal(invited.userName, 'invited.person@example.com');
    assert.equal(invited.name.givenName, 'Invited');
    assert.equal(invited.name.familyName, 'Person');
    assert.equal(invited.emails[0].value, 'invited.person@example.com');
    assert.equal(invited.active, true, 'an invited member is an active SCIM user');
    assert.ok(invited.id);

    // 2. Get that user by id.
    const byId = await okta('GET', `/Users/${invited.id}`);
    assert.equal(byId.status, 200);
    assert.equal(byId.body.userName, 'invited.person@example.com');

    // 3. Filter on a userName nobody has: 200 with no results.
    const none = await okta('GET', `/Users?filter=${encodeURIComponent(`userName eq "${randomUUID()}@example.com"`)}`);
    assert.equal(none.status, 200);
    assert.equal(none.body.totalResults, 0);
    assert.deepEqual(none.body.Resources, []);

    // 4. An unknown id: 404 in the error schema.
    assertScimError(await okta('GET', `/Users/${randomUUID()}`), 404);

    // 5. Create, as Okta sends it (with a password, which is ignored).
    const userName = `okta.${randomUUID().slice(0, 8)}@example.com`;
    const createBody = {
      schemas: [SCIM.user],
      userName,
      name: { givenName: 'Okta', familyName: 'Tester' },
      emails: [{ primary: true, value: userName, type: 'work' }],
      displayName: 'Okta Tester',
      locale: 'en-US',
      externalId: '00u1abcd',
      groups: [],
      password: 'not-stored-1A!',
      active: true,
    };
    const created = await okta('POST', '/Users', createBody);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.userName, userName);
    assert.equal(created.body.name.givenName, 'Okta');
    assert.equal(created.body.name.familyName, 'Tester');
    assert.equal(created.body.active, true);
    assert.equal(created.body.externalId, '00u1abcd');
    assert.equal(created.headers.location, created.body.meta.location);
    assert.equal(created.body.password, undefined);
    const [row] = await t.sql('select m.status, (select count(*) from invitation i where i.membership_id = m.id) as invitations from membership m where m.user_id = $1', [created.body.id]);
    assert.equal(row.status, 'ACTIVE');
    assert.equal(Number(row.invitations), 0, 'SCIM creates no invitation (and sends no email)');

    // 6. Get the created user.
    const fetched = await okta('GET', `/Users/${created.body.id}`);
    assert.equal(fetched.status, 200);
    assert.equal(fetched.body.userName, userName);

    // 7. The same user again: 409 uniqueness.
    assertScimError(await okta('POST', '/Users', createBody), 409, 'uniqueness');

    // 8. Filter by the upper-cased userName: found (userName is case-insensitive).
    const upper = await okta('GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName.toUpperCase()}"`)}`);
    assert.equal(upper.status, 200);
    assert.equal(upper.body.totalResults, 1);
    assert.equal(upper.body.Resources[0].id, created.body.id);

    // 9. Groups answer.
    const groups = await okta('GET', '/Groups');
    assert.equal(groups.status, 200);
    assert.deepEqual(groups.body.schemas, [SCIM.listResponse]);

    // 10. A bad token: 401 in the error schema, status as a string.
    const bad = await scimClient(t, 'scim_0123456789abcdef0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')('GET', '/Users');
    assertScimError(bad, 401);

    // 11. A numeric id that cannot exist: 404, status "404".
    assertScimError(await okta('GET', '/Users/010101'), 404);
  });

  it('deactivates and reactivates by pathless replace, updates the profile by PUT', async () => {
    const userName = 'lifecycle@example.com';
    const created = await scim('POST', '/Users', { schemas: [SCIM.user], userName, name: { givenName: 'Life', familyName: 'Cycle' }, emails: [{ primary: true, value: userName, type: 'work' }], active: true });
    assert.equal(created.status, 201);
    const id = created.body.id;
    const status = async () => (await t.sql('select status from membership where user_id = $1', [id]))[0].status;

    const off = await scim('PATCH', `/Users/${id}`, patchOp({ op: 'replace', value: { active: false } }));
    assert.equal(off.status, 200, JSON.stringify(off.body));
    assert.equal(off.body.active, false);
    assert.equal(await status(), 'SUSPENDED');
    const listed = await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
    assert.equal(listed.body.Resources[0].active, false, 'a suspended member is still listed, inactive');

    const on = await scim('PATCH', `/Users/${id}`, patchOp({ op: 'replace', value: { active: true } }));
    assert.equal(on.status, 200);
    assert.equal(on.body.active, true);
    assert.equal(await status(), 'ACTIVE');

    const put = await scim('PUT', `/Users/${id}`, {
      schemas: [SCIM.user],
      id,
      userName,
      name: { givenName: 'Lifelong', familyName: 'Learner' },
      emails: [{ primary: true, value: userName, type: 'work' }],
      active: true,
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.name.givenName, 'Lifelong');
    const [names] = await t.sql('select first_name, last_name from membership where user_id = $1', [id]);
    assert.deepEqual(names, { first_name: 'Lifelong', last_name: 'Learner' });

    // userName is the platform-wide identity: another one is refused, nothing changes.
    const rename = await scim('PUT', `/Users/${id}`, { schemas: [SCIM.user], userName: 'someone.else@example.com', name: { givenName: 'X' }, active: true });
    assertScimError(rename, 400, 'mutability');
    assert.equal((await t.sql('select email from users where id = $1', [id]))[0].email, userName);
  });

  it('pushes a group, renames it, and changes membership by remove-by-filter plus add in one PATCH', async () => {
    const make = async (userName: string) => (await scim('POST', '/Users', { schemas: [SCIM.user], userName, name: { givenName: 'G', familyName: 'M' }, active: true })).body.id as string;
    const [u1, u2, u3] = [await make('gm1@example.com'), await make('gm2@example.com'), await make('gm3@example.com')];

    const pushed = await scim('POST', '/Groups', { schemas: [SCIM.group], displayName: 'Okta Pushed', members: [{ value: u1, display: 'gm1@example.com' }, { value: u2 }] });
    assert.equal(pushed.status, 201, JSON.stringify(pushed.body));
    assert.equal(pushed.body.displayName, 'Okta Pushed');
    assert.deepEqual(pushed.body.members.map((m: any) => m.value).sort(), [u1, u2].sort());
    const gid = pushed.body.id;

    // Okta renames with a pathless replace that repeats the group's id.
    const renamed = await scim('PATCH', `/Groups/${gid}`, patchOp({ op: 'replace', value: { id: gid, displayName: 'Okta Renamed' } }));
    assert.equal(renamed.status, 204, JSON.stringify(renamed.body));
    assert.equal((await t.sql('select name from tenant_group where id = $1', [gid]))[0].name, 'Okta Renamed');

    const membership = await scim(
      'PATCH',
      `/Groups/${gid}`,
      patchOp({ op: 'remove', path: `members[value eq "${u1}"]` }, { op: 'add', path: 'members', value: [{ value: u3, display: 'gm3@example.com' }] }),
    );
    assert.equal(membership.status, 204);
    const got = await scim('GET', `/Groups/${gid}`);
    assert.deepEqual(got.body.members.map((m: any) => m.value).sort(), [u2, u3].sort());
    const user2 = await scim('GET', `/Users/${u2}`);
    assert.deepEqual(user2.body.groups.map((g: any) => [g.value, g.display]), [[gid, 'Okta Renamed']], 'groups are shown on the user');

    const byName = await scim('GET', `/Groups?filter=${encodeURIComponent('displayName eq "okta renamed"')}&excludedAttributes=members`);
    assert.equal(byName.body.totalResults, 1);
    assert.equal(byName.body.Resources[0].members, undefined);

    assertScimError(await scim('POST', '/Groups', { schemas: [SCIM.group], displayName: 'OKTA RENAMED' }), 409, 'uniqueness');
    // A DELETE may carry a content type and no body.
    const deleted = await scim('DELETE', `/Groups/${gid}`, undefined, { 'content-type': 'application/scim+json', 'content-length': '0' });
    assert.equal(deleted.status, 204);
    assertScimError(await scim('GET', `/Groups/${gid}`), 404);
  });
});

describe('SCIM 2.0: Microsoft Entra ID', () => {
  let t: TestApp;
  let tenant: SeededTenant;
  let entra: ReturnType<typeof scimClient>;

  before(async () => {
    t = await createTestApp();
    tenant = await t.seedTenant('Entra tenant');
    entra = scimClient(t, (await createScimToken(t, tenant, 'Entra')).secret);
  });
  after(async () => t?.close());

  const createEntraUser = async (userName: string, externalId: string) => {
    // Entra's create: enterprise schema listed, meta and roles sent along.
    const res = await entra('POST', '/Users', {
      schemas: [SCIM.user, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
      externalId,
      userName,
      active: true,
      displayName: 'Entra Person',
      emails: [{ primary: true, type: 'work', value: userName }],
      meta: { resourceType: 'User' },
      name: { formatted: 'Entra Person', familyName: 'Person', givenName: 'Entra' },
      roles: [],
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body;
  };

  it('matches by externalId and userName, then updates in default mode (Replace, "False", filtered email path)', async () => {
    // The feature flag may travel on the tenant URL's query string: it changes nothing here.
    const miss = await entra('GET', `/Users?aadOptscim062020&filter=${encodeURIComponent('externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"')}`);
    assert.equal(miss.status, 200);
    assert.equal(miss.body.totalResults, 0);
    const user = await createEntraUser('entra.user@example.com', '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef');
    const hit = await entra('GET', `/Users?filter=${encodeURIComponent('externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"')}`);
    assert.equal(hit.body.totalResults, 1);
    assert.equal(hit.body.Resources[0].id, user.id);
    const byEmail = await entra('GET', `/Users?filter=${encodeURIComponent('emails[type eq "work"].value eq "ENTRA.USER@example.com"')}`);
    assert.equal(byEmail.body.totalResults, 1);

    const patched = await entra(
      'PATCH',
      `/Users/${user.id}`,
      patchOp(
        { op: 'Replace', path: 'displayName', value: 'Entra Renamed' },
        { op: 'Replace', path: 'name.givenName', value: 'Entrada' },
        { op: 'Add', path: 'emails[type eq "work"].value', value: 'entra.user@example.com' },
        { op: 'Replace', path: 'emails[type eq "work"].primary', value: true },
        { op: 'Replace', path: 'externalId', value: 'ext-2' },
        { op: 'Replace', path: 'active', value: 'False' },
      ),
    );
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.displayName, 'Entra Renamed');
    assert.equal(patched.body.name.givenName, 'Entrada');
    assert.equal(patched.body.externalId, 'ext-2');
    assert.equal(patched.body.active, false);
    assert.equal((await t.sql('select status from membership where user_id = $1', [user.id]))[0].status, 'SUSPENDED');
    const back = await entra('PATCH', `/Users/${user.id}`, patchOp({ op: 'Replace', path: 'active', value: 'True' }));
    assert.equal(back.body.active, true);

    const removed = await entra('DELETE', `/Users/${user.id}`);
    assert.equal(removed.status, 204);
    assert.equal((await t.sql('select status from membership where user_id = $1', [user.id]))[0].status, 'REMOVED');
    assert.equal((await t.sql('select count(*)::int as n from users where id = $1', [user.id]))[0].n, 1, 'the platform user stays');
    assertScimError(await entra('GET', `/Users/${user.id}`), 404);
    const gone = await entra('GET', `/Users?filter=${encodeURIComponent('userName eq "entra.user@example.com"')}`);
    assert.equal(gone.body.totalResults, 0);
    // Provisioned again: the same platform user, ACTIVE again on the old membership.
    const again = await createEntraUser('entra.user@example.com', '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef');
    assert.equal(again.id, user.id);
    assert.equal((await t.sql('select status from membership where user_id = $1', [user.id]))[0].status, 'ACTIVE');
  });

  it('handles aadOptscim062020 mode: lowercase ops, pathless replace with dotted keys', async () => {
    const user = await createEntraUser('flagged@example.com', 'flag-1');
    const res = await entra(
      'PATCH',
      `/Users/${user.id}`,
      patchOp({ op: 'replace', value: { displayName: 'Flag Ged', 'name.givenName': 'Flag', 'name.familyName': 'Ged', active: false } }),
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.displayName, 'Flag Ged');
    assert.deepEqual([res.body.name.givenName, res.body.name.familyName], ['Flag', 'Ged']);
    assert.equal(res.body.active, false);
  });

  it('maps userType and the enterprise extension’s manager (Entra sends the manager id as the value)', async () => {
    const manager = await createEntraUser('boss@example.com', 'boss-1');
    const report = await createEntraUser('report@example.com', 'report-1');
    const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
    const set = await entra('PATCH', `/Users/${report.id}`, patchOp({ op: 'Add', path: `${ENTERPRISE}:manager`, value: manager.id }, { op: 'Replace', path: 'userType', value: 'Employee' }));
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.equal(set.body[ENTERPRISE].manager.value, manager.id);
    assert.ok(set.body.schemas.includes(ENTERPRISE));
    assert.equal(set.body.userType, 'Employee');
    const [row] = await t.sql('select mgr.user_id, m.user_type from membership m join membership mgr on mgr.id = m.manager_id where m.user_id = $1', [report.id]);
    assert.deepEqual(row, { user_id: manager.id, user_type: 'Employee' });
    assertScimError(await entra('PATCH', `/Users/${report.id}`, patchOp({ op: 'Add', path: `${ENTERPRISE}:manager`, value: randomUUID() })), 400, 'invalidValue');
    assertScimError(await entra('PATCH', `/Users/${report.id}`, patchOp({ op: 'Add', path: `${ENTERPRISE}:manager`, value: report.id })), 400, 'invalidValue');
    const cleared = await entra('PATCH', `/Users/${report.id}`, patchOp({ op: 'remove', path: `${ENTERPRISE}:manager` }));
    assert.equal(cleared.body[ENTERPRISE], undefined);
    // On create, as an extension object.
    const withManager = await entra('POST', '/Users', { schemas: [SCIM.user, ENTERPRISE], userName: 'report2@example.com', [ENTERPRISE]: { manager: { value: manager.id }, department: 'not stored' } });
    assert.equal(withManager.status, 201, JSON.stringify(withManager.body));
    assert.equal(withManager.body[ENTERPRISE].manager.value, manager.id);
  });

  it('provisions groups: excludedAttributes=members, add and remove members (path "members" + value array, and by filter), 204', async () => {
    const users = [];
    for (let i = 0; i < 4; i++) users.push((await createEntraUser(`g${i}@example.com`, `gx-${i}`)).id as string);
    // Entra's documented create lists its own ADSCIM schema beside the core one.
    const created = await entra('POST', '/Groups', {
      schemas: [SCIM.group, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
      externalId: 'e-group-1',
      displayName: 'Entra Group',
      meta: { resourceType: 'Group' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const gid = created.body.id;

    const found = await entra('GET', `/Groups?excludedAttributes=members&filter=${encodeURIComponent('displayName eq "Entra Group"')}`);
    assert.equal(found.body.totalResults, 1);
    assert.equal(found.body.Resources[0].members, undefined);
    const one = await entra('GET', `/Groups/${gid}?excludedAttributes=members`);
    assert.equal(one.status, 200);
    assert.equal(one.body.members, undefined);
    assert.equal(one.body.displayName, 'Entra Group');

    const added = await entra('PATCH', `/Groups/${gid}`, patchOp({ op: 'Add', path: 'members', value: users.map((value) => ({ value })) }));
    assert.equal(added.status, 204);
    assert.equal(added.body, undefined);
    // Default mode: removal as path "members" with a value array removes only those.
    const removed = await entra('PATCH', `/Groups/${gid}`, patchOp({ op: 'Remove', path: 'members', value: [{ value: users[0] }, { value: users[1] }] }));
    assert.equal(removed.status, 204);
    // aadOptscim062020: removal by filter.
    const filtered = await entra('PATCH', `/Groups/${gid}`, patchOp({ op: 'remove', path: `members[value eq "${users[2].toUpperCase()}"]` }));
    assert.equal(filtered.status, 204);
    const left = await entra('GET', `/Groups/${gid}`);
    assert.deepEqual(left.body.members.map((m: any) => m.value), [users[3]]);
    const member = await entra('GET', `/Groups?filter=${encodeURIComponent(`id eq "${gid}" and members[value eq "${users[3]}"]`)}&excludedAttributes=members`);
    assert.equal(member.body.totalResults, 1);

    // Unknown members are refused, and nothing of the request is applied.
    const unknown = await entra('PATCH', `/Groups/${gid}`, patchOp({ op: 'add', path: 'members', value: [{ value: users[0] }, { value: randomUUID() }] }));
    assertScimError(unknown, 400, 'invalidValue');
    const still = await entra('GET', `/Groups/${gid}`);
    assert.deepEqual(still.body.members.map((m: any) => m.value), [users[3]]);
  });

  it('pages users with startIndex and count, projects attributes', async () => {
    const all = await entra('GET', '/Users?count=500');
    const total = all.body.totalResults;
    assert.ok(total >= 3);
    const page2 = await entra('GET', '/Users?startIndex=2&count=2&attributes=userName');
    assert.equal(page2.body.startIndex, 2);
    assert.equal(page2.body.itemsPerPage, 2);
    assert.deepEqual(page2.body.Resources.map((r: any) => r.id), all.body.Resources.slice(1, 3).map((r: any) => r.id));
    assert.deepEqual(Object.keys(page2.body.Resources[0]).sort(), ['id', 'schemas', 'userName']);
    const excluded = await entra('GET', '/Users?count=1&excludedAttributes=emails,name.givenName');
    assert.equal(excluded.body.Resources[0].emails, undefined);
    assert.equal(excluded.body.Resources[0].name.givenName, undefined);
    assert.ok(excluded.body.Resources[0].userName);
  });
});

describe('SCIM writes are events', () => {
  let t: TestApp;
  let tenant: SeededTenant;
  let scim: ReturnType<typeof scimClient>;
  const EVENTS = `query($types: [String!]) { events(types: $types, first: 100) { nodes { type data } } }`;
  const eventsOf = async (types: string[]) =>
    (await t.gql(EVENTS, { types }, tenant.token)).data.events.nodes as Array<{ type: string; data: { userId: string; status: string } }>;

  before(async () => {
    t = await createTestApp();
    tenant = await t.seedTenant('Events tenant');
    scim = scimClient(t, (await createScimToken(t, tenant)).secret);
  });
  after(async () => t?.close());

  it('writes member.updated for creates, updates and group changes, member.removed for DELETE, in the same transactions', async () => {
    const userName = `events.${randomUUID().slice(0, 8)}@example.com`;
    const created = await scim('POST', '/Users', { schemas: [SCIM.user], userName, name: { givenName: 'Eve', familyName: 'Nts' }, active: true });
    assert.equal(created.status, 201);
    const userId = created.body.id as string;
    assert.deepEqual((await eventsOf(['member.updated'])).map((e) => [e.data.userId, e.data.status]), [[userId, 'ACTIVE']]);

    assert.equal((await scim('PATCH', `/Users/${userId}`, patchOp({ op: 'replace', value: { active: false } }))).status, 200);
    const group = await scim('POST', '/Groups', { schemas: [SCIM.group], displayName: 'Event group', members: [{ value: userId }] });
    assert.equal(group.status, 201);
    assert.equal((await scim('DELETE', `/Users/${userId}`)).status, 204);

    const events = await eventsOf(['member.updated', 'member.removed']);
    assert.deepEqual(
      events.map((e) => [e.type, e.data.userId, e.data.status]),
      [
        ['member.updated', userId, 'ACTIVE'],
        ['member.updated', userId, 'SUSPENDED'],
        ['member.updated', userId, 'SUSPENDED'],
        ['member.removed', userId, 'REMOVED'],
      ],
    );

    // A refused write leaves no event behind.
    assert.equal((await scim('POST', '/Users', { schemas: [SCIM.user], userName: 'not-an-email' })).status, 400);
    assert.equal((await eventsOf(['member.updated', 'member.removed'])).length, 4);
  });
});
