import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createRequestContext } from '../src/context';
import { countStatements } from '../src/db/query-stats';
import { hashToken } from '../src/services/tokens';
import { BULK_INVITE, type SeededTenant, type TestApp, createTestApp } from './helpers/harness';

const MEMBER_FIELDS = `user { id email firstName lastName } status roles { id name } groups { group { id name } isPrimaryOrg }
  positions { id title } manager { id email } nickName userType phone country createdAt activatedAt invitation { id status email }`;
const MEMBERS = `query($status: MemberStatus, $search: String, $roleId: ID, $groupId: ID, $first: Int, $after: String) {
  members(status: $status, search: $search, roleId: $roleId, groupId: $groupId, first: $first, after: $after) {
    totalCount nodes { user { id email firstName } status } pageInfo { hasNextPage endCursor } } }`;
const MEMBER = `query($userId: ID!) { member(userId: $userId) { ${MEMBER_FIELDS} } }`;
const UPDATE = `mutation($userId: ID!, $input: UpdateMemberInput!) { updateMember(userId: $userId, input: $input) { ${MEMBER_FIELDS} } }`;
const REMOVE = `mutation($userId: ID!) { removeMember(userId: $userId) { status invitation { id status } } }`;
const RESEND_MANY = `mutation($ids: [ID!]!) { resendInvitations(ids: $ids) { results { id ok code message invitation { id status emailStatus } } } }`;
const REVOKE_MANY = `mutation($ids: [ID!]!) { revokeInvitations(ids: $ids) { results { id ok code message invitation { id status emailStatus } } } }`;
const INVITATION = `query($id: ID!) { invitation(id: $id) { id email status } }`;
const INVITATIONS_BY_EMAIL = `query($email: String, $status: InvitationStatus) { invitations(email: $email, status: $status) { totalCount nodes { id email } } }`;

type Invited = { email: string; userId: string; invitationId: string };

describe('management API', () => {
  let t: TestApp;
  let a: SeededTenant;
  let b: SeededTenant;
  let inA: Invited[];
  let inB: Invited[];

  const invite = async (tenant: SeededTenant, users: Array<Record<string, unknown>>): Promise<Invited[]> => {
    const res = await t.gql(BULK_INVITE, { input: { users, sendEmail: false } }, tenant.token);
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    return res.data.bulkInviteUsers.results.map((r: any) => {
      assert.equal(r.__typename, 'UserInvited', JSON.stringify(r));
      return { email: r.email, userId: r.user.id, invitationId: r.invitation.id };
    });
  };
  const accept = async (invitationId: string) => {
    const token = `known-token-${randomUUID()}`;
    await t.sql('update invitation set token_hash = $1 where id = $2', [hashToken(token), invitationId]);
    const res = await t.gql('mutation($token: String!) { acceptInvitation(token: $token) { invitation { status } } }', { token });
    assert.equal(res.data.acceptInvitation.invitation.status, 'ACCEPTED');
  };
  const code = (res: { errors?: Array<{ extensions?: { code?: string } }> }) => res.errors?.[0]?.extensions?.code;

  before(async () => {
    t = await createTestApp();
    a = await t.seedTenant('A');
    b = await t.seedTenant('B');
    inA = await invite(a, [
      { email: 'ann.smith@example.com', firstName: 'Ann', lastName: 'Smith', roleIds: [a.roles.admin], groups: [{ groupId: a.groups[0], isPrimaryOrg: true }] },
      { email: 'bob.jones@example.com', firstName: 'Bob', lastName: 'Annley', roleIds: [a.roles.member] },
      { email: 'carl_x@example.com', firstName: 'Carl', lastName: 'X', groups: [{ groupId: a.groups[1] }] },
      { email: 'carlyx@example.com', firstName: 'Carly' },
      { email: 'dora@example.com', firstName: 'Dora' },
    ]);
    inB = await invite(b, [{ email: 'b-person@example.com', firstName: 'Ann' }, { email: 'b-other@example.com' }]);
  });
  after(async () => t?.close());

  it('lists members newest first with status, search, role and group filters, and pages with cursors', async () => {
    await accept(inA[0].invitationId);
    const all = await t.gql(MEMBERS, { first: 2 }, a.token);
    assert.equal(all.errors, undefined, JSON.stringify(all.errors));
    assert.equal(all.data.members.totalCount, 5);
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const res: any = await t.gql(MEMBERS, { first: 2, after }, a.token);
      seen.push(...res.data.members.nodes.map((n: any) => n.user.email));
      after = res.data.members.pageInfo.hasNextPage ? res.data.members.pageInfo.endCursor : null;
    } while (after);
    assert.deepEqual([...seen].sort(), inA.map((p) => p.email).sort(), 'every member once across pages');

    const emails = async (vars: Record<string, unknown>) => {
      const res = await t.gql(MEMBERS, vars, a.token);
      assert.equal(res.errors, undefined, JSON.stringify(res.errors));
      assert.equal(res.data.members.totalCount, res.data.members.nodes.length);
      return res.data.members.nodes.map((n: any) => n.user.email).sort();
    };
    assert.deepEqual(await emails({ status: 'ACTIVE' }), ['ann.smith@example.com']);
    assert.deepEqual(await emails({ status: 'INVITED' }), inA.slice(1).map((p) => p.email).sort());
    // A prefix of the email, the first name or the last name, case-insensitively.
    assert.deepEqual(await emails({ search: 'ANN' }), ['ann.smith@example.com', 'bob.jones@example.com']);
    assert.deepEqual(await emails({ search: 'bob.j' }), ['bob.jones@example.com']);
    assert.deepEqual(await emails({ search: 'smi' }), ['ann.smith@example.com']);
    assert.deepEqual(await emails({ search: 'mith' }), [], 'a prefix, not a substring');
    // LIKE wildcards are literal: "carl_" matches carl_x, not carly.
    assert.deepEqual(await emails({ search: 'carl_' }), ['carl_x@example.com']);
    assert.deepEqual(await emails({ search: '%' }), []);
    assert.deepEqual(await emails({ roleId: a.roles.admin.toUpperCase() }), ['ann.smith@example.com']);
    assert.deepEqual(await emails({ groupId: a.groups[1] }), ['carl_x@example.com']);
    assert.deepEqual(await emails({ roleId: a.roles.member, search: 'bob', status: 'INVITED' }), ['bob.jones@example.com']);
    assert.deepEqual(await emails({ roleId: 'not-a-uuid' }), []);
    assert.equal(code(await t.gql(MEMBERS, { first: 501 }, a.token)), 'BAD_USER_INPUT');
    assert.equal(code(await t.gql(MEMBERS, { after: 'garbage' }, a.token)), 'BAD_USER_INPUT');
    assert.equal(code(await t.gql(MEMBERS, {}, t.token({ tenantId: a.tenantId, permissions: ['users:invite'] }))), 'FORBIDDEN');
  });

  it('answers member(userId) with the details, in any case of the id, and null for a non-member', async () => {
    const res = await t.gql(MEMBER, { userId: inA[0].userId.toUpperCase() }, a.token);
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    const m = res.data.member;
    assert.equal(m.user.email, 'ann.smith@example.com');
    assert.equal(m.user.firstName, 'Ann');
    assert.equal(m.status, 'ACTIVE');
    assert.ok(m.activatedAt);
    assert.deepEqual(m.roles, [{ id: a.roles.admin, name: 'Admin' }]);
    assert.deepEqual(m.groups, [{ group: { id: a.groups[0], name: 'Engineering' }, isPrimaryOrg: true }]);
    assert.deepEqual(m.invitation, { id: inA[0].invitationId, status: 'ACCEPTED', email: 'ann.smith@example.com' });
    assert.equal((await t.gql(MEMBER, { userId: randomUUID() }, a.token)).data.member, null);
    assert.equal((await t.gql(MEMBER, { userId: 'nope' }, a.token)).data.member, null);
  });

  it('finds one invitation by id and invitations by email (exact, case-insensitive)', async () => {
    const one = await t.gql(INVITATION, { id: inA[1].invitationId.toUpperCase() }, a.token);
    assert.deepEqual(one.data.invitation, { id: inA[1].invitationId, email: 'bob.jones@example.com', status: 'PENDING' });
    assert.equal((await t.gql(INVITATION, { id: randomUUID() }, a.token)).data.invitation, null);
    const byEmail = await t.gql(INVITATIONS_BY_EMAIL, { email: 'BOB.Jones@Example.com' }, a.token);
    assert.deepEqual(byEmail.data.invitations, { totalCount: 1, nodes: [{ id: inA[1].invitationId, email: 'bob.jones@example.com' }] });
    const prefixOnly = await t.gql(INVITATIONS_BY_EMAIL, { email: 'bob' }, a.token);
    assert.equal(prefixOnly.data.invitations.totalCount, 0);
    const withStatus = await t.gql(INVITATIONS_BY_EMAIL, { email: 'bob.jones@example.com', status: 'ACCEPTED' }, a.token);
    assert.equal(withStatus.data.invitations.totalCount, 0);
  });

  it('resends and revokes many invitations with one result per id, in order', async () => {
    const people = await invite(a, [{ email: 'r1@example.com' }, { email: 'r2@example.com' }, { email: 'r3@example.com' }]);
    const missing = randomUUID();
    const revoked = await t.gql(REVOKE_MANY, { ids: [people[0].invitationId, missing, people[0].invitationId.toUpperCase(), 'x', inA[0].invitationId, people[1].invitationId] }, a.token);
    assert.equal(revoked.errors, undefined, JSON.stringify(revoked.errors));
    const r = revoked.data.revokeInvitations.results;
    assert.deepEqual(r.map((x: any) => [x.id, x.ok, x.code]), [
      [people[0].invitationId, true, null],
      [missing, false, 'NOT_FOUND'],
      [people[0].invitationId.toUpperCase(), false, 'DUPLICATE_ID'],
      ['x', false, 'NOT_FOUND'],
      [inA[0].invitationId, false, 'ALREADY_ACCEPTED'],
      [people[1].invitationId, true, null],
    ]);
    assert.equal(r[0].invitation.status, 'REVOKED');
    const rows = await t.sql(
      `select i.id, i.status, m.status as member from invitation i join membership m on m.id = i.membership_id where i.id = any($1) order by i.email`,
      [people.map((p) => p.invitationId)],
    );
    assert.deepEqual(rows.map((x) => [x.status, x.member]), [['REVOKED', 'REMOVED'], ['REVOKED', 'REMOVED'], ['PENDING', 'INVITED']]);

    const [before] = await t.sql('select token_hash from invitation where id = $1', [people[2].invitationId]);
    const resent = await t.gql(RESEND_MANY, { ids: [people[0].invitationId, people[2].invitationId, inA[0].invitationId] }, a.token);
    assert.deepEqual(resent.data.resendInvitations.results.map((x: any) => [x.ok, x.code, x.invitation?.status, x.invitation?.emailStatus]), [
      [true, null, 'PENDING', 'QUEUED'],
      [true, null, 'PENDING', 'QUEUED'],
      [false, 'ALREADY_ACCEPTED', 'ACCEPTED', 'NOT_REQUESTED'],
    ]);
    const [afterResend] = await t.sql('select token_hash from invitation where id = $1', [people[2].invitationId]);
    assert.notEqual(afterResend.token_hash, before.token_hash, 'a new link');
    const [reopened] = await t.sql(`select m.status from membership m join invitation i on i.membership_id = m.id where i.id = $1`, [people[0].invitationId]);
    assert.equal(reopened.status, 'INVITED', 'resending a revoked invitation invites the person again');

    const tooMany = await t.gql(REVOKE_MANY, { ids: Array.from({ length: 1001 }, () => randomUUID()) }, a.token);
    assert.equal(code(tooMany), 'BAD_USER_INPUT');
    assert.equal(code(await t.gql(REVOKE_MANY, { ids: [people[1].invitationId] }, t.token({ tenantId: a.tenantId, permissions: ['users:read'] }))), 'FORBIDDEN');
  });

  it('resends and revokes with the same number of statements for 5 ids as for 300', async () => {
    const statementsFor = async (n: number) => {
      const people = await invite(a, Array.from({ length: n }, (_, i) => ({ email: `bulk-${n}-${i}@example.com` })));
      const ids = people.map((p) => p.invitationId);
      const ctx = () => createRequestContext(t.app.contextDeps, { authorization: `Bearer ${a.token}` });
      const resend = await countStatements(async () => t.app.services.invitations.resendMany(await ctx(), ids));
      assert.ok(resend.result.every((x) => x.ok));
      const revoke = await countStatements(async () => t.app.services.invitations.revokeMany(await ctx(), ids));
      assert.ok(revoke.result.every((x) => x.ok));
      // Past the per-invitation resend cooldown (RESEND_COOLDOWN_SECONDS), without waiting for it.
      await t.sql(`update invitation set last_resent_at = now() - interval '1 hour' where id = any($1::uuid[])`, [ids]);
      const again = await countStatements(async () => t.app.services.invitations.resendMany(await ctx(), ids));
      assert.ok(again.result.every((x) => x.ok && x.invitation?.status === 'PENDING'));
      return [resend.statements, revoke.statements, again.statements];
    };
    const five = await statementsFor(5);
    const many = await statementsFor(300);
    assert.deepEqual(many, five, `5 ids: ${five}, 300 ids: ${many}`);
    console.log(`# statements for resend, revoke, resend of revoked: ${five.join(', ')} (5 ids and 300 ids)`);
  });

  it('refuses resends past the tenant email budget, per id', async () => {
    const limited = await createTestApp({ EMAILS_PER_TENANT_PER_HOUR: '3' });
    try {
      const tenant = await limited.seedTenant('Budget');
      const res = await limited.gql(BULK_INVITE, { input: { users: [{ email: 'q1@example.com' }, { email: 'q2@example.com' }], sendEmail: false } }, tenant.token);
      const ids = res.data.bulkInviteUsers.results.map((r: any) => r.invitation.id);
      const first = await limited.gql(RESEND_MANY, { ids }, tenant.token);
      assert.deepEqual(first.data.resendInvitations.results.map((x: any) => x.code), [null, null]);
      // At once again: each invitation is inside its resend cooldown, so nothing is sent and nothing is spent.
      const flood = await limited.gql(RESEND_MANY, { ids }, tenant.token);
      assert.deepEqual(flood.data.resendInvitations.results.map((x: any) => x.code), ['RATE_LIMITED', 'RATE_LIMITED']);
      assert.match(flood.data.resendInvitations.results[0].message, /resent less than \d+ s ago/);
      await limited.sql(`update invitation set last_resent_at = now() - interval '1 hour' where id = any($1::uuid[])`, [ids]);
      const second = await limited.gql(RESEND_MANY, { ids }, tenant.token);
      assert.deepEqual(second.data.resendInvitations.results.map((x: any) => x.code), [null, 'RATE_LIMITED']);
      const [quota] = await limited.sql('select used from email_quota');
      assert.equal(quota.used, 3, 'the refused resend is given back');
    } finally {
      await limited.close();
    }
  });

  it('updates a member: lists and manager replace, ids in any case, unknown ids named, a manager must be a current other member', async () => {
    const carl = inA[2];
    const res = await t.gql(
      UPDATE,
      {
        userId: carl.userId.toUpperCase(),
        input: {
          firstName: 'Carlos',
          phone: '+1 (555) 123-4567',
          country: 'us',
          roleIds: [a.roles.member.toUpperCase(), a.roles.member],
          groups: [{ groupId: a.groups[0], isPrimaryOrg: true }],
          positionIds: [a.positions[1]],
          managerId: inA[0].userId.toUpperCase(),
        },
      },
      a.token,
    );
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    const m = res.data.updateMember;
    assert.equal(m.user.firstName, 'Carlos');
    assert.equal(m.user.lastName, 'X', 'a field left out is kept');
    assert.equal(m.phone, '+15551234567');
    assert.equal(m.country, 'US');
    assert.deepEqual(m.roles, [{ id: a.roles.member, name: 'Member' }]);
    assert.deepEqual(m.groups, [{ group: { id: a.groups[0], name: 'Engineering' }, isPrimaryOrg: true }], 'the old group is gone');
    assert.deepEqual(m.positions, [{ id: a.positions[1], title: 'Manager' }]);
    assert.deepEqual(m.manager, { id: inA[0].userId, email: 'ann.smith@example.com' });

    const cleared = await t.gql(UPDATE, { userId: carl.userId, input: { roleIds: [], managerId: null, lastName: null } }, a.token);
    assert.deepEqual(cleared.data.updateMember.roles, []);
    assert.equal(cleared.data.updateMember.manager, null);
    assert.equal(cleared.data.updateMember.user.lastName, null);
    assert.equal(cleared.data.updateMember.groups.length, 1, 'groups not given: kept');

    const unknownRole = randomUUID();
    const bad = await t.gql(UPDATE, { userId: carl.userId, input: { roleIds: [a.roles.admin, unknownRole] } }, a.token);
    assert.equal(code(bad), 'BAD_USER_INPUT');
    assert.match(bad.errors![0].message, new RegExp(unknownRole));
    const self = await t.gql(UPDATE, { userId: carl.userId, input: { managerId: carl.userId.toUpperCase() } }, a.token);
    assert.equal(code(self), 'BAD_USER_INPUT');
    assert.equal(code(await t.gql(UPDATE, { userId: carl.userId, input: { phone: 'not a phone' } }, a.token)), 'BAD_USER_INPUT');
    assert.equal(code(await t.gql(UPDATE, { userId: randomUUID(), input: { firstName: 'X' } }, a.token)), 'BAD_USER_INPUT');
    const noAdmin = t.token({ tenantId: a.tenantId, permissions: ['users:read', 'users:invite'] });
    assert.equal(code(await t.gql(UPDATE, { userId: carl.userId, input: { firstName: 'X' } }, noAdmin)), 'FORBIDDEN');
    const [stored] = await t.sql('select first_name from membership where user_id = $1', [carl.userId]);
    assert.equal(stored.first_name, 'Carlos', 'refused updates write nothing');

    // Suspension: ACTIVE to SUSPENDED and back; a suspended member is still current (can manage, holds a seat).
    const suspended = await t.gql(UPDATE, { userId: inA[0].userId, input: { status: 'SUSPENDED' } }, a.token);
    assert.equal(suspended.data.updateMember.status, 'SUSPENDED');
    const managed = await t.gql(UPDATE, { userId: carl.userId, input: { managerId: inA[0].userId } }, a.token);
    assert.equal(managed.data.updateMember.manager.id, inA[0].userId);
    const again = await t.gql(BULK_INVITE, { input: { users: [{ email: 'ann.smith@example.com' }], sendEmail: false } }, a.token);
    assert.equal(again.data.bulkInviteUsers.results[0].code, 'ALREADY_MEMBER');
    assert.equal((await t.gql(UPDATE, { userId: inA[0].userId, input: { status: 'ACTIVE' } }, a.token)).data.updateMember.status, 'ACTIVE');
    assert.equal(code(await t.gql(UPDATE, { userId: carl.userId, input: { status: 'ACTIVE' } }, a.token)), 'BAD_USER_INPUT', 'an invited member is activated by accepting');
  });

  it('removes a member: REMOVED, the pending invitation revoked, no longer a manager, and can be invited again', async () => {
    const [person] = await invite(a, [{ email: 'leaving@example.com', firstName: 'Lea' }]);
    const removed = await t.gql(REMOVE, { userId: person.userId.toUpperCase() }, a.token);
    assert.equal(removed.errors, undefined, JSON.stringify(removed.errors));
    assert.deepEqual(removed.data.removeMember, { status: 'REMOVED', invitation: { id: person.invitationId, status: 'REVOKED' } });
    const asManager = await t.gql(UPDATE, { userId: inA[3].userId, input: { managerId: person.userId } }, a.token);
    assert.equal(code(asManager), 'BAD_USER_INPUT', 'a removed member cannot manage');
    const twice = await t.gql(REMOVE, { userId: person.userId }, a.token);
    assert.equal(twice.data.removeMember.status, 'REMOVED');
    const back = await t.gql(BULK_INVITE, { input: { users: [{ email: 'LEAVING@example.com' }], sendEmail: false } }, a.token);
    assert.equal(back.data.bulkInviteUsers.results[0].__typename, 'UserInvited');
    assert.equal(back.data.bulkInviteUsers.results[0].existingUser, true);
    assert.equal(code(await t.gql(REMOVE, { userId: randomUUID() }, a.token)), 'BAD_USER_INPUT');
  });

  it('renames and deletes roles, groups and positions; names stay unique per tenant regardless of case; members lose deleted ones', async () => {
    const created = await t.gql('mutation { createRole(input: { name: "Temp" }) { id } createGroup(input: { name: "TempG" }) { id } createPosition(input: { title: "TempP" }) { id } }', {}, a.token);
    const { createRole: role, createGroup: group, createPosition: position } = created.data;
    const renamed = await t.gql('mutation($id: ID!) { updateRole(id: $id, input: { name: "Renamed" }) { id name } }', { id: role.id.toUpperCase() }, a.token);
    assert.deepEqual(renamed.data.updateRole, { id: role.id, name: 'Renamed' });
    const clash = await t.gql('mutation($id: ID!) { updateRole(id: $id, input: { name: "ADMIN" }) { id } }', { id: role.id }, a.token);
    assert.equal(code(clash), 'BAD_USER_INPUT');
    const groupClash = await t.gql('mutation($id: ID!) { updateGroup(id: $id, input: { name: "sales" }) { id } }', { id: group.id }, a.token);
    assert.equal(code(groupClash), 'BAD_USER_INPUT');
    const pos = await t.gql('mutation($id: ID!) { updatePosition(id: $id, input: { title: "Lead" }) { id title } }', { id: position.id }, a.token);
    assert.deepEqual(pos.data.updatePosition, { id: position.id, title: 'Lead' });
    assert.equal(code(await t.gql('mutation($id: ID!) { updatePosition(id: $id, input: { title: "engineer" }) { id } }', { id: position.id }, a.token)), 'BAD_USER_INPUT');

    const holder = inA[4];
    await t.gql(UPDATE, { userId: holder.userId, input: { roleIds: [role.id, a.roles.member], groups: [{ groupId: group.id }], positionIds: [position.id] } }, a.token);
    const deleted = await t.gql(
      'mutation($r: ID!, $g: ID!, $p: ID!) { deleteRole(id: $r) deleteGroup(id: $g) deletePosition(id: $p) }',
      { r: role.id.toUpperCase(), g: group.id, p: position.id },
      a.token,
    );
    assert.deepEqual(deleted.data, { deleteRole: true, deleteGroup: true, deletePosition: true });
    const member = (await t.gql(MEMBER, { userId: holder.userId }, a.token)).data.member;
    assert.deepEqual(member.roles, [{ id: a.roles.member, name: 'Member' }], 'the deleted role is gone from the member, the other kept');
    assert.deepEqual(member.groups, []);
    assert.deepEqual(member.positions, []);
    const gone = await t.gql('mutation($r: ID!) { deleteRole(id: $r) }', { r: role.id }, a.token);
    assert.equal(gone.data.deleteRole, false, 'nothing left to delete');
    const noAdmin = t.token({ tenantId: a.tenantId, permissions: ['users:read', 'users:invite'] });
    assert.equal(code(await t.gql('mutation($r: ID!) { deleteRole(id: $r) }', { r: a.roles.member }, noAdmin)), 'FORBIDDEN');
  });

  it('treats every id of another tenant as missing, in every new argument', async () => {
    const other = inB[0];
    const [bRole, bGroup, bPosition] = [b.roles.admin, b.groups[0], b.positions[0]];
    const target = inA[3].userId;
    assert.equal((await t.gql(INVITATION, { id: other.invitationId }, a.token)).data.invitation, null);
    assert.equal((await t.gql(INVITATIONS_BY_EMAIL, { email: other.email }, a.token)).data.invitations.totalCount, 0);
    assert.equal((await t.gql(MEMBER, { userId: other.userId }, a.token)).data.member, null);
    assert.equal((await t.gql(MEMBERS, { roleId: bRole }, a.token)).data.members.totalCount, 0);
    assert.equal((await t.gql(MEMBERS, { groupId: bGroup }, a.token)).data.members.totalCount, 0);
    assert.equal((await t.gql(MEMBERS, { search: 'b-person' }, a.token)).data.members.totalCount, 0);
    for (const mutation of [RESEND_MANY, REVOKE_MANY]) {
      const res = await t.gql(mutation, { ids: [other.invitationId] }, a.token);
      const [result] = Object.values(res.data as Record<string, any>)[0].results;
      assert.deepEqual([result.ok, result.code, result.invitation], [false, 'NOT_FOUND', null]);
    }
    assert.equal(code(await t.gql(UPDATE, { userId: other.userId, input: { firstName: 'Mallory' } }, a.token)), 'BAD_USER_INPUT');
    assert.equal(code(await t.gql(REMOVE, { userId: other.userId }, a.token)), 'BAD_USER_INPUT');
    for (const input of [{ roleIds: [bRole] }, { groups: [{ groupId: bGroup }] }, { positionIds: [bPosition] }, { managerId: other.userId }]) {
      const res = await t.gql(UPDATE, { userId: target, input }, a.token);
      assert.equal(code(res), 'BAD_USER_INPUT', JSON.stringify(input));
      assert.match(res.errors![0].message, /Unknown/);
    }
    for (const [kind, field, id] of [['Role', 'name', bRole], ['Group', 'name', bGroup], ['Position', 'title', bPosition]] as const) {
      const update = await t.gql(`mutation($id: ID!) { update${kind}(id: $id, input: { ${field}: "Hijacked" }) { id } }`, { id }, a.token);
      assert.equal(code(update), 'BAD_USER_INPUT', `update${kind}`);
      const del = await t.gql(`mutation($id: ID!) { delete${kind}(id: $id) }`, { id }, a.token);
      assert.equal(del.data[`delete${kind}`], false, `delete${kind}`);
    }
    // Nothing of B changed.
    const [bState] = await t.sql(
      `select (select count(*)::int from role where tenant_id = $1) as roles, (select count(*)::int from tenant_group where tenant_id = $1) as groups,
              (select count(*)::int from position where tenant_id = $1) as positions, (select count(*)::int from role where name = 'Hijacked') as hijacked,
              (select status from invitation where id = $2) as invitation, (select first_name from membership where user_id = $3 and tenant_id = $1) as name`,
      [b.tenantId, other.invitationId, other.userId],
    );
    assert.deepEqual(bState, { roles: 2, groups: 2, positions: 2, hijacked: 0, invitation: 'PENDING', name: 'Ann' });
  });
});

describe('invitations by batch, member metadata', () => {
  let t: TestApp;
  let a: SeededTenant;
  let b: SeededTenant;
  before(async () => {
    t = await createTestApp();
    a = await t.seedTenant('A');
    b = await t.seedTenant('B');
  });
  after(() => t.close());

  const SEND = `mutation($input: BulkInviteUsersInput!) { bulkInviteUsers(input: $input) { results { ... on UserInvited { user { id } invitation { id batchId } } } } }`;
  const BY_BATCH = `query($batchId: ID) { invitations(batchId: $batchId) { totalCount nodes { id } } }`;

  it('lists the invitations of one bulk request, case-insensitively, and only in its own tenant; member(userId) shows the metadata', async () => {
    const first = await t.gql(SEND, { input: { sendEmail: false, users: [{ email: 'b1@example.com', metadata: { team: 'red', n: 1 } }, { email: 'b2@example.com' }] } }, a.token);
    const second = await t.gql(SEND, { input: { sendEmail: false, users: [{ email: 'b3@example.com' }] } }, a.token);
    const [one, two] = first.data.bulkInviteUsers.results;
    const batchId = one.invitation.batchId;
    const listed = await t.gql(BY_BATCH, { batchId: batchId.toUpperCase() }, a.token);
    assert.equal(listed.data.invitations.totalCount, 2);
    assert.deepEqual(listed.data.invitations.nodes.map((n: { id: string }) => n.id).sort(), [one.invitation.id, two.invitation.id].sort());
    assert.notEqual(second.data.bulkInviteUsers.results[0].invitation.batchId, batchId);
    assert.equal((await t.gql(BY_BATCH, { batchId }, b.token)).data.invitations.totalCount, 0, "another tenant's batch id names nothing");
    assert.equal((await t.gql(BY_BATCH, { batchId: 'not-a-uuid' }, a.token)).data.invitations.totalCount, 0);
    const member = await t.gql(`query($u: ID!) { member(userId: $u) { metadata } }`, { u: one.user.id }, a.token);
    assert.deepEqual(member.data.member.metadata, { team: 'red', n: 1 });
  });
});
