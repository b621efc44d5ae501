import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BULK_INVITE, type SeededTenant, type TestApp, createTestApp } from './helpers/harness';

const REVOKE = 'mutation($id: ID!) { revokeInvitation(id: $id) { id status } }';

describe('bulk invite edge cases', () => {
  let t: TestApp;
  let a: SeededTenant;
  const count = async (sql: string, params: unknown[]) => (await t.sql<{ n: number }>(sql, params))[0].n;

  before(async () => {
    t = await createTestApp();
    a = await t.seedTenant('Edges');
  });
  after(() => t.close());

  it('answers 5 concurrent identical requests with one idempotency key with one payload and one set of rows', async () => {
    const users = Array.from({ length: 20 }, (_, i) => ({ email: `same-key-${i}@example.com`, firstName: 'Same', lastName: String(i) }));
    const input = { users, sendEmail: false, idempotencyKey: 'concurrent-import' };
    const answers = await Promise.all(Array.from({ length: 5 }, () => t.gql(BULK_INVITE, { input }, a.token)));
    for (const answer of answers) assert.equal(answer.errors, undefined, JSON.stringify(answer.errors));
    const payloads = answers.map((answer) => answer.data.bulkInviteUsers);
    assert.equal(payloads[0].successful, 20);
    for (const payload of payloads.slice(1)) assert.deepEqual(payload, payloads[0], 'the same payload to every caller');
    const ids = payloads.map((p) => p.results.map((r: { invitation: { id: string } }) => r.invitation.id).join(','));
    assert.equal(new Set(ids).size, 1, 'the same invitation ids');

    const like = ['same-key-%'];
    assert.equal(await count(`select count(*)::int as n from users where email_normalized like $1`, like), 20);
    assert.equal(
      await count(`select count(*)::int as n from membership m join users u on u.id = m.user_id where u.email_normalized like $1`, like),
      20,
    );
    assert.equal(await count(`select count(*)::int as n from invitation where email like $1`, like), 20);
    assert.equal(await count(`select count(*)::int as n from idempotency_record where key = $1`, [input.idempotencyKey]), 1);
  });

  it('refuses a manager whose invitation was revoked with UNKNOWN_MANAGER, and accepts an invited one', async () => {
    const seeded = await t.gql(BULK_INVITE, { input: { users: [{ email: 'revoked-boss@example.com' }, { email: 'kept-boss@example.com' }], sendEmail: false } }, a.token);
    const [revokedBoss, keptBoss] = seeded.data.bulkInviteUsers.results;
    const revoked = await t.gql(REVOKE, { id: revokedBoss.invitation.id }, a.token);
    assert.equal(revoked.data.revokeInvitation.status, 'REVOKED');
    const [membership] = await t.sql(`select m.status from membership m join invitation i on i.membership_id = m.id where i.id = $1`, [
      revokedBoss.invitation.id,
    ]);
    assert.equal(membership.status, 'REMOVED');

    const res = await t.gql(
      BULK_INVITE,
      {
        input: {
          users: [
            { email: 'under-revoked@example.com', managerId: revokedBoss.user.id },
            { email: 'under-kept@example.com', managerId: keptBoss.user.id },
          ],
          sendEmail: false,
        },
      },
      a.token,
    );
    const [refused, accepted] = res.data.bulkInviteUsers.results;
    assert.equal(refused.__typename, 'UnknownReferenceError');
    assert.equal(refused.code, 'UNKNOWN_MANAGER');
    assert.deepEqual(refused.unknown, [revokedBoss.user.id]);
    assert.equal(accepted.__typename, 'UserInvited');
    assert.equal(await count(`select count(*)::int as n from users where email_normalized = $1`, ['under-revoked@example.com']), 0);
  });
});
