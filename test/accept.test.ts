import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../src/logger';
import { drainInvitationEmails } from '../src/mail/email-worker';
import { DevMailboxSender } from '../src/mail/email-sender';
import { BULK_INVITE, type SeededTenant, type TestApp, createTestApp } from './helpers/harness';
import { tokenFromMailbox } from './helpers/mailbox';
import { Pool } from 'pg';

const ACCEPT = 'mutation($token: String!) { acceptInvitation(token: $token) { redirectUrl invitation { id status email } } }';

describe('accepting an invitation', () => {
  let t: TestApp;
  let a: SeededTenant;
  let pool: Pool;

  /** Sends whatever is queued into the dev mailbox, as the worker would. */
  const deliver = async () => {
    const deps = { config: t.config, sender: new DevMailboxSender(), log: createLogger('silent') };
    await drainInvitationEmails(deps, {
      withPgClient: async (fn) => {
        const client = await pool.connect();
        try {
          return await fn(client as never);
        } finally {
          client.release();
        }
      },
    });
  };
  const inviteAndDeliver = async (email: string, extra: Record<string, unknown> = {}) => {
    const res = await t.gql(BULK_INVITE, { input: { users: [{ email }], message: 'Hello <b>you</b>', ...extra } }, a.token);
    assert.equal(res.data.bulkInviteUsers.successful, 1, JSON.stringify(res));
    await deliver();
    return { invitationId: res.data.bulkInviteUsers.results[0].invitation.id as string, token: await tokenFromMailbox(t, email) };
  };
  const page = (token: string, cookie?: string) =>
    t.app.server.inject({ method: 'GET', url: `/invitations/accept?token=${encodeURIComponent(token)}`, headers: cookie ? { cookie } : {} });
  const submit = (token: string, csrf: string, cookie: string, origin?: string) =>
    t.app.server.inject({
      method: 'POST',
      url: '/invitations/accept',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, ...(origin ? { origin } : {}) },
      payload: new URLSearchParams({ token, csrf }).toString(),
    });
  const formOf = (html: string, setCookie: string | string[] | undefined) => ({
    csrf: /name="csrf" value="([^"]+)"/.exec(html)![1],
    cookie: String(setCookie).split(';')[0],
  });
  const membershipStatus = async (invitationId: string) =>
    (await t.sql('select m.status from membership m join invitation i on i.membership_id = m.id where i.id = $1', [invitationId]))[0].status;

  before(async () => {
    t = await createTestApp({ REDIRECT_URL_ALLOWLIST: 'https://app.example.com' });
    a = await t.seedTenant('Acme <Records>');
    pool = new Pool({ connectionString: t.databaseUrl, max: 2 });
  });
  after(async () => {
    await pool.end();
    await t.close();
  });

  it('shows the tenant, the message and an Accept button, and accepting activates the membership and redirects (303)', async () => {
    const { invitationId, token } = await inviteAndDeliver('page@example.com', { redirectUrl: 'https://app.example.com/welcome' });
    const shown = await page(token);
    assert.equal(shown.statusCode, 200);
    assert.match(shown.body, /Acme &lt;Records&gt;/);
    assert.match(shown.body, /Hello &lt;b&gt;you&lt;\/b&gt;/);
    assert.match(shown.body, /<button type="submit">Accept invitation<\/button>/);
    assert.equal(shown.headers['referrer-policy'], 'no-referrer');
    assert.match(String(shown.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.equal(await membershipStatus(invitationId), 'INVITED', 'showing the page changes nothing');

    const { csrf, cookie } = formOf(shown.body, shown.headers['set-cookie']);
    const accepted = await submit(token, csrf, cookie);
    assert.equal(accepted.statusCode, 303);
    assert.equal(accepted.headers.location, 'https://app.example.com/welcome');
    assert.equal(await membershipStatus(invitationId), 'ACTIVE');
    const [invitation] = await t.sql('select status, accepted_at from invitation where id = $1', [invitationId]);
    assert.equal(invitation.status, 'ACCEPTED');
    assert.ok(invitation.accepted_at);

    const again = await page(token);
    assert.equal(again.statusCode, 410);
    assert.match(again.body, /already been used/);
  });

  it('refuses a forged POST: no CSRF cookie, a mismatched one, or a foreign Origin', async () => {
    const { invitationId, token } = await inviteAndDeliver('csrf@example.com');
    const shown = await page(token);
    const { csrf, cookie } = formOf(shown.body, shown.headers['set-cookie']);
    assert.equal((await submit(token, csrf, '')).statusCode, 403);
    assert.equal((await submit(token, csrf, 'invite_csrf=forged-value-of-same-length-xxxxx')).statusCode, 403);
    assert.equal((await submit(token, csrf, cookie, 'https://evil.example.com')).statusCode, 403);
    assert.equal(await membershipStatus(invitationId), 'INVITED');
    assert.equal((await submit(token, csrf, cookie)).statusCode, 200, 'no redirectUrl: a success page');
  });

  it('answers 410 and changes nothing for an expired, a revoked, or an unknown token', async () => {
    const expired = await inviteAndDeliver('expired@example.com');
    await t.sql(`update invitation set expires_at = now() - interval '1 minute' where id = $1`, [expired.invitationId]);
    const expiredPage = await page(expired.token);
    assert.equal(expiredPage.statusCode, 410);
    assert.match(expiredPage.body, /expired/);

    const revoked = await inviteAndDeliver('revoked@example.com');
    await t.gql('mutation($id: ID!) { revokeInvitation(id: $id) { id } }', { id: revoked.invitationId }, a.token);
    assert.equal((await page(revoked.token)).statusCode, 410);
    assert.equal((await page('x'.repeat(43))).statusCode, 410);

    const viaGraphQL = await t.gql(ACCEPT, { token: expired.token });
    assert.equal(viaGraphQL.errors?.[0].extensions?.code, 'BAD_USER_INPUT');
    assert.equal(await membershipStatus(expired.invitationId), 'INVITED');
    assert.equal(await membershipStatus(revoked.invitationId), 'REVOKED');
  });

  it('invites a revoked person again through resendInvitation, with a link that works', async () => {
    const { invitationId, token: revokedToken } = await inviteAndDeliver('second-chance@example.com');
    await t.gql('mutation($id: ID!) { revokeInvitation(id: $id) { id } }', { id: invitationId }, a.token);
    await t.gql('mutation($id: ID!) { resendInvitation(id: $id) { id } }', { id: invitationId }, a.token);
    await deliver();
    const token = await tokenFromMailbox(t, 'second-chance@example.com');
    assert.equal((await page(revokedToken)).statusCode, 410);
    const res = await t.gql(ACCEPT, { token });
    assert.equal(res.data.acceptInvitation.invitation.status, 'ACCEPTED');
    assert.equal(await membershipStatus(invitationId), 'ACTIVE');
  });

  it('accepts through acceptInvitation without a JWT, once', async () => {
    const { invitationId, token } = await inviteAndDeliver('graphql@example.com', { redirectUrl: 'https://app.example.com/in' });
    const res = await t.gql(ACCEPT, { token });
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    assert.deepEqual(res.data.acceptInvitation, {
      redirectUrl: 'https://app.example.com/in',
      invitation: { id: invitationId, status: 'ACCEPTED', email: 'graphql@example.com' },
    });
    assert.equal(await membershipStatus(invitationId), 'ACTIVE');
    assert.equal((await t.gql(ACCEPT, { token })).errors?.[0].extensions?.code, 'BAD_USER_INPUT');
  });

  it('after resendInvitation, the old link stops working and the new one works', async () => {
    const { invitationId, token: oldToken } = await inviteAndDeliver('resent@example.com');
    await t.gql('mutation($id: ID!) { resendInvitation(id: $id) { id } }', { id: invitationId }, a.token);
    await deliver();
    const newToken = await tokenFromMailbox(t, 'resent@example.com');
    assert.notEqual(newToken, oldToken);
    assert.equal((await page(oldToken)).statusCode, 410);
    assert.equal((await page(newToken)).statusCode, 200);
  });

  it('never redirects outside the allow-list, even to a URL stored before the list changed', async () => {
    const { invitationId, token } = await inviteAndDeliver('open-redirect@example.com');
    await t.sql(`update invitation set redirect_url = 'https://evil.example.com/phish' where id = $1`, [invitationId]);
    const shown = await page(token);
    const { csrf, cookie } = formOf(shown.body, shown.headers['set-cookie']);
    const accepted = await submit(token, csrf, cookie);
    assert.equal(accepted.statusCode, 200);
    assert.equal(accepted.headers.location, undefined);
  });
});
