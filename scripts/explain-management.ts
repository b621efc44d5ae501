/**
 * Seeds a scratch database with a tenant of 100,000 members (and a second tenant as large, so that indexes must
 * discriminate by tenant), then prints EXPLAIN (ANALYZE, BUFFERS) of the statements the members and invitations
 * queries send. Needs DATABASE_URL naming a server where it may create and drop a database.
 *   DATABASE_URL=postgres://… npx tsx scripts/explain-management.ts
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { createOrm, migrate } from '../src/db/orm';
import { createLogger } from '../src/logger';
import { memberListSql } from '../src/services/member.service';

/** `?` placeholders as PostgreSQL's $1, $2, … */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

const MEMBERS = 100_000;

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function seed(db: Client, tenantId: string, label: string): Promise<void> {
  // Set-based: one statement per table, generate_series for the rows.
  await db.query(`insert into tenant (id, name, created_at) values ($1, $2, now())`, [tenantId, label]);
  await db.query(
    `insert into role (id, tenant_id, name, created_at) select gen_random_uuid(), $1::uuid, 'role ' || g, now() from generate_series(1, 10) g`,
    [tenantId],
  );
  await db.query(
    `insert into tenant_group (id, tenant_id, name, created_at) select gen_random_uuid(), $1::uuid, 'group ' || g, now() from generate_series(1, 20) g`,
    [tenantId],
  );
  await db.query(
    `insert into users (id, email, email_normalized, created_at)
     select gen_random_uuid(), 'User' || g || '.' || $1::text || '@example' || (g % 50) || '.com', 'user' || g || '.' || lower($1::text) || '@example' || (g % 50) || '.com', now()
     from generate_series(1, $2::int) g`,
    [label, MEMBERS],
  );
  await db.query(
    `insert into membership (id, tenant_id, user_id, status, first_name, last_name, created_at)
     select gen_random_uuid(), $1::uuid, u.id,
            (array['ACTIVE','ACTIVE','ACTIVE','ACTIVE','ACTIVE','ACTIVE','INVITED','INVITED','INVITED','SUSPENDED','REMOVED'])[1 + (n % 11)],
            (array['Ann','Bob','Carla','Dmitri','Eve','Farah','Gus','Hana','Ivo','Jun'])[1 + (n % 10)] || (n % 1000),
            (array['Smith','Jones','Ng','Okafor','Silva','Müller','Kim','Rossi','Haddad','Novak'])[1 + ((n / 10) % 10)] || (n % 997),
            now() - (n || ' seconds')::interval
     from (select id, row_number() over (order by id) as n from users where email_normalized like '%.' || lower($2::text) || '@%') u`,
    [tenantId, label],
  );
  await db.query(
    `insert into membership_role (tenant_id, membership_id, role_id)
     select $1::uuid, m.id, r.id from (select id, row_number() over (order by id) % 10 as k from membership where tenant_id = $1) m
     join (select id, row_number() over (order by id) - 1 as k from role where tenant_id = $1) r using (k)`,
    [tenantId],
  );
  await db.query(
    `insert into membership_group (tenant_id, membership_id, group_id, is_primary_org)
     select $1::uuid, m.id, g.id, true from (select id, row_number() over (order by id) % 20 as k from membership where tenant_id = $1) m
     join (select id, row_number() over (order by id) - 1 as k from tenant_group where tenant_id = $1) g using (k)`,
    [tenantId],
  );
  await db.query(
    `insert into invitation (id, tenant_id, membership_id, email, token_hash, status, expires_at, email_status, email_attempts, created_at)
     select gen_random_uuid(), $1::uuid, m.id, u.email, md5(m.id::text) || md5(u.id::text),
            case m.status when 'INVITED' then 'PENDING' when 'REMOVED' then 'REVOKED' else 'ACCEPTED' end,
            m.created_at + interval '7 days', 'SENT', 1, m.created_at
     from membership m join users u on u.id = m.user_id where m.tenant_id = $1`,
    [tenantId],
  );
}

async function main() {
  const server = process.env.DATABASE_URL;
  if (!server) throw new Error('DATABASE_URL is required');
  const name = `explain_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: server });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  const url = withDatabase(server, name);
  const log = createLogger('warn');
  const orm = await createOrm(url);
  const db = new Client({ connectionString: url });
  try {
    await migrate(orm, url, log);
    await db.connect();
    const [tenant, other] = ['7a1c6a0e-0000-4000-8000-000000000001', '7a1c6a0e-0000-4000-8000-000000000002'];
    const started = Date.now();
    await seed(db, tenant, 'T');
    await seed(db, other, 'U');
    // Steady state: statistics and the visibility map (index-only scans) as autovacuum leaves them.
    await db.query('vacuum analyze');
    console.log(`seeded 2 tenants x ${MEMBERS} members in ${Date.now() - started} ms`);

    const role = (await db.query('select id from role where tenant_id = $1 order by name limit 1', [tenant])).rows[0].id;
    const group = (await db.query('select id from tenant_group where tenant_id = $1 order by name limit 1', [tenant])).rows[0].id;
    const deep = (await db.query(`select created_at, id from membership where tenant_id = $1 order by created_at desc, id desc offset 60000 limit 1`, [tenant])).rows[0];
    const someone = (await db.query(`select u.id, u.email from users u join membership m on m.user_id = u.id where m.tenant_id = $1 offset 4321 limit 1`, [tenant])).rows[0];
    const page = (await db.query(`select id from membership where tenant_id = $1 order by created_at desc, id desc limit 50`, [tenant])).rows.map((r) => r.id);

    // The members statements exactly as MemberService sends them.
    const members = (label: string, args: Partial<Parameters<typeof memberListSql>[1]>): Array<[string, string, unknown[]]> => {
      const sql = memberListSql(tenant, { status: null, search: '', roleId: null, groupId: null, cursor: null, limit: 51, ...args });
      return [
        [`${label}: page`, numbered(sql.pageSql), sql.pageParams],
        [`${label}: totalCount`, numbered(sql.countSql), sql.params],
      ];
    };
    const queries: Array<[string, string, unknown[]]> = [
      ...members('members', {}),
      ...members('members(status: SUSPENDED)', { status: 'SUSPENDED' }),
      [`members: a deep page (after a cursor)`, numbered(memberListSql(tenant, { status: null, search: '', roleId: null, groupId: null, cursor: { createdAt: deep.created_at, id: deep.id }, limit: 51 }).pageSql), [tenant, deep.created_at, deep.id, 51]],
      ...members("members(search: 'hana12') (names)", { search: 'hana12' }),
      ...members("members(search: 'user4321.') (email)", { search: 'user4321.' }),
      ...members("members(search: 'a')", { search: 'a' }),
      ...members('members(roleId)', { roleId: role }),
      ...members('members(groupId, status: INVITED)', { groupId: group, status: 'INVITED' }),
      ['member(userId)', `select m0.id from membership as m0 where m0.user_id = $2 and m0.tenant_id = $1 limit 1`, [tenant, someone.id]],
      ['page details: role links of 50 members', `select * from membership_role where tenant_id = $1 and membership_id = any($2::uuid[])`, [tenant, page]],
      ['page details: invitations of 50 members', `select * from invitation where tenant_id = $1 and membership_id = any($2::uuid[]) order by created_at desc, id desc`, [tenant, page]],
      [
        'invitations(email): page',
        `select i0.* from invitation as i0 where i0.tenant_id = $1 and lower(email) = $2 order by i0.created_at desc, i0.id desc limit 51`,
        [tenant, someone.email.toLowerCase()],
      ],
      ['invitations(email): totalCount', `select count(*) as count from invitation as i0 where i0.tenant_id = $1 and lower(email) = $2`, [tenant, someone.email.toLowerCase()]],
      [
        'invitations(status: REVOKED): page',
        `select i0.* from invitation as i0 where i0.tenant_id = $1 and i0.status = 'REVOKED' order by i0.created_at desc, i0.id desc limit 51`,
        [tenant],
      ],
      ['invitations(status: REVOKED): totalCount', `select count(*) as count from invitation as i0 where i0.tenant_id = $1 and i0.status = 'REVOKED'`, [tenant]],
    ];
    for (const [label, text, params] of queries) {
      const plan = await db.query(`explain (analyze, buffers) ${text}`, params);
      console.log(`\n### ${label}\n${text.replace(/\s+/g, ' ')}\n${plan.rows.map((r) => r['QUERY PLAN']).join('\n')}`);
    }
  } finally {
    await db.end().catch(() => undefined);
    await orm.close();
    await admin.query(`drop database if exists "${name}" with (force)`);
    await admin.end();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
