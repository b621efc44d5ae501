import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { User } from '../src/entities';
import { BULK_INVITE, type SeededTenant, type TestApp, createTestApp } from './helpers/harness';
import { committedSamples, samplesFromSharedSeeds, shapeOf } from './helpers/seeds';

const APTLYDONE = '/auth/v1/user/bulk-invite';
const ROYALTI = '/user/bulk';

describe('REST compatibility endpoints', () => {
  let t: TestApp;
  let a: SeededTenant;
  let managerUserId: string;

  const count = async (table: string) => (await t.sql<{ n: number }>(`select count(*)::int as n from ${table}`))[0].n;

  before(async () => {
    t = await createTestApp({ BULK_INVITE_MAX_USERS: '50' });
    a = await t.seedTenant('Seeds');
    const seeded = await t.gql(BULK_INVITE, { input: { users: [{ email: 'boss@example.com' }] } }, a.token);
    managerUserId = seeded.data.bulkInviteUsers.results[0].user.id;
  });
  after(() => t.close());

  it('has committed seed samples with every field the contract documents, identical to ../shared/seeds when that is beside the checkout', () => {
    const samples = committedSamples();
    const keys = (o: object) => Object.keys(o).sort();
    assert.deepEqual(keys(samples.aptlydone.request), ['tenantId', 'users']);
    assert.deepEqual(
      keys(samples.aptlydone.request.users[0]),
      ['email', 'existingUser', 'firstName', 'groups', 'lastName', 'managerId', 'mobilePhone', 'positionIds', 'roleIds'],
    );
    assert.deepEqual(keys(samples.aptlydone.request.users[0].groups[0]), ['groupId', 'isPrimaryOrg']);
    assert.deepEqual(samples.aptlydone.request.users[0].existingUser, {});
    assert.deepEqual(keys(samples.aptlydone.response), ['data', 'message', 'statusCode', 'timestamp']);
    assert.deepEqual(keys(samples.aptlydone.response.data), ['failed', 'results', 'successful', 'total']);
    assert.deepEqual(keys(samples.royalti.request), ['message', 'redirect_url', 'sendEmail', 'users']);
    assert.deepEqual(keys(samples.royalti.request.users[0]), ['country', 'email', 'firstName', 'ipi', 'lastName', 'nickName', 'phone', 'role', 'userType']);
    assert.deepEqual(keys(samples.royalti.response), ['createdUsers', 'errors', 'message', 'processedCount']);
    const shared = samplesFromSharedSeeds();
    if (shared) assert.deepEqual(samples, shared);
  });

  it("answers the aptlydone sample request (with this tenant's ids) with exactly the documented keys and types", async () => {
    const { request, response } = committedSamples().aptlydone;
    const body = structuredClone(request);
    body.tenantId = a.tenantId;
    Object.assign(body.users[0], {
      email: 'maryam.smith@example.com',
      roleIds: [a.roles.admin],
      groups: [{ groupId: a.groups[0], isPrimaryOrg: true }],
      managerId: managerUserId,
      positionIds: [a.positions[0]],
    });
    const res = await t.post(APTLYDONE, body, a.token);
    assert.equal(res.status, 200);
    assert.deepEqual(shapeOf(res.body), shapeOf(response));
    assert.deepEqual(res.body.data, {
      total: 1,
      successful: 1,
      failed: 0,
      results: [{ email: 'maryam.smith@example.com', success: true, message: 'Invitation sent successfully' }],
    });
    assert.equal(res.body.message, 'Success');
    assert.equal(res.body.statusCode, 200);
    assert.ok(!Number.isNaN(Date.parse(res.body.timestamp)));
    const [row] = await t.sql(
      `select i.email_status, m.phone from invitation i join membership m on m.id = i.membership_id where i.email = 'maryam.smith@example.com'`,
    );
    assert.deepEqual(row, { email_status: 'QUEUED', phone: '+15551234567' }, 'always sends the email; mobilePhone is the phone');

    const again = await t.post(APTLYDONE, body, a.token);
    assert.deepEqual(again.body.data.results, [{ email: 'maryam.smith@example.com', success: false, message: 'Email already exists' }]);
  });

  it("answers the royalti sample request (with this tenant's role) with exactly the documented keys and types", async () => {
    const { request, response } = committedSamples().royalti;
    const body = structuredClone(request);
    Object.assign(body.users[0], {
      firstName: 'John',
      lastName: 'Doe',
      nickName: 'JD',
      userType: 'artist',
      email: 'john.doe@example.com',
      ipi: '00012345678',
      role: 'member',
      phone: '+1 (555) 123-4567',
      country: 'US',
    });
    body.users.push({ firstName: 'Bo', lastName: 'Ss', email: 'boss@example.com' });
    body.redirect_url = 'https://app.example.com/welcome';
    body.message = 'Welcome!';
    const res = await t.post(ROYALTI, body, a.token);
    assert.equal(res.status, 200);
    assert.deepEqual(shapeOf(res.body), shapeOf(response));
    assert.deepEqual(res.body, {
      message: 'Done.',
      createdUsers: ['John Doe'],
      processedCount: 2,
      errors: ['User Bo Ss already associated with workspace!'],
    });
  });

  it('reports createdUsers, processedCount and errors in request order for a mixed batch (royalti)', async () => {
    await t.gql(BULK_INVITE, { input: { users: [{ email: 'jane@example.com' }] } }, a.token);
    const res = await t.post(
      ROYALTI,
      {
        users: [
          { firstName: 'Jericho', lastName: 'Doe', email: 'jericho@example.com' },
          { firstName: 'Jane', lastName: 'Doe', email: 'jane@example.com' },
          { firstName: 'Jacob', lastName: 'Doe', email: 'jacob-at-example.com' },
          { firstName: 'Jim', lastName: 'Doe', email: 'jim@example.com', role: 'Drummer' },
          { firstName: 'Jake', lastName: 'Doe', email: 'jake@' },
          { firstName: 'Joan', lastName: 'Doe', email: 'joan@example.com', ipi: '123' },
          { firstName: 'Jill', lastName: 'Doe', email: 'jill@example.com' },
        ],
        sendEmail: false,
      },
      a.token,
    );
    assert.deepEqual(res.body, {
      message: 'Done.',
      createdUsers: ['Jericho Doe', 'Jill Doe'],
      processedCount: 3,
      errors: [
        'User Jane Doe already associated with workspace!',
        'Invalid email format for Jacob Doe',
        'Role not found for Jim Doe',
        'Invalid email format for Jake Doe',
        'Invalid IPI number for Joan Doe',
      ],
    });
    const [row] = await t.sql(`select email_status from invitation where email = 'jill@example.com'`);
    assert.equal(row.email_status, 'NOT_REQUESTED', 'sendEmail: false is honoured');
  });

  it("refuses unknown fields with 400 naming the field, in each product's format, writing nothing", async () => {
    const before = await count('membership');
    const royalti: Array<[unknown, string]> = [
      [{ users: [{ email: 'typo@example.com' }], sendEmails: false }, 'Unknown field: sendEmails'],
      [{ users: [{ email: 'typo@example.com', favouriteColour: 'teal' }] }, 'Unknown field: users[0].favouriteColour'],
      [{ users: [{ email: 'ok@example.com' }, { email: 'typo@example.com', mobilePhone: '+15551234567' }] }, 'Unknown field: users[1].mobilePhone'],
      [{ users: [{ email: 'typo@example.com' }], redirectUrl: 'https://app.example.com/' }, 'Unknown field: redirectUrl'],
    ];
    for (const [body, message] of royalti) {
      const res = await t.post(ROYALTI, body, a.token);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.deepEqual(res.body, { message });
    }
    const aptlydone: Array<[unknown, string]> = [
      [{ users: [{ email: 'typo@example.com' }], sendEmail: false }, 'Unknown field: sendEmail'],
      [{ users: [{ email: 'typo@example.com', phone: '+15551234567' }] }, 'Unknown field: users[0].phone'],
      [{ users: [{ email: 'typo@example.com', existingUser: { userId: null, id: 'x' } }] }, 'Unknown field: users[0].existingUser.id'],
      [{ users: [{ email: 'typo@example.com', groups: [{ groupId: a.groups[0], primary: true }] }] }, 'Unknown field: users[0].groups[0].primary'],
    ];
    for (const [body, message] of aptlydone) {
      const res = await t.post(APTLYDONE, body, a.token);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.deepEqual(Object.keys(res.body).sort(), ['message', 'statusCode', 'timestamp']);
      assert.equal(res.body.statusCode, 400);
      assert.equal(res.body.message, message);
    }
    assert.equal(await count('membership'), before);
    assert.equal((await t.sql(`select count(*)::int as n from invitation where email = 'typo@example.com'`))[0].n, 0);
  });

  it('accepts every documented field, null where the products allow it', async () => {
    const apt = await t.post(
      APTLYDONE,
      {
        tenantId: null,
        users: [
          { email: 'nulls@example.com', firstName: null, lastName: null, mobilePhone: null, roleIds: null, groups: null, managerId: null, positionIds: null, existingUser: null },
          { email: 'empty@example.com', existingUser: {}, groups: [{ groupId: a.groups[0], isPrimaryOrg: null }] },
          { email: 'nulluser@example.com', existingUser: { userId: null } },
        ],
      },
      a.token,
    );
    assert.equal(apt.status, 200, JSON.stringify(apt.body));
    assert.equal(apt.body.data.successful, 3, JSON.stringify(apt.body));
    const roy = await t.post(
      ROYALTI,
      {
        users: [{ email: 'roy-nulls@example.com', firstName: null, lastName: null, nickName: null, userType: null, ipi: null, role: null, phone: null, country: null }],
        sendEmail: null,
        redirect_url: null,
        message: null,
      },
      a.token,
    );
    assert.equal(roy.status, 200, JSON.stringify(roy.body));
    assert.deepEqual(roy.body.createdUsers, ['roy-nulls@example.com']);
  });

  it('refuses an over-long message and a redirect_url the policy refuses (royalti), writing nothing', async () => {
    const before = await count('membership');
    const users = [{ email: 'refused@example.com' }];
    const long = await t.post(ROYALTI, { users, message: 'x'.repeat(2001) }, a.token);
    assert.equal(long.status, 400);
    assert.deepEqual(Object.keys(long.body), ['message']);
    assert.match(long.body.message, /message/);
    assert.match(long.body.message, /2000/);
    for (const redirect_url of ['javascript:alert(1)', 'http://evil.example.com/', 'https://user:pw@app.example.com/', 'not a url', 'data:text/html,hi']) {
      const refused = await t.post(ROYALTI, { users, redirect_url }, a.token);
      assert.equal(refused.status, 400, redirect_url);
      assert.deepEqual(Object.keys(refused.body), ['message'], redirect_url);
      assert.match(refused.body.message, /redirect/i, redirect_url);
    }
    assert.equal((await t.post(ROYALTI, { users, message: 'x'.repeat(2000), redirect_url: 'https://app.example.com/ok' }, a.token)).status, 200);
    assert.equal(await count('membership'), before + 1);
  });

  it('invites a registered user by existingUser.userId (aptlydone); another tenant\'s person is "User not found"', async () => {
    const em = t.orm.em.fork();
    const registered = em.create(User, { email: 'registered@example.com', emailNormalized: 'registered@example.com' });
    await em.flush();
    const other = await t.seedTenant('Elsewhere');
    const made = await t.gql(BULK_INVITE, { input: { users: [{ email: 'theirs@example.com' }] } }, other.token);
    const theirs = made.data.bulkInviteUsers.results[0].user.id;
    const res = await t.post(
      APTLYDONE,
      { users: [{ existingUser: { userId: registered.id } }, { existingUser: { userId: theirs } }, { existingUser: { userId: '00000000-0000-4000-8000-000000000000' } }] },
      a.token,
    );
    assert.deepEqual(res.body.data.results, [
      { email: 'registered@example.com', success: true, message: 'Invitation sent successfully' },
      { email: '', success: false, message: 'User not found' },
      { email: '', success: false, message: 'User not found' },
    ]);
  });

  const malformed: Array<[string, string]> = [
    ['not JSON', '{"users": ['],
    ['not an object', '[{"email": "a@example.com"}]'],
    ['users missing', '{"people": []}'],
    ['users not an array', '{"users": {"email": "a@example.com"}}'],
    ['a user that is not an object', '{"users": [42]}'],
  ];
  for (const [what, payload] of malformed) {
    it(`answers a body that is ${what} with 400 in each product's format, writing nothing`, async () => {
      const before = await count('membership');
      const apt = await t.post(APTLYDONE, payload, a.token);
      assert.equal(apt.status, 400);
      assert.deepEqual(Object.keys(apt.body).sort(), ['message', 'statusCode', 'timestamp']);
      assert.equal(apt.body.statusCode, 400);
      const roy = await t.post(ROYALTI, payload, a.token);
      assert.equal(roy.status, 400);
      assert.deepEqual(Object.keys(roy.body), ['message']);
      assert.equal(await count('membership'), before);
    });
  }

  it('answers 401, 403, 409 and 413 in each format', async () => {
    const users = [{ email: 'fmt@example.com' }];
    const noToken = await t.post(APTLYDONE, { users });
    assert.equal(noToken.status, 401);
    assert.equal(noToken.body.statusCode, 401);
    assert.equal((await t.post(ROYALTI, { users })).status, 401);

    const other = await t.seedTenant('Other');
    const mismatch = await t.post(APTLYDONE, { tenantId: other.tenantId, users }, a.token);
    assert.equal(mismatch.status, 403);
    assert.equal(mismatch.body.statusCode, 403);
    const readOnly = t.token({ tenantId: a.tenantId, permissions: ['users:read'] });
    const forbidden = await t.post(ROYALTI, { users }, readOnly);
    assert.equal(forbidden.status, 403);
    assert.deepEqual(Object.keys(forbidden.body), ['message']);

    const key = { 'idempotency-key': 'rest-key-1' };
    const first = await t.post(ROYALTI, { users }, a.token, key);
    const replay = await t.post(ROYALTI, { users }, a.token, key);
    assert.deepEqual(replay.body, first.body, 'the same key replays the first answer');
    assert.deepEqual(first.body.createdUsers, ['fmt@example.com']);
    const conflict = await t.post(ROYALTI, { users: [{ email: 'different@example.com' }] }, a.token, key);
    assert.equal(conflict.status, 409);
    assert.deepEqual(Object.keys(conflict.body), ['message']);
    const aptConflict = await t.post(APTLYDONE, { users: [{ email: 'different@example.com' }] }, a.token, key);
    assert.equal(aptConflict.status, 409);
    assert.equal(aptConflict.body.statusCode, 409);

    const before = await count('membership');
    const tooMany = Array.from({ length: 51 }, (_, i) => ({ email: `many-${i}@example.com` }));
    const aptTooMany = await t.post(APTLYDONE, { users: tooMany }, a.token);
    assert.equal(aptTooMany.status, 413);
    assert.equal(aptTooMany.body.statusCode, 413);
    const royTooMany = await t.post(ROYALTI, { users: tooMany }, a.token);
    assert.equal(royTooMany.status, 413);
    const huge = JSON.stringify({ users: [{ email: 'big@example.com', firstName: 'x'.repeat(1_100_000) }] });
    const tooLarge = await t.post(ROYALTI, huge, a.token);
    assert.equal(tooLarge.status, 413);
    assert.deepEqual(Object.keys(tooLarge.body), ['message']);
    assert.equal((await t.post(APTLYDONE, huge, a.token)).status, 413);
    const gqlTooLarge = await t.app.server.inject({
      method: 'POST',
      url: '/graphql',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${a.token}` },
      payload: JSON.stringify({ query: BULK_INVITE, variables: { input: { users: [{ email: 'x'.repeat(1_100_000) }] } } }),
    });
    assert.equal(gqlTooLarge.json().errors[0].extensions.code, 'BAD_USER_INPUT');
    assert.equal(await count('membership'), before);
  });

  it('gives the same per-user outcome through GraphQL, aptlydone and royalti (three fresh tenants)', async () => {
    const people = [
      { firstName: 'Ok', lastName: 'One', email: 'ok1@example.com', phone: '+44 20 7946 0958' },
      { firstName: 'Bad', lastName: 'Mail', email: 'bad-mail' },
      { firstName: 'Dup', lastName: 'One', email: 'OK1@example.com' },
      { firstName: 'Old', lastName: 'Member', email: 'old@example.com' },
      { firstName: 'Bad', lastName: 'Phone', email: 'phone@example.com', phone: '12' },
      { firstName: 'No', lastName: 'Role', email: 'norole@example.com', unknownRole: true },
      { firstName: 'Ok', lastName: 'Two', email: 'ok2@example.com', withRole: true },
    ];
    const expected = [null, 'INVALID_EMAIL', 'DUPLICATE_IN_BATCH', 'ALREADY_MEMBER', 'INVALID_PHONE', 'UNKNOWN_ROLE', null];
    const tenants = await Promise.all(['gql', 'apt', 'roy'].map((name) => t.seedTenant(`Parity ${name}`)));
    for (const tenant of tenants) await t.gql(BULK_INVITE, { input: { users: [{ email: 'old@example.com' }] } }, tenant.token);
    const missingRole = '00000000-0000-4000-8000-000000000000';

    const [gqlTenant, aptTenant, royTenant] = tenants;
    const gql = await t.gql(
      BULK_INVITE,
      {
        input: {
          users: people.map(({ unknownRole, withRole, ...p }) => ({
            ...p,
            ...(unknownRole ? { roleIds: [missingRole] } : withRole ? { roleIds: [gqlTenant.roles.member] } : {}),
          })),
        },
      },
      gqlTenant.token,
    );
    const gqlCodes = gql.data.bulkInviteUsers.results.map((r: { code?: string }) => r.code ?? null);

    const apt = await t.post(
      APTLYDONE,
      {
        tenantId: aptTenant.tenantId,
        users: people.map(({ unknownRole, withRole, phone, ...p }) => ({
          ...p,
          mobilePhone: phone,
          ...(unknownRole ? { roleIds: [missingRole] } : withRole ? { roleIds: [aptTenant.roles.member] } : {}),
        })),
      },
      aptTenant.token,
    );
    const reasons: Record<string, string> = {
      INVALID_EMAIL: 'Invalid email format',
      DUPLICATE_IN_BATCH: 'Duplicate email in this request',
      ALREADY_MEMBER: 'Email already exists',
      INVALID_PHONE: 'Invalid phone number',
      UNKNOWN_ROLE: 'Role not found',
    };

    const roy = await t.post(
      ROYALTI,
      { users: people.map(({ unknownRole, withRole, ...p }) => ({ ...p, ...(unknownRole ? { role: 'Nope' } : withRole ? { role: 'Member' } : {}) })) },
      royTenant.token,
    );

    assert.deepEqual(gqlCodes, expected);
    assert.deepEqual(
      apt.body.data.results.map((r: { success: boolean; message: string }) => (r.success ? null : r.message)),
      expected.map((code) => (code ? reasons[code] : null)),
    );
    const name = (i: number) => `${people[i].firstName} ${people[i].lastName}`;
    assert.deepEqual(roy.body, {
      message: 'Done.',
      createdUsers: expected.flatMap((code, i) => (code ? [] : [name(i)])),
      processedCount: expected.filter((code) => code === null || code === 'ALREADY_MEMBER').length,
      errors: expected.flatMap((code, i) =>
        !code ? [] : code === 'ALREADY_MEMBER' ? [`User ${name(i)} already associated with workspace!`] : [`${reasons[code]} for ${name(i)}`],
      ),
    });
    const rows = await t.sql(
      `select t.name, count(*)::int as n from membership m join tenant t on t.id = m.tenant_id where t.name like 'Parity %' group by 1 order by 1`,
    );
    assert.deepEqual(rows, [
      { name: 'Parity apt', n: 3 },
      { name: 'Parity gql', n: 3 },
      { name: 'Parity roy', n: 3 },
    ]);
  });

  it('publishes OpenAPI 3 for both endpoints with request and response examples, and a docs page', async () => {
    const res = await t.app.server.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(res.statusCode, 200);
    const doc = res.json();
    assert.match(doc.openapi, /^3\./);
    for (const path of [APTLYDONE, ROYALTI]) {
      const op = doc.paths[path]?.post;
      assert.ok(op, `${path} documented`);
      // Bodies are named schemas (components.schemas), which carry the examples.
      const named = (media: any) => doc.components.schemas[media.schema.$ref.replace('#/components/schemas/', '')];
      assert.ok(named(op.requestBody.content['application/json']).example, `${path} request example`);
      assert.ok(named(op.responses['200'].content['application/json']).example, `${path} response example`);
      for (const status of ['400', '401', '403', '409', '413', '429']) assert.ok(op.responses[status], `${path} documents ${status}`);
    }
    const docs = await t.app.server.inject({ method: 'GET', url: '/docs/' });
    assert.equal(docs.statusCode, 200);
    assert.match(docs.body, /swagger/i);
  });
});
