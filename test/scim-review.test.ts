import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type SeededTenant, type TestApp, createTestApp } from './helpers/harness';
import { SCIM, assertScimError, createScimToken, patchOp, scimClient } from './helpers/scim';

/** Defects found in review of the SCIM endpoints: each test names the behaviour that broke. */
describe('SCIM review: hostile values and edge cases', () => {
  let t: TestApp;
  let tenant: SeededTenant;
  let scim: ReturnType<typeof scimClient>;
  let userId: string;

  const user = (userName: string, extra: Record<string, unknown> = {}) => ({ schemas: [SCIM.user], userName, name: { givenName: 'Ann', familyName: 'Lee' }, ...extra });

  before(async () => {
    t = await createTestApp();
    tenant = await t.seedTenant('Review');
    scim = scimClient(t, (await createScimToken(t, tenant)).secret);
    const created = await scim('POST', '/Users', user('review.base@example.com'));
    assert.equal(created.status, 201);
    userId = created.body.id;
  });
  after(async () => t?.close());

  it('refuses a NUL, a display control or an over-long externalId or displayName with 400 invalidValue, never a 500', async () => {
    // Random text does not compress: an externalId this long does not fit the unique index's row.
    const huge = randomBytes(4000).toString('base64');
    const bad = [{ externalId: 'ext\u0000' }, { externalId: huge }, { displayName: 'Ann\u0000' }, { displayName: 'Ann\u202Eevil' }, { displayName: huge }];
    for (const [i, extra] of bad.entries()) {
      assertScimError(await scim('POST', '/Users', user(`review.bad${i}@example.com`, extra)), 400, 'invalidValue');
      assertScimError(await scim('PUT', `/Users/${userId}`, user('review.base@example.com', extra)), 400, 'invalidValue');
      const [path, value] = Object.entries(extra)[0];
      assertScimError(await scim('PATCH', `/Users/${userId}`, patchOp({ op: 'replace', path, value })), 400, 'invalidValue');
      assertScimError(await scim('PATCH', `/Users/${userId}`, patchOp({ op: 'replace', value: extra })), 400, 'invalidValue');
    }
    // In a Bulk, the bad create fails alone; the good one beside it is created.
    const bulk = await scim('POST', '/Bulk', {
      schemas: [SCIM.bulkRequest],
      Operations: [
        { method: 'POST', path: '/Users', bulkId: 'bad', data: user('review.bulk.bad@example.com', { externalId: 'ext\u0000' }) },
        { method: 'POST', path: '/Users', bulkId: 'good', data: user('review.bulk.good@example.com') },
      ],
    });
    assert.equal(bulk.status, 200, JSON.stringify(bulk.body));
    assert.deepEqual(bulk.body.Operations.map((o: any) => o.status), ['400', '201']);
    assert.equal(bulk.body.Operations[0].response.scimType, 'invalidValue');
  });

  it('fails only the Bulk operation whose path has malformed percent-encoding (400 invalidPath), not the whole request', async () => {
    const bulk = await scim('POST', '/Bulk', {
      schemas: [SCIM.bulkRequest],
      Operations: [
        { method: 'DELETE', path: '/Users/%E0%A4%A' },
        { method: 'PATCH', path: `/Users/${userId}`, data: patchOp({ op: 'replace', path: 'nickName', value: 'Annie' }) },
      ],
    });
    assert.equal(bulk.status, 200, JSON.stringify(bulk.body));
    assert.equal(bulk.body.Operations[0].status, '400');
    assert.equal(bulk.body.Operations[0].response.scimType, 'invalidPath');
    assert.equal(bulk.body.Operations[1].status, '200');
  });

  it('gives an externalId held by a member removed outside SCIM to a new user: the holder is no SCIM user, so no 409', async () => {
    const keeper = await scim('POST', '/Users', user('review.keeper@example.com', { externalId: 'ext-review-keep' }));
    assert.equal(keeper.status, 201);
    const removed = await t.gql('mutation($id: ID!) { removeMember(userId: $id) { status } }', { id: keeper.body.id }, tenant.token);
    assert.equal(removed.data?.removeMember.status, 'REMOVED', JSON.stringify(removed));
    const found = await scim('GET', `/Users?filter=${encodeURIComponent('externalId eq "ext-review-keep"')}`);
    assert.equal(found.body.totalResults, 0, 'the removed member is no SCIM user');
    const newcomer = await scim('POST', '/Users', user('review.newcomer@example.com', { externalId: 'ext-review-keep' }));
    assert.equal(newcomer.status, 201, JSON.stringify(newcomer.body));
    assert.equal(newcomer.body.externalId, 'ext-review-keep');
    // And by PATCH, from another member removed outside SCIM.
    const second = await scim('POST', '/Users', user('review.keeper2@example.com', { externalId: 'ext-review-keep2' }));
    await t.gql('mutation($id: ID!) { removeMember(userId: $id) { status } }', { id: second.body.id }, tenant.token);
    const patched = await scim('PATCH', `/Users/${userId}`, patchOp({ op: 'replace', path: 'externalId', value: 'ext-review-keep2' }));
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.externalId, 'ext-review-keep2');
    // The removed person provisioned again gets their own new externalId.
    const back = await scim('POST', '/Users', user('review.keeper@example.com', { externalId: 'ext-review-keep3' }));
    assert.equal(back.status, 201, JSON.stringify(back.body));
    assert.equal(back.body.externalId, 'ext-review-keep3');
  });

  it('bounds a count or startIndex of many digits instead of refusing it (RFC 7644 3.4.2.4)', async () => {
    const huge = await scim('GET', '/Users?count=99999999999999999999');
    assert.equal(huge.status, 200, JSON.stringify(huge.body));
    assert.ok(huge.body.itemsPerPage >= 1 && huge.body.itemsPerPage <= 500);
    const far = await scim('GET', '/Users?startIndex=99999999999999999999&count=1');
    assert.equal(far.status, 200, JSON.stringify(far.body));
    assert.equal(far.body.itemsPerPage, 0);
    assert.ok(Number.isSafeInteger(far.body.startIndex));
    assertScimError(await scim('GET', '/Users?count=1e3'), 400, 'invalidValue');
  });
  it('projects an enterprise extension sub-attribute named by its full URN path (RFC 7644 3.10), in attributes and excludedAttributes', async () => {
    const enterprise = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
    const report = await scim('POST', '/Users', user('review.report@example.com', { [enterprise]: { manager: { value: userId } } }));
    assert.equal(report.status, 201, JSON.stringify(report.body));
    const only = await scim('GET', `/Users/${report.body.id}?attributes=${encodeURIComponent(`${enterprise}:manager`)}`);
    assert.equal(only.status, 200);
    assert.equal(only.body[enterprise]?.manager?.value, userId, JSON.stringify(only.body));
    assert.equal(only.body.userName, undefined);
    const without = await scim('GET', `/Users/${report.body.id}?excludedAttributes=${encodeURIComponent(`${enterprise}:manager`)}`);
    assert.equal(without.body.userName, 'review.report@example.com');
    assert.equal(without.body[enterprise]?.manager, undefined, JSON.stringify(without.body));
  });
});
