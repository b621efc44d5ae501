import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { BULK_INVITE, type SeededTenant, type TestApp, createTestApp } from './helpers/harness';

/** Tenant B's ids, used from tenant A, must be indistinguishable from ids that do not exist. */
describe('cross-tenant matrix', () => {
  let t: TestApp;
  let a: SeededTenant;
  let b: SeededTenant;
  let bMemberUserId: string;
  let bInvitationId: string;
  let cells = 0;

  before(async () => {
    t = await createTestApp();
    a = await t.seedTenant('A');
    b = await t.seedTenant('B');
    await t.gql('mutation { createRole(input: {name: "B only"}) { id } }', {}, b.token);
    const inB = await t.gql(BULK_INVITE, { input: { users: [{ email: 'b-member@example.com' }] } }, b.token);
    bMemberUserId = inB.data.bulkInviteUsers.results[0].user.id;
    bInvitationId = inB.data.bulkInviteUsers.results[0].invitation.id;
  });
  after(() => {
    console.log(`# cross-tenant matrix: ${cells} cells checked`);
    return t.close();
  });

  const inviteFields: Array<[string, (id: string) => Record<string, unknown>, () => string]> = [
    ['roleIds', (id) => ({ roleIds: [id] }), () => b.roles.admin],
    ['role (by name)', (name) => ({ role: name }), () => 'B only'],
    ['groups.groupId', (id) => ({ groups: [{ groupId: id }] }), () => b.groups[0]],
    ['positionIds', (id) => ({ positionIds: [id] }), () => b.positions[0]],
    ['managerId', (id) => ({ managerId: id }), () => bMemberUserId],
    ['existingUserId', (id) => ({ existingUserId: id }), () => bMemberUserId],
  ];

  for (const [field, build, idOfB] of inviteFields) {
    it(`bulkInviteUsers.${field}: B's id answers exactly like a missing one`, async () => {
      const missing = field === 'role (by name)' ? 'No such role' : randomUUID();
      const shape = async (value: string, n: number) => {
        const user = { ...(field === 'existingUserId' ? {} : { email: `${field.replace(/\W/g, '')}-${n}@example.com` }), ...build(value) };
        const res = await t.gql(BULK_INVITE, { input: { users: [user], dryRun: true } }, a.token);
        const r = res.data.bulkInviteUsers.results[0];
        return { typename: r.__typename, code: r.code, email: r.email === null ? null : 'set', message: r.message.replace(value, '<id>') };
      };
      assert.deepEqual(await shape(idOfB(), 1), await shape(missing, 2));
      cells++;
    });
  }

  for (const mutation of ['resendInvitation', 'revokeInvitation']) {
    it(`${mutation}: B's invitation id answers exactly like a missing one, and changes nothing`, async () => {
      const ask = (id: string) => t.gql(`mutation($id: ID!) { ${mutation}(id: $id) { id } }`, { id }, a.token);
      const ofB = await ask(bInvitationId);
      const missing = await ask(randomUUID());
      assert.deepEqual(ofB.errors?.map((e) => [e.message, e.extensions?.code]), missing.errors?.map((e) => [e.message, e.extensions?.code]));
      const [row] = await t.sql('select status, token_hash from invitation where id = $1', [bInvitationId]);
      assert.equal(row.status, 'PENDING');
      cells++;
    });
  }

  it('no listing in A shows a row of B', async () => {
    const res = await t.gql('{ roles { id } groups { id } positions { id } invitations(first: 500) { totalCount nodes { id email } } }', {}, a.token);
    const seen = JSON.stringify(res.data);
    for (const id of [b.roles.admin, b.roles.member, ...b.groups, ...b.positions, bInvitationId]) assert.ok(!seen.includes(id), id);
    assert.ok(!seen.includes('b-member@example.com'));
    assert.equal(res.data.invitations.totalCount, 0);
    cells += 4;
  });

  it("refuses a body tenantId of B in A's request everywhere, writing nothing", async () => {
    const users = [{ email: 'sneak@example.com' }];
    const gql = await t.gql(BULK_INVITE, { input: { tenantId: b.tenantId, users } }, a.token);
    assert.equal(gql.errors?.[0].extensions?.code, 'FORBIDDEN');
    const rest = await t.post('/auth/v1/user/bulk-invite', { tenantId: b.tenantId, users }, a.token);
    assert.equal(rest.status, 403);
    const [row] = await t.sql(`select count(*)::int as n from users where email_normalized = 'sneak@example.com'`);
    assert.equal(row.n, 0);
    cells += 2;
  });
});
