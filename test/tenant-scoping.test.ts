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

  it('puts every entity with a tenant relation under the tenant filter, and each refuses a query without a tenant', async () => {
    const all = Object.values(t.orm.getMetadata().getAll()).filter((meta) => !meta.abstract);
    const owned = all.filter((meta) => 'tenant' in meta.properties);
    // Derived from metadata, so it includes EmailQuota and RateLimitUsage, whose tenant is part of their primary key, not TenantScoped's.
    assert.deepEqual(owned.map((meta) => meta.className).sort(), [
      'EmailQuota',
      'EventRecord',
      'Group',
      'IdempotencyRecord',
      'Invitation',
      'InviteImport',
      'InviteImportClaim',
      'InviteImportRow',
      'Membership',
      'MembershipGroup',
      'MembershipPosition',
      'MembershipRole',
      'Position',
      'RateLimitUsage',
      'Role',
      'ScimToken',
      'WebhookDelivery',
      'WebhookEndpoint',
    ]);
    const em = t.orm.em.fork();
    for (const meta of owned) {
      assert.equal(meta.filters.tenant?.default, true, `${meta.className} must carry the default tenant filter`);
      await assert.rejects(() => em.find(meta.className, {}), /No arguments provided for filter 'tenant'/, meta.className);
      await assert.rejects(() => em.count(meta.className, {}), /No arguments provided for filter 'tenant'/, meta.className);
      assert.ok(Array.isArray(await em.find(meta.className, {}, { filters: { tenant: { tenantId: a.tenantId } } })));
    }
    for (const meta of all.filter((m) => !owned.includes(m))) {
      assert.equal(meta.filters.tenant, undefined, `${meta.className} has no tenant and must not be filtered by one`);
      assert.ok(Array.isArray(await em.find(meta.className, {})));
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
