import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Group, Invitation, Membership, Position, Role } from '../src/entities';
import { type SeededTenant, type TestApp, createTestApp } from './helpers/harness';

describe('tenant scoping', () => {
  let t: TestApp;
  let a: SeededTenant;
  let b: SeededTenant;

  before(async () => {
    t = await createTestApp();
    a = await t.seedTenant('A');
    b = await t.seedTenant('B');
    await t.gql('mutation { createRole(input: {name: "Only in B"}) { id } }', {}, b.token);
  });
  after(() => t.close());

  it("never shows tenant B's roles, groups or positions to a tenant:admin token of A", async () => {
    const adminOfA = t.token({ tenantId: a.tenantId, permissions: ['tenant:admin'] });
    const res = await t.gql('{ roles { id name } groups { id } positions { id } }', {}, adminOfA);
    assert.equal(res.errors, undefined);
    assert.deepEqual(res.data.roles.map((r: { id: string }) => r.id).sort(), Object.values(a.roles).sort());
    assert.deepEqual(res.data.groups.map((g: { id: string }) => g.id).sort(), [...a.groups].sort());
    assert.deepEqual(res.data.positions.map((p: { id: string }) => p.id).sort(), [...a.positions].sort());
  });

  it('makes tenant data unreachable without a tenant: an unscoped query throws', async () => {
    const em = t.orm.em.fork();
    for (const entity of [Role, Group, Position, Membership, Invitation]) {
      await assert.rejects(() => em.find(entity as typeof Role, {}), /tenant/i, `${entity.name} must not be readable unscoped`);
    }
  });

  it("makes another tenant's row unreachable by id", async () => {
    const em = t.orm.em.fork();
    em.setFilterParams('tenant', { tenantId: a.tenantId });
    assert.equal(await em.findOne(Role, b.roles.admin), null);
    assert.ok(await em.findOne(Role, a.roles.admin));
  });

  it('keeps role names unique per tenant regardless of case, and independent between tenants', async () => {
    const dup = await t.gql('mutation { createRole(input: {name: "admin"}) { id } }', {}, a.token);
    assert.equal(dup.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
    const other = await t.gql('mutation { createRole(input: {name: "Only in B"}) { id name } }', {}, a.token);
    assert.equal(other.data.createRole.name, 'Only in B');
  });
});
