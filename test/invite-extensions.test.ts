import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BULK_INVITE, type SeededTenant, type TestApp, createTestApp } from './helpers/harness';

const SETTINGS = 'query { tenantSettings { maxMembers allowedEmailDomains } }';
const UPDATE_SETTINGS = `mutation($input: TenantSettingsInput!) { updateTenantSettings(input: $input) { maxMembers allowedEmailDomains } }`;
const INVITE = `mutation($input: BulkInviteUsersInput!) {
  bulkInviteUsers(input: $input) {
    total successful failed dryRun
    results {
      __typename
      ... on UserInvited { index email existingUser user { id email }
        invitation { id status emailStatus batchId invitedBy acceptedAt locale metadata acceptUrl } }
      ... on InviteError { index email code message }
      ... on InvalidInputError { field }
      ... on DomainNotAllowedError { domain }
      ... on SeatLimitReachedError { maxMembers }
    }
  }
}`;
const ACCEPT = 'mutation($token: String!) { acceptInvitation(token: $token) { invitation { id status acceptedAt } } }';
const RESEND = 'mutation($id: ID!) { resendInvitation(id: $id) { id status emailStatus acceptUrl } }';

const codes = (res: any) => res.data.bulkInviteUsers.results.map((r: any) => r.code ?? 'INVITED');
const tokenOf = (acceptUrl: string) => new URL(acceptUrl).searchParams.get('token')!;

describe('tenant settings, seats, domains, metadata, locale and accept links', () => {
  let t: TestApp;

  before(async () => {
    t = await createTestApp();
  });
  after(async () => {
    await t.close();
  });

  const settings = async (tenant: SeededTenant, input: Record<string, unknown>) => {
    const res = await t.gql(UPDATE_SETTINGS, { input }, tenant.token);
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    return res.data.updateTenantSettings;
  };
  const invite = async (tenant: SeededTenant, users: unknown[], extra: Record<string, unknown> = {}) => {
    const res = await t.gql(INVITE, { input: { users, ...extra } }, tenant.token);
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    return res;
  };
  const seatsUsed = async (tenantId: string) =>
    Number((await t.sql(`select count(*) from membership where tenant_id = $1 and status in ('INVITED','ACTIVE','SUSPENDED')`, [tenantId]))[0].count);

  describe('tenantSettings', () => {
    it('starts unlimited and open, and changes only the fields given, with domains normalised', async () => {
      const a = await t.seedTenant();
      assert.deepEqual((await t.gql(SETTINGS, {}, a.token)).data.tenantSettings, { maxMembers: null, allowedEmailDomains: [] });
      assert.deepEqual(await settings(a, { allowedEmailDomains: [' Example.COM', 'bücher.de', 'example.com'] }), {
        maxMembers: null,
        allowedEmailDomains: ['example.com', 'xn--bcher-kva.de'],
      });
      assert.deepEqual(await settings(a, { maxMembers: 7 }), { maxMembers: 7, allowedEmailDomains: ['example.com', 'xn--bcher-kva.de'] });
      assert.deepEqual(await settings(a, { maxMembers: null }), { maxMembers: null, allowedEmailDomains: ['example.com', 'xn--bcher-kva.de'] });
      assert.deepEqual((await t.gql(SETTINGS, {}, a.token)).data.tenantSettings, { maxMembers: null, allowedEmailDomains: ['example.com', 'xn--bcher-kva.de'] });
    });

    it('refuses wildcards, non-domains and negative limits as BAD_USER_INPUT, changing nothing', async () => {
      const a = await t.seedTenant();
      for (const input of [
        { allowedEmailDomains: ['*.example.com'] },
        { allowedEmailDomains: ['example.com', 'https://x.org'] },
        { allowedEmailDomains: ['1.2.3.4'] },
        { allowedEmailDomains: ['user@example.com'] },
        { allowedEmailDomains: ['localhost'] },
        { maxMembers: -1 },
      ]) {
        const res = await t.gql(UPDATE_SETTINGS, { input }, a.token);
        assert.equal(res.errors?.[0].extensions?.code, 'BAD_USER_INPUT', JSON.stringify(input));
      }
      assert.deepEqual((await t.gql(SETTINGS, {}, a.token)).data.tenantSettings, { maxMembers: null, allowedEmailDomains: [] });
    });

    it('needs tenant:admin', async () => {
      const a = await t.seedTenant();
      const inviter = t.token({ tenantId: a.tenantId, permissions: ['users:invite', 'users:read'] });
      assert.equal((await t.gql(SETTINGS, {}, inviter)).errors?.[0].extensions?.code, 'FORBIDDEN');
      assert.equal((await t.gql(UPDATE_SETTINGS, { input: { maxMembers: 1 } }, inviter)).errors?.[0].extensions?.code, 'FORBIDDEN');
    });
  });

  describe('DOMAIN_NOT_ALLOWED', () => {
    it('allows listed domains and subdomains in any case; refuses the rest, also by existingUserId', async () => {
      const a = await t.seedTenant();
      const first = await invite(a, [{ email: 'outsider@elsewhere.org' }], { sendEmail: false });
      const outsiderId = first.data.bulkInviteUsers.results[0].user.id;
      await t.sql(`update membership set status = 'REMOVED' where tenant_id = $1`, [a.tenantId]);
      await settings(a, { allowedEmailDomains: ['Example.com'] });
      const res = await invite(
        a,
        [{ email: 'a@EXAMPLE.COM' }, { email: 'b@eu.example.com' }, { email: 'c@badexample.com' }, { email: 'not-an-email' }, { existingUserId: outsiderId }, { email: 'c@badexample.com' }],
        { sendEmail: false },
      );
      assert.deepEqual(codes(res), ['INVITED', 'INVITED', 'DOMAIN_NOT_ALLOWED', 'INVALID_EMAIL', 'DOMAIN_NOT_ALLOWED', 'DOMAIN_NOT_ALLOWED']);
      const refused = res.data.bulkInviteUsers.results[2];
      assert.equal(refused.__typename, 'DomainNotAllowedError');
      assert.equal(refused.domain, 'badexample.com');
    });

    it('treats another tenant’s user id as missing: UNKNOWN_USER, never their domain', async () => {
      const a = await t.seedTenant();
      const b = await t.seedTenant();
      const other = await invite(b, [{ email: 'theirs@secret-domain.org' }], { sendEmail: false });
      await settings(a, { allowedEmailDomains: ['example.com'] });
      const res = await invite(a, [{ existingUserId: other.data.bulkInviteUsers.results[0].user.id.toUpperCase() }]);
      assert.deepEqual(codes(res), ['UNKNOWN_USER']);
      assert.doesNotMatch(JSON.stringify(res), /secret-domain/);
    });

    it('is worded by both REST shims', async () => {
      const a = await t.seedTenant();
      await settings(a, { allowedEmailDomains: ['example.com'] });
      const aptly = await t.post('/auth/v1/user/bulk-invite', { tenantId: a.tenantId, users: [{ firstName: 'Jo', lastName: 'Doe', email: 'jo@other.org' }] }, a.token);
      assert.equal(aptly.status, 200, JSON.stringify(aptly.body));
      assert.deepEqual(aptly.body.data.results, [{ email: 'jo@other.org', success: false, message: 'Email domain not allowed' }]);
      const royalti = await t.post('/user/bulk', { users: [{ firstName: 'Jo', lastName: 'Doe', email: 'jo@other.org' }] }, a.token);
      assert.equal(royalti.status, 200, JSON.stringify(royalti.body));
      assert.deepEqual(royalti.body.errors, ['Email domain not allowed for Jo Doe']);
    });
  });

  describe('SEAT_LIMIT_REACHED', () => {
    it('fills the remaining seats in input order; suspended members hold seats and are ALREADY_MEMBER; removed ones can come back', async () => {
      const a = await t.seedTenant();
      const b = await t.seedTenant();
      // Another tenant's members take none of this tenant's seats.
      await invite(b, [{ email: 'b1@example.com' }, { email: 'b2@example.com' }], { sendEmail: false });
      await invite(a, [{ email: 'sus@example.com' }, { email: 'gone@example.com' }], { sendEmail: false });
      await t.sql(`update membership m set status = 'SUSPENDED' from users u where u.id = m.user_id and u.email_normalized = 'sus@example.com' and m.tenant_id = $1`, [a.tenantId]);
      await t.sql(`update membership m set status = 'REMOVED' from users u where u.id = m.user_id and u.email_normalized = 'gone@example.com' and m.tenant_id = $1`, [a.tenantId]);
      await settings(a, { maxMembers: 3 });

      const dry = await invite(a, [{ email: 'sus@example.com' }, { email: 'gone@example.com' }, { email: 'new1@example.com' }, { email: 'new2@example.com' }], { dryRun: true });
      assert.deepEqual(codes(dry), ['ALREADY_MEMBER', 'INVITED', 'INVITED', 'SEAT_LIMIT_REACHED']);
      assert.equal(await seatsUsed(a.tenantId), 1);

      const res = await invite(a, [{ email: 'sus@example.com' }, { email: 'gone@example.com' }, { email: 'new1@example.com' }, { email: 'new2@example.com' }], { sendEmail: false });
      assert.deepEqual(codes(res), ['ALREADY_MEMBER', 'INVITED', 'INVITED', 'SEAT_LIMIT_REACHED']);
      const [, back, , refused] = res.data.bulkInviteUsers.results;
      assert.equal(back.existingUser, true);
      assert.equal(refused.__typename, 'SeatLimitReachedError');
      assert.equal(refused.maxMembers, 3);
      assert.equal(await seatsUsed(a.tenantId), 3);

      const aptly = await t.post('/auth/v1/user/bulk-invite', { tenantId: a.tenantId, users: [{ firstName: 'Ann', lastName: 'Lee', email: 'ann@example.com' }] }, a.token);
      assert.deepEqual(aptly.body.data.results, [{ email: 'ann@example.com', success: false, message: 'Seat limit reached' }]);
      const royalti = await t.post('/user/bulk', { users: [{ firstName: 'Ann', lastName: 'Lee', email: 'ann@example.com' }] }, a.token);
      assert.deepEqual(royalti.body.errors, ['Seat limit reached for Ann Lee']);
    });

    it('never exceeds the limit under concurrent requests: 5 requests of 4 new people for 10 seats', async () => {
      const a = await t.seedTenant();
      await settings(a, { maxMembers: 10 });
      const batches = Array.from({ length: 5 }, (_, r) => Array.from({ length: 4 }, (_, i) => ({ email: `race${r}-${i}@example.com` })));
      const responses = await Promise.all(batches.map((users) => t.gql(INVITE, { input: { users, sendEmail: false } }, a.token)));
      for (const res of responses) assert.equal(res.errors, undefined, JSON.stringify(res.errors));
      const all = responses.flatMap(codes);
      assert.equal(all.filter((c: string) => c === 'INVITED').length, 10, all.join());
      assert.equal(all.filter((c: string) => c === 'SEAT_LIMIT_REACHED').length, 10, all.join());
      assert.equal(await seatsUsed(a.tenantId), 10);
      // Within each request the seats went to the earliest people.
      for (const res of responses) {
        const c = codes(res);
        assert.deepEqual(c, [...c].sort((x: string, y: string) => (x === y ? 0 : x === 'INVITED' ? -1 : 1)));
      }
    });

    it('lets a removed member back in when a seat is free, and a revoked invitation frees its seat', async () => {
      const a = await t.seedTenant();
      await settings(a, { maxMembers: 1 });
      const first = await invite(a, [{ email: 'one@example.com' }], { sendEmail: false });
      assert.deepEqual(codes(await invite(a, [{ email: 'two@example.com' }])), ['SEAT_LIMIT_REACHED']);
      const revoked = await t.gql('mutation($id: ID!) { revokeInvitation(id: $id) { status } }', { id: first.data.bulkInviteUsers.results[0].invitation.id }, a.token);
      assert.equal(revoked.data.revokeInvitation.status, 'REVOKED');
      const again = await invite(a, [{ email: 'two@example.com' }], { sendEmail: false });
      assert.deepEqual(codes(again), ['INVITED']);
      // Resending the revoked invitation would invite one@ again: no free seat, so nothing changes.
      const resend = await t.gql(RESEND, { id: first.data.bulkInviteUsers.results[0].invitation.id }, a.token);
      assert.equal(resend.errors?.[0].extensions?.code, 'BAD_USER_INPUT', JSON.stringify(resend));
      assert.match(resend.errors![0].message, /Seat limit/);
      assert.equal(await seatsUsed(a.tenantId), 1);
      await t.sql(`update membership m set status = 'REMOVED' from users u where u.id = m.user_id and u.email_normalized = 'two@example.com' and m.tenant_id = $1`, [a.tenantId]);
      const back = await t.post('/user/bulk', { users: [{ firstName: 'One', lastName: 'Back', email: 'one@example.com' }], sendEmail: false }, a.token);
      assert.deepEqual(back.body.createdUsers, ['One Back']);
      assert.equal(await seatsUsed(a.tenantId), 1);
    });
  });

  describe('metadata and locale', () => {
    it('stores metadata on the member and the invitation, and the canonical locale on the invitation', async () => {
      const a = await t.seedTenant();
      const metadata = { employeeId: 'E-42', tags: ['a', 'b'], nested: { ok: true } };
      const res = await invite(a, [{ email: 'meta@example.com', metadata, locale: 'de-ch' }], { sendEmail: false });
      const { invitation } = res.data.bulkInviteUsers.results[0];
      assert.deepEqual(invitation.metadata, metadata);
      assert.equal(invitation.locale, 'de-CH');
      const [row] = await t.sql('select m.metadata as member, i.metadata as invitation, i.locale from invitation i join membership m on m.id = i.membership_id where i.id = $1', [invitation.id]);
      assert.deepEqual(row, { member: metadata, invitation: metadata, locale: 'de-CH' });
    });

    it('refuses metadata that is not an object or over 4 KiB, and invalid locales, as INVALID_INPUT naming the field', async () => {
      const a = await t.seedTenant();
      const res = await invite(a, [
        { email: 'm1@example.com', metadata: [1, 2] },
        { email: 'm2@example.com', metadata: 'text' },
        { email: 'm3@example.com', metadata: { v: 'x'.repeat(4096) } },
        { email: 'm4@example.com', metadata: { v: 'nul\u0000' } },
        { email: 'm5@example.com', locale: 'en_US' },
        { email: 'm6@example.com', metadata: { v: 'x'.repeat(4000) }, locale: 'fr' },
      ]);
      assert.deepEqual(codes(res), ['INVALID_INPUT', 'INVALID_INPUT', 'INVALID_INPUT', 'INVALID_INPUT', 'INVALID_INPUT', 'INVITED']);
      assert.deepEqual(res.data.bulkInviteUsers.results.slice(0, 5).map((r: any) => r.field), ['metadata', 'metadata', 'metadata', 'metadata', 'locale']);
      assert.equal(Number((await t.sql('select count(*) from membership where tenant_id = $1', [a.tenantId]))[0].count), 1);
    });
  });

  describe('accept links without our email', () => {
    it('shows each link once (sendEmail false), works with acceptInvitation and the page; a replay shows null', async () => {
      const a = await t.seedTenant();
      const input = { users: [{ email: 'link1@example.com' }, { email: 'link2@example.com' }], sendEmail: false, idempotencyKey: 'links-1' };
      const res = await invite(a, input.users, { sendEmail: false, idempotencyKey: 'links-1' });
      const [one, two] = res.data.bulkInviteUsers.results.map((r: any) => r.invitation);
      for (const inv of [one, two]) {
        assert.match(inv.acceptUrl, /^http:\/\/localhost:4000\/invitations\/accept\?token=[A-Za-z0-9_-]{43}$/);
        assert.equal(inv.emailStatus, 'NOT_REQUESTED');
        assert.equal(inv.invitedBy, 'test-user');
      }
      assert.ok(one.batchId && one.batchId === two.batchId);
      assert.notEqual(one.acceptUrl, two.acceptUrl);
      // Only the hash is stored.
      const stored = await t.sql('select token_hash from invitation where id = $1', [one.id]);
      assert.notEqual(stored[0].token_hash, tokenOf(one.acceptUrl));
      assert.doesNotMatch(JSON.stringify(await t.sql('select outcome from idempotency_record')), /token=/);

      const replay = await invite(a, input.users, { sendEmail: false, idempotencyKey: 'links-1' });
      assert.deepEqual(replay.data.bulkInviteUsers.results.map((r: any) => r.invitation.acceptUrl), [null, null]);
      assert.deepEqual(replay.data.bulkInviteUsers.results.map((r: any) => r.invitation.id), [one.id, two.id]);

      const page = await t.app.server.inject({ method: 'GET', url: new URL(two.acceptUrl).pathname + new URL(two.acceptUrl).search });
      assert.equal(page.statusCode, 200);
      const accepted = await t.gql(ACCEPT, { token: tokenOf(one.acceptUrl) });
      assert.equal(accepted.data.acceptInvitation.invitation.status, 'ACCEPTED');
      assert.ok(accepted.data.acceptInvitation.invitation.acceptedAt);

      const next = await invite(a, [{ email: 'link3@example.com' }], { sendEmail: false });
      assert.notEqual(next.data.bulkInviteUsers.results[0].invitation.batchId, one.batchId);
    });

    it('gives no link when we send the email, nor in a dry run', async () => {
      const a = await t.seedTenant();
      const sent = await invite(a, [{ email: 'mail@example.com' }]);
      assert.equal(sent.data.bulkInviteUsers.results[0].invitation.acceptUrl, null);
      const dry = await invite(a, [{ email: 'dry@example.com' }], { sendEmail: false, dryRun: true });
      assert.equal(dry.data.bulkInviteUsers.results[0].invitation, null);
    });

    it('resendInvitation mints a new link and queues its email; the old link stops working', async () => {
      const a = await t.seedTenant();
      const res = await invite(a, [{ email: 'resend@example.com' }], { sendEmail: false });
      const { id, acceptUrl } = res.data.bulkInviteUsers.results[0].invitation;
      const resent = await t.gql(RESEND, { id }, a.token);
      assert.equal(resent.errors, undefined, JSON.stringify(resent.errors));
      assert.equal(resent.data.resendInvitation.emailStatus, 'QUEUED');
      assert.equal(resent.data.resendInvitation.acceptUrl, null);
      const old = await t.gql(ACCEPT, { token: tokenOf(acceptUrl) });
      assert.equal(old.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
    });
  });
});
