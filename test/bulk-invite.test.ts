import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createRequestContext } from '../src/context';
import { countStatements } from '../src/db/query-stats';
import { BULK_INVITE, type GraphQLResponse, type SeededTenant, type TestApp, createTestApp } from './helpers/harness';

type Result = {
  __typename: string;
  index: number;
  email: string | null;
  code?: string;
  existingUser?: boolean;
  firstIndex?: number;
  unknown?: string[];
  invitation?: { id: string; status: string; emailStatus: string } | null;
  user?: { id: string; email: string } | null;
};

describe('bulkInviteUsers', () => {
  let t: TestApp;
  let a: SeededTenant;
  let b: SeededTenant;
  let managerUserId: string;

  const invite = async (tenant: SeededTenant, input: Record<string, unknown>) => {
    const res = await t.gql(BULK_INVITE, { input }, tenant.token);
    return res;
  };
  const count = async (table: string, where = 'true', params: unknown[] = []) =>
    (await t.sql<{ n: number }>(`select count(*)::int as n from ${table} where ${where}`, params))[0].n;

  before(async () => {
    t = await createTestApp();
    a = await t.seedTenant('A');
    b = await t.seedTenant('B');
    const seeded = await invite(a, { users: [{ email: 'manager@example.com', firstName: 'Mona' }, { email: 'member@example.com' }] });
    assert.equal(seeded.data.bulkInviteUsers.successful, 2);
    managerUserId = seeded.data.bulkInviteUsers.results[0].user.id;
    const inB = await invite(b, { users: [{ email: 'in-b@example.com' }, { email: 'b-only@example.com' }, { email: 'b-dry@example.com' }] });
    assert.equal(inB.data.bulkInviteUsers.successful, 3);
  });
  after(() => t.close());

  it('answers every InviteErrorCode and successes with the exact union member, index and code, in input order', async () => {
    const users = [
      {
        email: '  Full.Person@Example.com ',
        firstName: 'Full',
        lastName: 'Person',
        role: 'admin',
        roleIds: [a.roles.member],
        groups: [{ groupId: a.groups[0], isPrimaryOrg: true }, { groupId: a.groups[1] }],
        positionIds: [a.positions[0]],
        managerId: managerUserId,
        phone: '+1 (555) 123-4567',
        country: 'us',
        ipi: '00012345678',
        nickName: 'Fully',
        userType: 'artist',
      },
      { email: 'not-an-email' },
      { email: 'two-primaries@example.com', groups: [{ groupId: a.groups[0], isPrimaryOrg: true }, { groupId: a.groups[1], isPrimaryOrg: true }] },
      { email: 'bad-phone@example.com', phone: '12' },
      { email: 'bad-country@example.com', country: 'ZZ' },
      { email: 'bad-ipi@example.com', ipi: '12ab' },
      { email: 'FULL.person@example.COM' },
      { existingUserId: randomUUID() },
      { email: 'unknown-role@example.com', role: 'Nope' },
      { email: 'unknown-group@example.com', groups: [{ groupId: b.groups[0] }] },
      { email: 'unknown-position@example.com', positionIds: ['not-a-uuid'] },
      { email: 'unknown-manager@example.com', managerId: randomUUID() },
      { email: 'Member@Example.com' },
      { email: 'in-b@example.com', firstName: 'Bea' },
      { email: 'also bad', phone: 'nope', ipi: 'x' },
      { email: 'national@example.com', phone: '020 7946 0958', country: 'GB' },
    ];
    const res = await invite(a, { users });
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    const payload = res.data.bulkInviteUsers;
    const expected: Array<[string, string | null]> = [
      ['UserInvited', null],
      ['InvalidInputError', 'INVALID_EMAIL'],
      ['InvalidInputError', 'INVALID_INPUT'],
      ['InvalidInputError', 'INVALID_PHONE'],
      ['InvalidInputError', 'INVALID_COUNTRY'],
      ['InvalidInputError', 'INVALID_IPI'],
      ['DuplicateInBatchError', 'DUPLICATE_IN_BATCH'],
      ['UnknownReferenceError', 'UNKNOWN_USER'],
      ['UnknownReferenceError', 'UNKNOWN_ROLE'],
      ['UnknownReferenceError', 'UNKNOWN_GROUP'],
      ['UnknownReferenceError', 'UNKNOWN_POSITION'],
      ['UnknownReferenceError', 'UNKNOWN_MANAGER'],
      ['AlreadyMemberError', 'ALREADY_MEMBER'],
      ['UserInvited', null],
      ['InvalidInputError', 'INVALID_EMAIL'],
      ['UserInvited', null],
    ];
    assert.deepEqual(
      payload.results.map((r: Result) => [r.__typename, r.code ?? null]),
      expected,
    );
    payload.results.forEach((r: Result, i: number) => assert.equal(r.index, i));
    assert.deepEqual([payload.total, payload.successful, payload.failed, payload.dryRun], [16, 3, 13, false]);
    assert.equal(payload.results[6].firstIndex, 0);
    assert.deepEqual(payload.results[8].unknown, ['Nope']);
    assert.deepEqual(payload.results[10].unknown, ['not-a-uuid']);
    assert.equal(payload.results[13].existingUser, true, 'a user of another tenant joins this one');
    assert.equal(payload.results[0].existingUser, false);
    assert.equal(payload.results[0].email, 'Full.Person@Example.com');
    assert.equal(payload.results[0].invitation.emailStatus, 'QUEUED');

    const [membership] = await t.sql(
      `select m.id, m.phone, m.country, m.ipi, m.nick_name, m.user_type, mgr.user_id as manager_user_id
         from membership m join users u on u.id = m.user_id left join membership mgr on mgr.id = m.manager_id
        where u.email_normalized = 'full.person@example.com'`,
    );
    assert.deepEqual(
      { ...membership, id: undefined },
      { id: undefined, phone: '+15551234567', country: 'US', ipi: '00012345678', nick_name: 'Fully', user_type: 'artist', manager_user_id: managerUserId },
    );
    const roles = await t.sql('select role_id from membership_role where membership_id = $1 order by role_id', [membership.id]);
    assert.deepEqual(roles.map((r) => r.role_id), [a.roles.admin, a.roles.member].sort());
    const groups = await t.sql('select group_id, is_primary_org from membership_group where membership_id = $1', [membership.id]);
    assert.deepEqual(
      groups.sort((x, y) => (x.group_id < y.group_id ? -1 : 1)),
      [{ group_id: a.groups[0], is_primary_org: true }, { group_id: a.groups[1], is_primary_org: false }].sort((x, y) =>
        x.group_id < y.group_id ? -1 : 1,
      ),
    );
    assert.equal(await count('membership_position', 'membership_id = $1', [membership.id]), 1);
    assert.equal(await count('users', "email_normalized = 'in-b@example.com'"), 1, 'one person across tenants');
    const [national] = await t.sql(`select m.phone from membership m join users u on u.id = m.user_id where u.email_normalized = 'national@example.com'`);
    assert.equal(national.phone, '+442079460958');
  });

  // Without an email no token exists yet: the row holds an unguessable placeholder hash. That the delivered token
  // is stored only as its hash is tested after delivery, in email.test.ts.
  it('sets expiresAt = now + INVITATION_TTL_DAYS and a placeholder token_hash when no email is sent', async () => {
    const res = await invite(a, { users: [{ email: 'ttl@example.com' }], sendEmail: false });
    const invitation = res.data.bulkInviteUsers.results[0].invitation;
    assert.equal(invitation.emailStatus, 'NOT_REQUESTED');
    const days = (Date.parse(invitation.expiresAt) - Date.now()) / 86_400_000;
    assert.ok(days > 6.99 && days <= 7, `expires in ${days} days`);
    const [row] = await t.sql('select token_hash from invitation where id = $1', [invitation.id]);
    assert.match(row.token_hash, /^[0-9a-f]{64}$/);
  });

  it('runs the same number of SQL statements for 10 users as for 1,000, each insert one unnest statement', async () => {
    const statementsFor = async (n: number) => {
      const ctx = await createRequestContext(t.app.contextDeps, { authorization: `Bearer ${a.token}` });
      const users = Array.from({ length: n }, (_, i) => ({
        email: `stmt-${n}-${i}@example.com`,
        roleIds: [a.roles.member],
        groups: [{ groupId: a.groups[0], isPrimaryOrg: true }],
        positionIds: [a.positions[0]],
        managerId: managerUserId,
        metadata: { employeeId: `E${i}` },
        locale: 'de-CH',
      }));
      const { result, statements, inserts } = await countStatements(() => t.app.services.bulkInvites.bulkInviteUsers(ctx, { users }), { inserts: true });
      assert.equal(result.successful, n);
      // A column type the set-based driver cannot express sends a table back to a VALUES list with every value
      // inlined, several times slower at 10,000 people: every table must stay on the unnest path.
      assert.deepEqual(
        inserts!.filter((insert) => !insert.unnest).map((insert) => insert.table).filter((table) => table !== 'email_quota'),
        [],
      );
      assert.ok(['users', 'membership', 'invitation'].every((table) => inserts!.some((insert) => insert.table === table)));
      return statements;
    };
    const ten = await statementsFor(10);
    const thousand = await statementsFor(1000);
    assert.equal(thousand, ten, `10 users: ${ten} statements, 1,000 users: ${thousand}`);
    // 6 lookups, the email-budget upsert, begin, the tenant row lock (seat limit), 6 inserts, the tenant's event-order
    // lock, the events (with their webhook deliveries), the email job, commit.
    assert.ok(ten <= 19, `expected a small constant, got ${ten}`);
    console.log(`# statements per bulk invite request: ${ten} (10 users) and ${thousand} (1,000 users)`);
  });

  it('lets 10 concurrent requests with overlapping emails each invite every email exactly once, without errors', async () => {
    const pool = Array.from({ length: 60 }, (_, i) => `race-${i}@example.com`);
    const requests = Array.from({ length: 10 }, (_, r) => pool.filter((_, i) => (i + r) % 3 !== 0).map((email) => ({ email })));
    const responses = await Promise.all(requests.map((users) => invite(a, { users, sendEmail: false })));
    let invited = 0;
    for (const res of responses) {
      assert.equal(res.errors, undefined, JSON.stringify(res.errors));
      for (const r of res.data.bulkInviteUsers.results as Result[]) {
        if (r.__typename === 'UserInvited') invited++;
        else assert.equal(r.code, 'ALREADY_MEMBER');
      }
    }
    assert.equal(invited, pool.length, 'each email invited by exactly one request');
    const rows = await t.sql(
      `select u.email_normalized, count(m.id)::int as n from users u join membership m on m.user_id = u.id
        where u.email_normalized like 'race-%' group by 1`,
    );
    assert.equal(rows.length, pool.length);
    assert.ok(rows.every((r) => r.n === 1));
  });

  it("treats tenant B's role, group, position and manager ids in A's batch as unknown", async () => {
    const [bMember] = await t.sql(`select u.id from users u where u.email_normalized = 'b-only@example.com'`);
    const res = await invite(a, {
      users: [
        { email: 'x1@example.com', roleIds: [b.roles.admin] },
        { email: 'x2@example.com', groups: [{ groupId: b.groups[1] }] },
        { email: 'x3@example.com', positionIds: [b.positions[0]] },
        { email: 'x4@example.com', managerId: bMember.id },
      ],
    });
    assert.deepEqual(
      res.data.bulkInviteUsers.results.map((r: Result) => r.code),
      ['UNKNOWN_ROLE', 'UNKNOWN_GROUP', 'UNKNOWN_POSITION', 'UNKNOWN_MANAGER'],
    );
  });

  it("refuses a tenantId of B in A's request as FORBIDDEN and writes nothing", async () => {
    const before = await count('membership');
    const res = await invite(a, { tenantId: b.tenantId, users: [{ email: 'sneaky@example.com' }] });
    assert.equal(res.errors?.[0].extensions?.code, 'FORBIDDEN');
    assert.equal(res.data, null);
    assert.equal(await count('membership'), before);
    assert.equal(await count('users', "email_normalized = 'sneaky@example.com'"), 0);
  });

  it('reports in a dry run exactly what a real run does, and writes and queues nothing', async () => {
    const users = [{ email: 'dry@example.com' }, { email: 'member@example.com' }, { email: 'b-dry@example.com' }, { email: 'nope' }];
    const tables = ['users', 'membership', 'invitation', 'membership_role', 'graphile_worker._private_jobs'];
    const before = await Promise.all(tables.map((table) => count(table)));
    const dry = (await invite(a, { users, dryRun: true })).data.bulkInviteUsers;
    assert.deepEqual(await Promise.all(tables.map((table) => count(table))), before, 'nothing written');
    assert.equal(dry.dryRun, true);
    assert.equal(dry.results[0].user, null, 'not yet on the platform');
    assert.equal(dry.results[0].invitation, null);
    assert.ok(dry.results[2].user.id, 'an existing person is shown');
    const real = (await invite(a, { users })).data.bulkInviteUsers;
    const shape = (p: { results: Result[] }) => p.results.map((r) => [r.__typename, r.code ?? null, r.existingUser ?? null]);
    assert.deepEqual(shape(dry), shape(real));
  });

  it('replays an idempotent request without redoing it, refuses the key with other input, and keeps keys per tenant', async () => {
    const input = { users: [{ email: 'idem@example.com' }], idempotencyKey: 'key-1' };
    const first = (await invite(a, input)).data.bulkInviteUsers;
    const memberships = await count('membership');
    const again = (await invite(a, input)).data.bulkInviteUsers;
    assert.deepEqual(again, first);
    assert.equal(again.results[0].__typename, 'UserInvited', 'the stored payload, not ALREADY_MEMBER');
    assert.equal(await count('membership'), memberships, 'nothing re-done');
    const dry = (await invite(a, { ...input, dryRun: true })).data.bulkInviteUsers;
    assert.deepEqual({ ...dry, dryRun: false }, first, 'a dry run with the key reports what the real run would: the stored outcome');
    assert.equal(dry.dryRun, true);
    const other = await invite(a, { ...input, users: [{ email: 'other@example.com' }] });
    assert.equal(other.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
    assert.equal(await count('users', "email_normalized = 'other@example.com'"), 0);
    const inB = (await invite(b, { ...input, users: [{ email: 'idem-b@example.com' }] })).data.bulkInviteUsers;
    assert.equal(inB.successful, 1, 'the same key in another tenant is another request');
  });

  it('frees an idempotency key after 24 hours', async () => {
    const input = { users: [{ email: 'day-one@example.com' }], idempotencyKey: 'daily-import' };
    assert.equal((await invite(a, input)).data.bulkInviteUsers.successful, 1);
    await t.sql(`update idempotency_record set created_at = now() - interval '25 hours' where key = 'daily-import'`);
    const nextDay = await invite(a, { ...input, users: [{ email: 'day-two@example.com' }] });
    assert.equal(nextDay.errors, undefined, JSON.stringify(nextDay.errors));
    assert.equal(nextDay.data.bulkInviteUsers.successful, 1, 'a new request, not a conflict');
    assert.deepEqual(await t.sql(`select count(*)::int as n from idempotency_record where key = 'daily-import'`), [{ n: 1 }]);
  });

  it('refuses a whole request with a disallowed redirectUrl or an over-long message, writing nothing', async () => {
    const before = await count('membership');
    for (const extra of [{ redirectUrl: 'javascript:alert(1)' }, { redirectUrl: 'http://evil.example.com/' }, { message: 'x'.repeat(2001) }]) {
      const res = await invite(a, { users: [{ email: 'refused@example.com' }], ...extra });
      assert.equal(res.errors?.[0].extensions?.code, 'BAD_USER_INPUT', JSON.stringify(extra));
    }
    assert.equal(await count('membership'), before);
    const ok = await invite(a, { users: [{ email: 'redirected@example.com' }], redirectUrl: 'https://app.example.com/welcome', message: 'x'.repeat(2000) });
    assert.equal(ok.data.bulkInviteUsers.results[0].invitation.redirectUrl, 'https://app.example.com/welcome');
  });

  it('fails the whole request with a top-level error when the database fails mid-write, and writes nothing of it', async () => {
    await t.sql(`create function fail_on_boom() returns trigger language plpgsql as $$
      begin if new.email = 'boom@example.com' then raise exception 'disk on fire'; end if; return new; end $$`);
    await t.sql('create trigger fail_on_boom before insert on invitation for each row execute function fail_on_boom()');
    try {
      const before = await Promise.all(['users', 'membership', 'invitation'].map((table) => count(table)));
      const res = await invite(a, { users: [{ email: 'fine@example.com' }, { email: 'boom@example.com' }] });
      assert.equal(res.data, null);
      assert.equal(res.errors?.[0].extensions?.code, 'INTERNAL_SERVER_ERROR');
      assert.doesNotMatch(res.errors![0].message, /disk on fire/, 'details stay in the log');
      assert.deepEqual(await Promise.all(['users', 'membership', 'invitation'].map((table) => count(table))), before);
    } finally {
      await t.sql('drop trigger fail_on_boom on invitation');
    }
  });

  it('refuses more than BULK_INVITE_MAX_USERS users before writing, and invites 10,000 users in one request', async () => {
    const users = Array.from({ length: 10_001 }, (_, i) => ({
      email: `bulk-${i}@example.com`,
      firstName: 'Bulk',
      lastName: `User ${i}`,
      roleIds: [a.roles.member],
      groups: [{ groupId: a.groups[0], isPrimaryOrg: true }],
      positionIds: [a.positions[0]],
    }));
    const before = await count('membership');
    const tooMany = await invite(a, { users });
    assert.equal(tooMany.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
    assert.equal(await count('membership'), before);

    const started = performance.now();
    const res = await invite(a, { users: users.slice(0, 10_000) });
    const ms = performance.now() - started;
    assert.equal(res.errors, undefined);
    assert.equal(res.data.bulkInviteUsers.successful, 10_000);
    assert.equal(await count('membership') - before, 10_000);
    assert.equal(await count('membership_group', 'is_primary_org') >= 10_000, true);
    console.log(`# 10,000-user bulkInviteUsers over GraphQL (in-process): ${Math.round(ms)} ms`);
  });
});

describe('invitations, resendInvitation and revokeInvitation', () => {
  let t: TestApp;
  let a: SeededTenant;
  let b: SeededTenant;
  const LIST = `query($status: InvitationStatus, $first: Int, $after: String) {
    invitations(status: $status, first: $first, after: $after) { totalCount nodes { id email status emailStatus } pageInfo { hasNextPage endCursor } }
  }`;

  before(async () => {
    t = await createTestApp();
    a = await t.seedTenant('A');
    b = await t.seedTenant('B');
    const users = Array.from({ length: 7 }, (_, i) => ({ email: `page-${i}@example.com` }));
    await t.gql(BULK_INVITE, { input: { users, sendEmail: false } }, a.token);
    await t.gql(BULK_INVITE, { input: { users: [{ email: 'b-only@example.com' }] } }, b.token);
  });
  after(() => t.close());

  it('pages newest first with a total count, only within the tenant', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const res: GraphQLResponse = await t.gql(LIST, { first: 3, after }, a.token);
      assert.equal(res.errors, undefined, JSON.stringify(res.errors));
      const page = res.data.invitations;
      assert.equal(page.totalCount, 7);
      seen.push(...page.nodes.map((n: { email: string }) => n.email));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
      pages++;
    } while (after);
    assert.equal(pages, 3);
    assert.equal(new Set(seen).size, 7);
    assert.ok(!seen.includes('b-only@example.com'));
    const tooBig = await t.gql(LIST, { first: 501 }, a.token);
    assert.equal(tooBig.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
  });

  it('resends with a new token and a queued email, revokes, and filters by status', async () => {
    const list = await t.gql(LIST, { first: 2 }, a.token);
    const [first, second] = list.data.invitations.nodes;
    const [before] = await t.sql('select token_hash from invitation where id = $1', [first.id]);
    const resent = await t.gql('mutation($id: ID!) { resendInvitation(id: $id) { id status emailStatus } }', { id: first.id }, a.token);
    assert.deepEqual(resent.data.resendInvitation, { id: first.id, status: 'PENDING', emailStatus: 'QUEUED' });
    const [afterResend] = await t.sql('select token_hash from invitation where id = $1', [first.id]);
    assert.notEqual(afterResend.token_hash, before.token_hash, 'the old link stops working');

    const revoked = await t.gql('mutation($id: ID!) { revokeInvitation(id: $id) { id status } }', { id: second.id }, a.token);
    assert.equal(revoked.data.revokeInvitation.status, 'REVOKED');
    const [membership] = await t.sql('select m.status from membership m join invitation i on i.membership_id = m.id where i.id = $1', [second.id]);
    assert.equal(membership.status, 'REMOVED');
    const onlyRevoked = await t.gql(LIST, { status: 'REVOKED' }, a.token);
    assert.deepEqual(onlyRevoked.data.invitations.nodes.map((n: { id: string }) => n.id), [second.id]);
    const reinvitedOne = await t.gql('mutation($id: ID!) { resendInvitation(id: $id) { id status emailStatus } }', { id: second.id }, a.token);
    assert.deepEqual(reinvitedOne.data.resendInvitation, { id: second.id, status: 'PENDING', emailStatus: 'QUEUED' }, 'resending a revoked invitation invites again');
    const [back] = await t.sql('select m.status from membership m join invitation i on i.membership_id = m.id where i.id = $1', [second.id]);
    assert.equal(back.status, 'INVITED');

    // Revoked again, the person can be invited again by bulk invite: a new invitation on the same membership.
    await t.gql('mutation($id: ID!) { revokeInvitation(id: $id) { id } }', { id: second.id }, a.token);
    const again = await t.gql(BULK_INVITE, { input: { users: [{ email: second.email.toUpperCase(), firstName: 'Again' }] } }, a.token);
    assert.equal(again.errors, undefined, JSON.stringify(again.errors));
    const [result] = again.data.bulkInviteUsers.results;
    assert.equal(result.__typename, 'UserInvited');
    assert.equal(result.existingUser, true);
    assert.notEqual(result.invitation.id, second.id, 'a new invitation');
    const rows = await t.sql(
      `select i.id, i.status, m.status as member, m.first_name from invitation i join membership m on m.id = i.membership_id
       where m.id = (select membership_id from invitation where id = $1) order by i.created_at`,
      [second.id],
    );
    assert.deepEqual(rows.map((r) => [r.id, r.status, r.member, r.first_name]), [
      [second.id, 'REVOKED', 'INVITED', 'Again'],
      [result.invitation.id, 'PENDING', 'INVITED', 'Again'],
    ]);
    const stale = await t.gql('mutation($id: ID!) { resendInvitation(id: $id) { id } }', { id: second.id }, a.token);
    assert.equal(stale.errors?.[0].extensions?.code, 'BAD_USER_INPUT', 'the old invitation is superseded');
    const twice = await t.gql(BULK_INVITE, { input: { users: [{ email: second.email }] } }, a.token);
    assert.equal(twice.data.bulkInviteUsers.results[0].code, 'ALREADY_MEMBER');
  });

  it("treats another tenant's invitation id exactly like a missing one", async () => {
    const bList = await t.gql(LIST, {}, b.token);
    const bId = bList.data.invitations.nodes[0].id;
    for (const id of [bId, randomUUID(), 'not-a-uuid']) {
      const res = await t.gql('mutation($id: ID!) { revokeInvitation(id: $id) { id } }', { id }, a.token);
      assert.equal(res.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
      assert.equal(res.errors?.[0].message, 'Invitation not found');
    }
    const [row] = await t.sql('select status from invitation where id = $1', [bId]);
    assert.equal(row.status, 'PENDING');
  });
});
