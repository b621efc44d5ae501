import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { BULK_INVITE, type SeededTenant, type TestApp, createTestApp } from './helpers/harness';

/**
 * Contract §2: ids of users that belong to another tenant behave exactly like ids that do not exist.
 * DUPLICATE_IN_BATCH must not link such an id to the email of the same person given elsewhere in the request.
 */
describe('existingUserId of another tenant’s person next to that person’s email', () => {
  let t: TestApp;
  let a: SeededTenant;
  let victimId: string;

  before(async () => {
    t = await createTestApp();
    a = await t.seedTenant('A');
    const b = await t.seedTenant('B');
    const inB = await t.gql(BULK_INVITE, { input: { users: [{ email: 'victim@example.com' }], sendEmail: false } }, b.token);
    victimId = inB.data.bulkInviteUsers.results[0].user.id;
  });
  after(() => t.close());

  const outcome = async (users: unknown[]) => {
    const r = await t.gql(BULK_INVITE, { input: { dryRun: true, users } }, a.token);
    return r.data.bulkInviteUsers.results.map((x: { __typename: string; code?: string }) => x.code ?? x.__typename);
  };

  it('email first, then the id: answers like a missing id', async () => {
    assert.deepEqual(await outcome([{ email: 'victim@example.com' }, { existingUserId: randomUUID() }]), ['UserInvited', 'UNKNOWN_USER']);
    assert.deepEqual(await outcome([{ email: 'victim@example.com' }, { existingUserId: victimId }]), ['UserInvited', 'UNKNOWN_USER']);
  });

  it('id first, then the email: the email is still invited, as after a missing id', async () => {
    assert.deepEqual(await outcome([{ existingUserId: randomUUID() }, { email: 'victim@example.com' }]), ['UNKNOWN_USER', 'UserInvited']);
    assert.deepEqual(await outcome([{ existingUserId: victimId }, { email: 'victim@example.com' }]), ['UNKNOWN_USER', 'UserInvited']);
  });
});
