import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { translateFilter } from '../src/services/scim/filter';
import { scimUserListSql } from '../src/services/scim/scim-users.service';
import { type SeededTenant, type TestApp, createTestApp } from './helpers/harness';
import { createScimToken, scimClient } from './helpers/scim';

const MEMBERS = 100_000;

/** `?` placeholders (MikroORM's) as `$n` (pg's). */
const numbered = (sql: string) => {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
};

function scans(plan: any, out: Array<{ type: string; relation?: string; index?: string }> = []) {
  out.push({ type: plan['Node Type'], relation: plan['Relation Name'], index: plan['Index Name'] });
  for (const child of plan.Plans ?? []) scans(child, out);
  return out;
}

describe('SCIM user filters on a tenant with 100,000 members', () => {
  let t: TestApp;
  let tenant: SeededTenant;

  before(async () => {
    t = await createTestApp();
    tenant = await t.seedTenant('Large');
    await t.sql(
      `insert into users (id, email, email_normalized, created_at)
       select gen_random_uuid(), 'Big' || g || '@example.com', 'big' || g || '@example.com', now() from generate_series(1, $1::int) g`,
      [MEMBERS],
    );
    await t.sql(
      `insert into membership (id, tenant_id, user_id, status, external_id, created_at)
       select gen_random_uuid(), $1, id, 'ACTIVE', 'ext-' || email_normalized, now() from users where email_normalized like 'big%'`,
      [tenant.tenantId],
    );
    await t.sql('analyze users; analyze membership');
  });
  after(async () => t?.close());

  it('answers userName, emails and externalId filters from indexes, not by scanning the tenant', async () => {
    for (const filter of ['userName eq "BIG77777@example.com"', 'emails[type eq "work"].value eq "big5@example.com"', 'externalId eq "ext-big42@example.com"']) {
      const { countSql, pageSql, params, pageParams } = scimUserListSql(tenant.tenantId, translateFilter(filter, 'User'), { startIndex: 1, count: 100 });
      for (const [sql, values] of [
        [countSql, params],
        [pageSql, pageParams],
      ] as const) {
        const [row] = await t.sql(`explain (format json) ${numbered(sql)}`, [...values]);
        const nodes = scans(row['QUERY PLAN'][0].Plan);
        const seq = nodes.filter((n) => n.type === 'Seq Scan' && (n.relation === 'membership' || n.relation === 'users'));
        assert.deepEqual(seq, [], `${filter}: ${JSON.stringify(nodes)}`);
      }
    }
    const scim = scimClient(t, (await createScimToken(t, tenant)).secret);
    const started = performance.now();
    const found = await scim('GET', `/Users?filter=${encodeURIComponent('userName eq "big77777@example.com"')}`);
    const ms = performance.now() - started;
    assert.equal(found.body.totalResults, 1);
    assert.equal(found.body.Resources[0].userName, 'Big77777@example.com');
    console.log(`# userName filter on ${MEMBERS.toLocaleString('en')} members: ${ms.toFixed(1)} ms`);
  });
});
