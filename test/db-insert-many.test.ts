import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { MikroORM, type RequiredEntityData } from '@mikro-orm/postgresql';
import { createOrmOptions } from '../mikro-orm.config';
import { migrate } from '../src/db/orm';
import { countStatements } from '../src/db/query-stats';
import {
  Group,
  IdempotencyRecord,
  Membership,
  MembershipGroup,
  MembershipStatus,
  Role,
  Tenant,
  User,
} from '../src/entities';
import { createLogger } from '../src/logger';
import { createScratchDatabase } from './helpers/harness';

/** Text a hand-built array or string literal could get wrong. */
const AWKWARD = [
  "it's",
  'say "hi"',
  'back\\slash \\" \\\\ end\\',
  '{}',
  '{a,b}',
  'a, b,,c',
  'NULL',
  'null',
  '',
  ' padded ',
  'Зоя Ænes 张伟 محمد',
  '👩‍👩‍👧 🎉',
  '? ?? \\? $1',
  "line\nbreak\ttab\r",
  "E'x' '' ''' ",
  '"',
  '\\',
];

describe('insertMany (set-based insert driver)', () => {
  let orm: MikroORM;
  let drop: () => Promise<void>;
  const queries: string[] = [];
  let tenant: Tenant;

  before(async () => {
    const db = await createScratchDatabase();
    drop = db.drop;
    // onQuery sees each statement as sent, before MikroORM inlines the parameters.
    orm = await MikroORM.init(createOrmOptions(db.url, { onQuery: (sql) => (queries.push(sql), sql) }));
    await migrate(orm, db.url, createLogger('silent'));
    const em = orm.em.fork();
    tenant = em.create(Tenant, { name: 'Insert many' });
    await em.flush();
  });
  after(async () => {
    await orm.close();
    await drop();
  });

  async function insertCapturing<T>(fn: () => Promise<T>): Promise<{ statements: number; sql: string[]; result: T }> {
    const from = queries.length;
    const { statements, result } = await countStatements(fn);
    return { statements, sql: queries.slice(from), result };
  }

  it('round-trips quotes, backslashes, braces, commas, "NULL", Unicode, emoji, empty strings, dates and nulls in one unnest statement', async () => {
    const base = Date.UTC(2024, 1, 29, 23, 59, 59, 123);
    const users: RequiredEntityData<User>[] = AWKWARD.map((text, i) => ({
      id: randomUUID(),
      email: `${text}@x${i}`,
      emailNormalized: `n${i}:${text}`,
      createdAt: new Date(base + i * 1000),
    }));
    const members: RequiredEntityData<Membership>[] = users.map((user, i) => ({
      id: randomUUID(),
      tenant: tenant.id,
      user: user.id as string,
      status: MembershipStatus.INVITED,
      firstName: AWKWARD[i],
      lastName: i % 3 === 0 ? null : i % 3 === 1 ? undefined : AWKWARD[i].toUpperCase(),
      createdAt: user.createdAt as Date,
    }));
    const { statements, sql } = await insertCapturing(() => orm.em.fork().insertMany(User, users));
    assert.equal(statements, 1);
    assert.equal(sql.length, 1);
    assert.match(sql[0], /^insert into "users" \(.+\) select .+ from unnest\(\?::uuid\[\], \?::text\[\], /);
    assert.doesNotMatch(sql[0], /values/i);
    const second = await insertCapturing(() => orm.em.fork().insertMany(Membership, members));
    assert.equal(second.statements, 1);

    const em = orm.em.fork();
    const stored = await em.find(User, { id: users.map((u) => u.id as string) });
    assert.equal(stored.length, users.length);
    for (const user of users) {
      const row = stored.find((s) => s.id === user.id)!;
      assert.deepEqual({ email: row.email, emailNormalized: row.emailNormalized }, { email: user.email, emailNormalized: user.emailNormalized });
      assert.equal(row.createdAt.getTime(), (user.createdAt as Date).getTime());
    }
    const storedMembers = await em.find(Membership, { id: members.map((m) => m.id as string) }, { filters: { tenant: { tenantId: tenant.id } } });
    for (const member of members) {
      const row = storedMembers.find((s) => s.id === member.id)!;
      assert.deepEqual({ firstName: row.firstName, lastName: row.lastName }, { firstName: member.firstName, lastName: member.lastName ?? null });
    }
    // Not only a round trip through MikroORM: the database holds the exact text (and real NULLs).
    const raw = await em.getConnection().execute<Array<{ first_name: string; last_name: string | null }>>(
      `select first_name, last_name from membership where id in (?, ?)`,
      [members[0].id, members[10].id],
    );
    assert.deepEqual(raw.map((r) => r.first_name).sort(), [AWKWARD[0], AWKWARD[10]].sort());
    assert.deepEqual(raw.map((r) => r.last_name), [null, null]);
  });

  it('round-trips JSON, booleans, enums and nullable relations, and returns the rows primary keys', async () => {
    const em = orm.em.fork();
    const [user1, user2] = [randomUUID(), randomUUID()];
    await em.insertMany(User, [
      { id: user1, email: 'a@x', emailNormalized: 'json-a@x', createdAt: new Date() },
      { id: user2, email: 'b@x', emailNormalized: 'json-b@x', createdAt: new Date() },
    ]);
    const now = new Date();
    const memberships: RequiredEntityData<Membership>[] = [
      { id: randomUUID(), tenant: tenant.id, user: user1, status: MembershipStatus.INVITED, manager: null, createdAt: now, nickName: '' },
      { id: randomUUID(), tenant: tenant.id, user: user2, status: MembershipStatus.ACTIVE, createdAt: now, nickName: 'NULL', activatedAt: now, metadata: { team: "O'Brien \\ {x}", n: [1, null] } },
    ];
    memberships[1].manager = memberships[0].id as string;
    const inserted = await insertCapturing(() => em.insertMany(Membership, memberships));
    assert.deepEqual(inserted.result, memberships.map((m) => m.id));
    // A jsonb column (metadata) keeps the table on the unnest path.
    assert.match(inserted.sql[0], /from unnest\(.*\?::jsonb\[\]/);

    const groups = await em.insertMany(Group, [
      { id: randomUUID(), tenant: tenant.id, name: 'g1', createdAt: now },
      { id: randomUUID(), tenant: tenant.id, name: 'g2', createdAt: now },
    ]);
    const { sql } = await insertCapturing(() =>
      em.insertMany(MembershipGroup, [
        { tenant: tenant.id, membership: memberships[0].id!, group: groups[0] as string, isPrimaryOrg: true },
        { tenant: tenant.id, membership: memberships[0].id!, group: groups[1] as string, isPrimaryOrg: false },
      ]),
    );
    // The tenant and the membership are the same for both rows: sent once, as scalars; the rest as arrays.
    assert.match(sql[0], /select \?::uuid, \?::uuid, v\.c2, v\.c3 from unnest\(\?::uuid\[\], \?::boolean\[\]\)/);

    const outcomes = [
      { s: AWKWARD.join('|'), n: 1.5, b: true, nothing: null, nested: [1, null, { a: '😀', '{}': '"' }] },
      ['NULL', '', '\\', "'"],
    ];
    const { statements } = await insertCapturing(() =>
      em.insertMany(
        IdempotencyRecord,
        outcomes.map((outcome, i) => ({ id: randomUUID(), tenant: tenant.id, key: `k${i}`, requestHash: 'h', outcome, createdAt: now })),
      ),
    );
    assert.equal(statements, 1);

    em.setFilterParams('tenant', { tenantId: tenant.id });
    const readMemberships = await em.find(Membership, { id: memberships.map((m) => m.id!) }, { orderBy: { createdAt: 'asc', nickName: 'asc' } });
    const byId = new Map(readMemberships.map((m) => [m.id, m]));
    const [m0, m1] = memberships.map((m) => byId.get(m.id!)!);
    assert.deepEqual(
      [m0.status, m0.nickName, m0.manager, m0.activatedAt, m1.status, m1.nickName, m1.manager?.id, m1.activatedAt?.getTime()],
      [MembershipStatus.INVITED, '', null, null, MembershipStatus.ACTIVE, 'NULL', memberships[0].id, now.getTime()],
    );
    assert.deepEqual([m0.metadata, m1.metadata], [null, { team: "O'Brien \\ {x}", n: [1, null] }]);
    const links = await em.find(MembershipGroup, { membership: memberships[0].id! }, { orderBy: { group: { name: 'asc' } } });
    assert.deepEqual(links.map((l) => [l.group.id, l.isPrimaryOrg]), [[groups[0], true], [groups[1], false]]);
    const records = await em.find(IdempotencyRecord, { key: ['k0', 'k1'] }, { orderBy: { key: 'asc' } });
    assert.deepEqual(records.map((r) => r.outcome), outcomes);
  });

  it('runs on the transaction of em.transactional: invisible outside until commit, gone on rollback', async () => {
    const rows = (prefix: string): RequiredEntityData<Role>[] =>
      [1, 2, 3].map((i) => ({ id: randomUUID(), tenant: tenant.id, name: `${prefix} ${i}`, createdAt: new Date() }));
    const outside = orm.em.fork();
    outside.setFilterParams('tenant', { tenantId: tenant.id });

    const failure = new Error('roll back');
    await assert.rejects(
      orm.em.fork().transactional(async (tx) => {
        tx.setFilterParams('tenant', { tenantId: tenant.id });
        const { statements, sql } = await insertCapturing(() => tx.insertMany(Role, rows('rolled back')));
        assert.equal(statements, 1);
        assert.match(sql[0], /unnest/);
        assert.equal(await tx.count(Role, { name: { $like: 'rolled back%' } }), 3);
        assert.equal(await outside.count(Role, { name: { $like: 'rolled back%' } }), 0);
        throw failure;
      }),
      (error) => error === failure,
    );
    assert.equal(await outside.count(Role, { name: { $like: 'rolled back%' } }), 0);

    await orm.em.fork().transactional(async (tx) => {
      await tx.insertMany(Role, rows('committed'));
    });
    assert.equal(await outside.count(Role, { name: { $like: 'committed%' } }), 3);
  });

  it('leaves a single row, and rows missing a column with a database default, to MikroORM (VALUES)', async () => {
    const em = orm.em.fork();
    const one = await insertCapturing(() =>
      em.insertMany(Role, [{ id: randomUUID(), tenant: tenant.id, name: 'single', createdAt: new Date() }]),
    );
    assert.match(one.sql[0], / values /);
    const [user1, user2] = [randomUUID(), randomUUID()];
    await em.insertMany(User, [
      { id: user1, email: 'd1@x', emailNormalized: 'd1@x', createdAt: new Date() },
      { id: user2, email: 'd2@x', emailNormalized: 'd2@x', createdAt: new Date() },
    ]);
    // No `status`: the column's database default applies, which only a VALUES list can ask for per row.
    const defaults = await insertCapturing(() =>
      em.insertMany(Membership, [
        { id: randomUUID(), tenant: tenant.id, user: user1, createdAt: new Date() },
        { id: randomUUID(), tenant: tenant.id, user: user2, createdAt: new Date() },
      ]),
    );
    assert.equal(defaults.statements, 1);
    assert.match(defaults.sql[0], / values /);
    em.setFilterParams('tenant', { tenantId: tenant.id });
    const stored = await em.find(Membership, { user: [user1, user2] });
    assert.deepEqual(stored.map((m) => m.status), [MembershipStatus.INVITED, MembershipStatus.INVITED]);
  });

  it('sends a flush of many new entities of one type as one statement too', async () => {
    const em = orm.em.fork();
    const roles = AWKWARD.slice(0, 5).map((name) => em.create(Role, { tenant: tenant.id, name: `flushed ${name}` }));
    const { sql } = await insertCapturing(() => em.flush());
    assert.equal(sql.filter((q) => q.startsWith('insert into "role"')).length, 1);
    assert.ok(sql.some((q) => q.startsWith('insert into "role"') && q.includes('unnest')));
    const fresh = orm.em.fork();
    fresh.setFilterParams('tenant', { tenantId: tenant.id });
    const names = (await fresh.find(Role, { id: roles.map((r) => r.id) })).map((r) => r.name).sort();
    assert.deepEqual(names, roles.map((r) => r.name).sort());
  });
});
