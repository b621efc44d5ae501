import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createOrm, migrate } from '../src/db/orm';
import { createLogger } from '../src/logger';
import { type SeededTenant, type TestApp, createScratchDatabase, createTestApp } from './helpers/harness';
import { ROOT } from './helpers/processes';

interface PgError {
  code?: string;
  constraint?: string;
}

describe('tenancy enforced by PostgreSQL (composite tenant foreign keys)', () => {
  let t: TestApp;
  let a: SeededTenant & { membership: string; other: string };
  let b: SeededTenant & { membership: string };

  async function addMember(tenantId: string): Promise<string> {
    const user = randomUUID();
    const membership = randomUUID();
    await t.sql(`insert into users (id, email, email_normalized, created_at) values ($1, $2, $2, now())`, [user, `${user}@x`]);
    await t.sql(`insert into membership (id, tenant_id, user_id, status, created_at) values ($1, $2, $3, 'INVITED', now())`, [
      membership,
      tenantId,
      user,
    ]);
    return membership;
  }

  /** Runs the statement and expects PostgreSQL to refuse it with a foreign key violation of the named key. */
  async function refused(sql: string, params: unknown[], constraint: string) {
    await assert.rejects(t.sql(sql, params), (error: PgError) => {
      assert.equal(error.code, '23503', `expected a foreign key violation, got ${error.code}`);
      assert.equal(error.constraint, constraint);
      return true;
    });
  }

  before(async () => {
    t = await createTestApp();
    const seededA = await t.seedTenant('A');
    const seededB = await t.seedTenant('B');
    a = { ...seededA, membership: await addMember(seededA.tenantId), other: await addMember(seededA.tenantId) };
    b = { ...seededB, membership: await addMember(seededB.tenantId) };
  });
  after(() => t.close());

  const links = [
    { table: 'membership_role', column: 'role_id', pick: (s: SeededTenant) => s.roles.admin },
    { table: 'membership_group', column: 'group_id', pick: (s: SeededTenant) => s.groups[0] },
    { table: 'membership_position', column: 'position_id', pick: (s: SeededTenant) => s.positions[0] },
  ];

  for (const { table, column, pick } of links) {
    it(`refuses a ${table} row linking a membership of one tenant to a ${column.replace('_id', '')} of another`, async () => {
      const insert = `insert into ${table} (tenant_id, membership_id, ${column}) values ($1, $2, $3)`;
      // The target of tenant B, from a row of tenant A.
      await refused(insert, [a.tenantId, a.membership, pick(b)], `${table}_${column}_tenant_foreign`);
      // A row claiming tenant B for B's target but A's membership.
      await refused(insert, [b.tenantId, a.membership, pick(b)], `${table}_membership_id_tenant_foreign`);
      // The same link within one tenant is accepted: the refusals above are the tenant check, nothing else.
      await t.sql(insert, [a.tenantId, a.membership, pick(a)]);
      const rows = await t.sql(`select tenant_id from ${table} where membership_id = $1`, [a.membership]);
      assert.deepEqual(rows, [{ tenant_id: a.tenantId }]);
    });
  }

  it("refuses an invitation of one tenant for another tenant's membership", async () => {
    const insert = `insert into invitation (id, tenant_id, membership_id, email, token_hash, status, expires_at, email_status, email_attempts, created_at)
                    values ($1, $2, $3, 'x@x', $4, 'PENDING', now(), 'NOT_REQUESTED', 0, now())`;
    await refused(insert, [randomUUID(), a.tenantId, b.membership, randomUUID()], 'invitation_membership_id_tenant_foreign');
    await t.sql(insert, [randomUUID(), a.tenantId, a.membership, randomUUID()]);
  });

  it("refuses a manager from another tenant, and deleting a manager clears only the reference", async () => {
    await refused(`update membership set manager_id = $1 where id = $2`, [b.membership, a.membership], 'membership_manager_id_tenant_foreign');
    await t.sql(`update membership set manager_id = $1 where id = $2`, [a.other, a.membership]);
    await t.sql(`delete from membership where id = $1`, [a.other]);
    const [row] = await t.sql(`select tenant_id, manager_id from membership where id = $1`, [a.membership]);
    assert.deepEqual(row, { tenant_id: a.tenantId, manager_id: null });
  });

  it('migrates a database holding data written before the tenant keys', async () => {
    const db = await createScratchDatabase();
    const orm = await createOrm(db.url);
    const log = createLogger('silent');
    try {
      const migrations = readdirSync(join(ROOT, 'src', 'migrations')).filter((f) => f.endsWith('.ts')).sort();
      const last = migrations.indexOf('Migration20261201185023.ts');
      assert.ok(last > 0);
      await orm.getMigrator().up({ to: migrations[last - 1].replace(/\.ts$/, '') });
      const conn = orm.em.getConnection();
      const [tenant, user, role, group, position, membership, manager] = Array.from({ length: 7 }, () => randomUUID());
      await conn.execute(`insert into tenant (id, name, created_at) values (?, 'old', now())`, [tenant]);
      await conn.execute(`insert into users (id, email, email_normalized, created_at) values (?, 'o@x', 'o@x', now())`, [user]);
      await conn.execute(`insert into role (id, tenant_id, name, created_at) values (?, ?, 'r', now())`, [role, tenant]);
      await conn.execute(`insert into tenant_group (id, tenant_id, name, created_at) values (?, ?, 'g', now())`, [group, tenant]);
      await conn.execute(`insert into position (id, tenant_id, title, created_at) values (?, ?, 'p', now())`, [position, tenant]);
      await conn.execute(`insert into users (id, email, email_normalized, created_at) values (?, 'm@x', 'm@x', now())`, [manager]);
      await conn.execute(`insert into membership (id, tenant_id, user_id, created_at) values (?, ?, ?, now())`, [manager, tenant, manager]);
      await conn.execute(`insert into membership (id, tenant_id, user_id, manager_id, created_at) values (?, ?, ?, ?, now())`, [
        membership,
        tenant,
        user,
        manager,
      ]);
      await conn.execute(`insert into membership_role (tenant_id, membership_id, role_id) values (?, ?, ?)`, [tenant, membership, role]);
      await conn.execute(`insert into membership_group (tenant_id, membership_id, group_id) values (?, ?, ?)`, [tenant, membership, group]);
      await conn.execute(`insert into membership_position (tenant_id, membership_id, position_id) values (?, ?, ?)`, [
        tenant,
        membership,
        position,
      ]);
      await conn.execute(
        `insert into invitation (id, tenant_id, membership_id, email, token_hash, expires_at, created_at) values (?, ?, ?, 'o@x', 'h', now(), now())`,
        [randomUUID(), tenant, membership],
      );

      // A member whose invitation was revoked, stored as REVOKED before MemberStatus had REMOVED.
      const revokedUser = randomUUID();
      await conn.execute(`insert into users (id, email, email_normalized, created_at) values (?, 'r@x', 'r@x', now())`, [revokedUser]);
      await conn.execute(`insert into membership (id, tenant_id, user_id, status, created_at) values (?, ?, ?, 'REVOKED', now())`, [revokedUser, tenant, revokedUser]);

      const applied = await migrate(orm, db.url, log);
      assert.equal(applied[0], 'Migration20261201185023', 'the tenant keys, then any later migration');
      const [revoked] = await conn.execute(`select status from membership where id = ?`, [revokedUser]);
      assert.equal(revoked.status, 'REMOVED', 'REVOKED memberships become REMOVED');
      const [counts] = await conn.execute(
        `select (select count(*)::int from membership_role) + (select count(*)::int from membership_group)
              + (select count(*)::int from membership_position) + (select count(*)::int from invitation) as links,
                (select manager_id from membership where id = ?) as manager,
                (select count(*)::int from pg_constraint where conname like '%\\_tenant\\_foreign') as tenant_keys`,
        [membership],
      );
      // Eight from the tenant-keys migration, two of webhook deliveries (to their endpoint and event), two of the
      // imports (invite_import_row and invite_import_claim to invite_import).
      assert.deepEqual(counts, { links: 4, manager, tenant_keys: 12 });
    } finally {
      await orm.close();
      await db.drop();
    }
  });
});
