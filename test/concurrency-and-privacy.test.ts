/**
 * Regression tests for races and cross-tenant privacy, end to end on a real PostgreSQL:
 * concurrent bulk invites sharing people in opposite orders, names given by another tenant, the same id twice in
 * different case, accept racing revoke/resend on one invitation, and the email worker meeting expired invitations.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { createLogger } from '../src/logger';
import { type EmailWorker, startEmailWorker } from '../src/mail/email-worker';
import { FakePostmark } from './helpers/fake-postmark';
import { type GraphQLResponse, type SeededTenant, type TestApp, createTestApp } from './helpers/harness';
import { waitFor as waitUntil } from './helpers/wait';

const INVITE = `mutation($input: BulkInviteUsersInput!) {
  bulkInviteUsers(input: $input) {
    total successful failed dryRun
    results {
      __typename
      ... on UserInvited { index email existingUser user { id email firstName lastName } invitation { id status emailStatus } }
      ... on InviteError { index email code message }
    }
  }
}`;
const ACCEPT = 'mutation($token: String!) { acceptInvitation(token: $token) { invitation { id status } } }';
const REVOKE = 'mutation($id: ID!) { revokeInvitation(id: $id) { id status } }';
const RESEND = 'mutation($id: ID!) { resendInvitation(id: $id) { id status emailStatus } }';

type Result = {
  __typename: string;
  index: number;
  email: string | null;
  code?: string;
  existingUser?: boolean;
  user?: { id: string; email: string; firstName: string | null; lastName: string | null } | null;
  invitation?: { id: string; status: string; emailStatus: string } | null;
};

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const codes = (res: GraphQLResponse) => (res.errors ?? []).map((e) => e.extensions?.code);


describe('concurrency and cross-tenant privacy', () => {
  let t: TestApp;
  let a: SeededTenant;
  let b: SeededTenant;
  const invite = (tenant: SeededTenant, input: Record<string, unknown>) => t.gql(INVITE, { input }, tenant.token);

  before(async () => {
    t = await createTestApp();
    a = await t.seedTenant('A');
    b = await t.seedTenant('B');
  });
  after(() => t.close());

  it('runs 20 concurrent requests of two tenants sharing 60 new emails in opposite orders without errors or doubles', async () => {
    const pool = Array.from({ length: 60 }, (_, i) => `dl-${String(i).padStart(2, '0')}@example.com`);
    const ascending = pool.map((email) => ({ email }));
    const descending = [...ascending].reverse();
    // Request r: tenant A on even r, B on odd; ascending for the first ten, descending for the last ten, so each
    // tenant sees both orders at once.
    const requests = Array.from({ length: 20 }, (_, r) => ({ tenant: r % 2 === 0 ? a : b, users: r < 10 ? ascending : descending }));
    const responses = await Promise.all(requests.map(({ tenant, users }) => invite(tenant, { users, sendEmail: false })));

    const invitedPerTenant = new Map<string, string[]>([
      [a.tenantId, []],
      [b.tenantId, []],
    ]);
    responses.forEach((res, r) => {
      assert.equal(res.errors, undefined, `request ${r}: ${JSON.stringify(res.errors)}`);
      for (const result of res.data.bulkInviteUsers.results as Result[]) {
        if (result.__typename === 'UserInvited') invitedPerTenant.get(requests[r].tenant.tenantId)!.push(result.email!.toLowerCase());
        else assert.ok(['ALREADY_MEMBER', 'DUPLICATE_IN_BATCH'].includes(result.code!), `unexpected ${result.code} in request ${r}`);
      }
    });
    for (const [tenantId, invited] of invitedPerTenant) {
      assert.deepEqual(invited.sort(), pool, `tenant ${tenantId}: every email invited by exactly one request`);
    }
    const users = await t.sql(`select email_normalized, count(*)::int as n from users where email_normalized like 'dl-%' group by 1`);
    assert.equal(users.length, pool.length);
    assert.ok(users.every((u) => u.n === 1), 'one users row per email');
    const memberships = await t.sql(
      `select m.tenant_id, u.email_normalized, count(*)::int as n, count(i.id)::int as invitations
         from membership m join users u on u.id = m.user_id left join invitation i on i.membership_id = m.id
        where u.email_normalized like 'dl-%' group by 1, 2`,
    );
    assert.equal(memberships.length, pool.length * 2, 'one membership per (tenant, person)');
    assert.ok(memberships.every((m) => m.n === 1 && m.invitations === 1), JSON.stringify(memberships.filter((m) => m.n !== 1 || m.invitations !== 1)));
  });

  it("never shows tenant B's names to tenant A, in a dry run or a real one, and keeps each tenant's names apart", async () => {
    const fromB = await invite(b, {
      users: [
        { email: 'x@example.com', firstName: 'Secret', lastName: 'Person' },
        { email: 'y@example.com', firstName: 'Secret', lastName: 'Person' },
      ],
      sendEmail: false,
    });
    assert.equal(fromB.data.bulkInviteUsers.successful, 2);

    for (const dryRun of [true, false]) {
      const res = await invite(a, { users: [{ email: 'x@example.com' }], sendEmail: false, dryRun });
      assert.equal(res.errors, undefined, JSON.stringify(res.errors));
      const [result] = res.data.bulkInviteUsers.results as Result[];
      assert.equal(result.__typename, 'UserInvited', `dryRun ${dryRun}`);
      assert.equal(result.existingUser, true);
      assert.equal(result.user!.firstName, null, `dryRun ${dryRun}: B's first name leaked`);
      assert.equal(result.user!.lastName, null, `dryRun ${dryRun}: B's last name leaked`);
    }
    for (const dryRun of [true, false]) {
      const res = await invite(a, { users: [{ email: 'y@example.com', firstName: 'Ann', lastName: 'A' }], sendEmail: false, dryRun });
      const [result] = res.data.bulkInviteUsers.results as Result[];
      assert.equal(result.__typename, 'UserInvited');
      assert.equal(result.existingUser, true);
      assert.deepEqual([result.user!.firstName, result.user!.lastName], ['Ann', 'A'], `dryRun ${dryRun}`);
    }

    const rows = await t.sql(
      `select m.tenant_id, u.email_normalized as email, m.first_name, m.last_name
         from membership m join users u on u.id = m.user_id where u.email_normalized in ('x@example.com', 'y@example.com')`,
    );
    const names = (tenantId: string, email: string) => {
      const row = rows.find((r) => r.tenant_id === tenantId && r.email === email);
      return row && [row.first_name, row.last_name];
    };
    assert.deepEqual(names(a.tenantId, 'x@example.com'), [null, null]);
    assert.deepEqual(names(a.tenantId, 'y@example.com'), ['Ann', 'A']);
    assert.deepEqual(names(b.tenantId, 'x@example.com'), ['Secret', 'Person']);
    assert.deepEqual(names(b.tenantId, 'y@example.com'), ['Secret', 'Person'], "A's names do not overwrite B's");
    assert.equal(rows.length, 4);
    const usersColumns = await t.sql(`select column_name from information_schema.columns where table_name = 'users'`);
    assert.ok(!usersColumns.some((c) => /name/.test(c.column_name) && c.column_name !== 'email_normalized'), 'no names on the shared users row');
  });

  it('accepts the same role, group and position id twice in different case, in a dry run and a real run, writing one link each', async () => {
    const user = {
      email: 'same-id-twice@example.com',
      roleIds: [a.roles.member, a.roles.member.toUpperCase()],
      groups: [{ groupId: a.groups[0] }, { groupId: a.groups[0].toUpperCase(), isPrimaryOrg: true }],
      positionIds: [a.positions[0].toUpperCase(), a.positions[0]],
    };
    for (const dryRun of [true, false]) {
      const res = await invite(a, { users: [user], sendEmail: false, dryRun });
      assert.equal(res.errors, undefined, `dryRun ${dryRun}: ${JSON.stringify(res.errors)}`);
      const [result] = res.data.bulkInviteUsers.results as Result[];
      assert.equal(result.__typename, 'UserInvited', `dryRun ${dryRun}: ${JSON.stringify(result)}`);
    }
    const [membership] = await t.sql(
      `select m.id from membership m join users u on u.id = m.user_id where u.email_normalized = 'same-id-twice@example.com' and m.tenant_id = $1`,
      [a.tenantId],
    );
    const links = async (table: string, column: string) =>
      t.sql(`select ${column} as id from ${table} where membership_id = $1`, [membership.id]);
    assert.deepEqual((await links('membership_role', 'role_id')).map((r) => r.id), [a.roles.member]);
    assert.deepEqual((await links('membership_position', 'position_id')).map((r) => r.id), [a.positions[0]]);
    const groups = await t.sql('select group_id, is_primary_org from membership_group where membership_id = $1', [membership.id]);
    assert.deepEqual(groups, [{ group_id: a.groups[0], is_primary_org: true }]);
  });

  /** A fresh PENDING invitation without email whose link is `token` (only its SHA-256 is stored, as the worker does). */
  async function invitationWithToken(email: string): Promise<{ id: string; token: string }> {
    const res = await invite(a, { users: [{ email }], sendEmail: false });
    const [result] = res.data.bulkInviteUsers.results as Result[];
    assert.equal(result.__typename, 'UserInvited', JSON.stringify(res));
    const token = `known-token-${email}-${'x'.repeat(20)}`;
    await t.sql('update invitation set token_hash = $2 where id = $1', [result.invitation!.id, sha256(token)]);
    return { id: result.invitation!.id, token };
  }

  /**
   * Runs two operations on one invitation. Free rounds just start both at once (whoever the scheduler favours
   * wins). Ordered rounds make the interleaving that matters certain: a test transaction holds the invitation's
   * row lock, `first` is started and seen waiting for it, then `second` likewise, then the lock is released, so
   * both are inside their transactions and `first` wins while `second` must decide on what `first` committed.
   */
  async function race(
    id: string,
    ops: { first: () => Promise<GraphQLResponse>; second: () => Promise<GraphQLResponse> },
    ordered: boolean,
  ): Promise<[GraphQLResponse, GraphQLResponse]> {
    if (!ordered) return Promise.all([ops.first(), ops.second()]);
    const holder = new Client({ connectionString: t.databaseUrl });
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query('select 1 from invitation where id = $1 for update', [id]);
      const waiting = async (n: number) =>
        (await t.sql(`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`))[0].n >= n;
      const first = ops.first();
      await waitUntil(() => waiting(1), 10_000, 'the first operation waiting for the row lock');
      const second = ops.second();
      await waitUntil(() => waiting(2), 10_000, 'the second operation waiting for the row lock');
      await holder.query('commit');
      return [await first, await second];
    } finally {
      await holder.end();
    }
  }

  const stateOf = async (id: string) =>
    (
      await t.sql(
        `select i.status, i.accepted_at, i.revoked_at, i.email_status, m.status as membership
           from invitation i join membership m on m.id = i.membership_id where i.id = $1`,
        [id],
      )
    )[0];

  it('lets exactly one of acceptInvitation and revokeInvitation win, and leaves the rows as the winner wrote them', async () => {
    const wins = { accept: 0, revoke: 0 };
    for (let round = 0; round < 20; round++) {
      const { id, token } = await invitationWithToken(`acc-rev-${round}@example.com`);
      const accept = () => t.gql(ACCEPT, { token });
      const revoke = () => t.gql(REVOKE, { id }, a.token);
      // Rounds 0-9 free; 10-19 ordered, accept first on even rounds and revoke first on odd ones.
      const ordered = round >= 10;
      const acceptFirst = round % 2 === 0;
      const [accepted, revoked] = acceptFirst
        ? await race(id, { first: accept, second: revoke }, ordered)
        : await race(id, { first: revoke, second: accept }, ordered).then(([r, acc]) => [acc, r]);
      for (const res of [accepted, revoked]) {
        assert.ok(!codes(res).includes('INTERNAL_SERVER_ERROR'), JSON.stringify(res.errors));
      }
      const acceptOk = !accepted.errors && accepted.data?.acceptInvitation?.invitation.status === 'ACCEPTED';
      const revokeOk = !revoked.errors && revoked.data?.revokeInvitation?.status === 'REVOKED';
      assert.ok(acceptOk !== revokeOk, `round ${round}: exactly one wins (${JSON.stringify([accepted, revoked])})`);
      if (ordered) assert.equal(acceptOk, acceptFirst, `round ${round}: the operation that took the lock first wins`);
      const state = await stateOf(id);
      if (acceptOk) {
        wins.accept++;
        assert.deepEqual(codes(revoked), ['BAD_USER_INPUT']);
        assert.equal(state.status, 'ACCEPTED');
        assert.ok(state.accepted_at, 'accepted_at set');
        assert.equal(state.revoked_at, null);
        assert.equal(state.membership, 'ACTIVE');
      } else {
        wins.revoke++;
        assert.deepEqual(codes(accepted), ['BAD_USER_INPUT']);
        assert.equal(state.status, 'REVOKED');
        assert.equal(state.accepted_at, null);
        assert.ok(state.revoked_at, 'revoked_at set');
        assert.equal(state.membership, 'REMOVED');
      }
    }
    assert.ok(wins.accept >= 5 && wins.revoke >= 5, 'both outcomes exercised');
    console.log(`# accept vs revoke, 20 rounds: accept won ${wins.accept}, revoke won ${wins.revoke}`);
  });

  it('lets exactly one of acceptInvitation and resendInvitation win: a resend rotates the token, an acceptance refuses the resend', async () => {
    const wins = { accept: 0, resend: 0 };
    for (let round = 0; round < 20; round++) {
      const { id, token } = await invitationWithToken(`acc-res-${round}@example.com`);
      const accept = () => t.gql(ACCEPT, { token });
      const resend = () => t.gql(RESEND, { id }, a.token);
      const ordered = round >= 10;
      const acceptFirst = round % 2 === 0;
      const [accepted, resent] = acceptFirst
        ? await race(id, { first: accept, second: resend }, ordered)
        : await race(id, { first: resend, second: accept }, ordered).then(([r, acc]) => [acc, r]);
      for (const res of [accepted, resent]) {
        assert.ok(!codes(res).includes('INTERNAL_SERVER_ERROR'), JSON.stringify(res.errors));
      }
      const acceptOk = !accepted.errors && accepted.data?.acceptInvitation?.invitation.status === 'ACCEPTED';
      const resendOk = !resent.errors && resent.data?.resendInvitation?.emailStatus === 'QUEUED';
      assert.ok(acceptOk !== resendOk, `round ${round}: exactly one wins (${JSON.stringify([accepted, resent])})`);
      if (ordered) assert.equal(acceptOk, acceptFirst, `round ${round}: the operation that took the lock first wins`);
      const state = await stateOf(id);
      const [{ token_hash: hash }] = await t.sql('select token_hash from invitation where id = $1', [id]);
      if (acceptOk) {
        wins.accept++;
        assert.deepEqual(codes(resent), ['BAD_USER_INPUT']);
        assert.equal(state.status, 'ACCEPTED');
        assert.ok(state.accepted_at);
        assert.equal(state.membership, 'ACTIVE');
        assert.notEqual(state.email_status, 'QUEUED', 'no email left queued for an accepted invitation');
      } else {
        wins.resend++;
        assert.deepEqual(codes(accepted), ['BAD_USER_INPUT'], 'the token rotated');
        assert.notEqual(hash, sha256(token), 'the old link no longer matches');
        assert.equal(state.status, 'PENDING');
        assert.equal(state.accepted_at, null);
        assert.equal(state.membership, 'INVITED');
        assert.equal(state.email_status, 'QUEUED');
      }
    }
    assert.ok(wins.accept >= 5 && wins.resend >= 5, 'both outcomes exercised');
    console.log(`# accept vs resend, 20 rounds: accept won ${wins.accept}, resend won ${wins.resend}`);
  });
});

describe('the email worker and invitations that expired while queued', () => {
  const postmark = new FakePostmark();
  let t: TestApp;
  let a: SeededTenant;
  let worker: EmailWorker | undefined;

  before(async () => {
    const apiUrl = await postmark.start();
    t = await createTestApp({
      POSTMARK_SERVER_TOKEN: 'test-token',
      POSTMARK_API_URL: apiUrl,
      POSTMARK_FROM: 'invites@acme.test',
      POSTMARK_MESSAGE_STREAM: 'invitations',
    });
    a = await t.seedTenant('Expiry Co');
  });
  after(async () => {
    await worker?.stop();
    await t.close();
    await postmark.stop();
  });

  it('does not email an invitation whose expires_at has passed, marks it FAILED with the reason, and sends the valid one', async () => {
    // Queued while no worker runs; one of them then expires before any worker picks it up.
    const res = await t.gql(INVITE, { input: { users: [{ email: 'stale@example.com' }, { email: 'fresh@example.com' }] } }, a.token);
    assert.equal(res.data.bulkInviteUsers.successful, 2);
    await t.sql(`update invitation set expires_at = now() - interval '1 minute' where email = 'stale@example.com'`);
    assert.deepEqual(
      (await t.sql(`select email, email_status from invitation where email in ('stale@example.com', 'fresh@example.com') order by email`)).map(
        (r) => [r.email, r.email_status],
      ),
      [
        ['fresh@example.com', 'QUEUED'],
        ['stale@example.com', 'QUEUED'],
      ],
    );

    worker = await startEmailWorker({ config: t.config, databaseUrl: t.databaseUrl, log: createLogger('silent') });
    const statuses = async () =>
      Object.fromEntries(
        (await t.sql(`select email, email_status, email_error, email_attempts from invitation where email in ('stale@example.com', 'fresh@example.com')`)).map(
          (r) => [r.email, r],
        ),
      );
    await waitUntil(
      async () => {
        const s = await statuses();
        return s['fresh@example.com'].email_status === 'SENT' && s['stale@example.com'].email_status !== 'QUEUED';
      },
      15_000,
      'the fresh invitation SENT and the stale one decided',
    );
    const s = await statuses();
    assert.equal(s['stale@example.com'].email_status, 'FAILED');
    assert.equal(s['stale@example.com'].email_error, 'Invitation expired before it was sent');
    assert.equal(s['stale@example.com'].email_attempts, 0, 'never attempted');
    assert.deepEqual(postmark.recipients(), ['fresh@example.com'], 'the provider received only the valid invitation');

    // The invitations list tells the inviter why no email went out.
    const listed = await t.gql('{ invitations(first: 10) { nodes { email status emailStatus emailError } } }', {}, a.token);
    const stale = listed.data.invitations.nodes.find((n: { email: string }) => n.email === 'stale@example.com');
    assert.deepEqual(stale, { email: 'stale@example.com', status: 'EXPIRED', emailStatus: 'FAILED', emailError: 'Invitation expired before it was sent' });
  });
});
