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
    assert.match(String(shown.headers['content-security-policy']), /form-action 'self' https:\/\/app\.example\.com;/, 'the form may lead to the redirect origin, and only there');
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
    assert.match(again.body, /href="https:\/\/app\.example\.com\/welcome"/, 'a reopened link still lets the person go on');
  });

  it('answers a second press of the button (double click, reload) like the first, and only for a while', async () => {
    const { invitationId, token } = await inviteAndDeliver('twice@example.com', { redirectUrl: 'https://app.example.com/twice' });
    const shown = await page(token);
    const { csrf, cookie } = formOf(shown.body, shown.headers['set-cookie']);
    const [first, second] = await Promise.all([submit(token, csrf, cookie), submit(token, csrf, cookie)]);
    for (const res of [first, second]) {
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, 'https://app.example.com/twice');
    }
    const [{ accepted_at: acceptedAt }] = await t.sql('select accepted_at from invitation where id = $1', [invitationId]);
    const third = await submit(token, csrf, cookie);
    assert.equal(third.statusCode, 303, 'a reload that re-posts');
    assert.equal(third.headers.location, 'https://app.example.com/twice');
    const [row] = await t.sql('select status, accepted_at from invitation where id = $1', [invitationId]);
    assert.deepEqual(row, { status: 'ACCEPTED', accepted_at: acceptedAt }, 'pressing again changes nothing');
    assert.equal(await membershipStatus(invitationId), 'ACTIVE');

    await t.sql(`update invitation set accepted_at = now() - interval '1 day' where id = $1`, [invitationId]);
    const late = await submit(token, csrf, cookie);
    assert.equal(late.statusCode, 410);
    assert.match(late.body, /already been used/);
    assert.equal(late.headers.location, undefined);
  });

  it('answers malformed cookies and bodies with 4xx, never 500', async () => {
    const { invitationId, token } = await inviteAndDeliver('malformed@example.com');
    const shown = await page(token);
    const { csrf } = formOf(shown.body, shown.headers['set-cookie']);
    for (const cookie of ['invite_csrf=%E0%A4%A', 'invite_csrf=%', 'invite_csrf', '=; ;=x', `invite_csrf="${'%'.repeat(40)}"`, 'invite_csrf=\u00ff']) {
      const posted = await submit(token, csrf, cookie);
      assert.ok([400, 403].includes(posted.statusCode), `${cookie}: ${posted.statusCode}`);
      const shownAgain = await page(token, cookie);
      assert.equal(shownAgain.statusCode, 200, cookie);
      const fresh = formOf(shownAgain.body, shownAgain.headers['set-cookie']);
      assert.match(fresh.cookie, /^invite_csrf=[\w-]{24}$/, `${cookie}: a malformed secret is replaced, not reused`);
    }
    const badBodies = [`token=%E0%A4%A&csrf=${csrf}`, 'token=%&csrf=%', `csrf=${csrf}&token[]=x&token[]=y`, '%'];
    for (const payload of badBodies) {
      const res = await t.app.server.inject({
        method: 'POST',
        url: '/invitations/accept',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: 'invite_csrf=%E0%A4%A' },
        payload,
      });
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${payload}: ${res.statusCode}`);
    }
    const json = await t.app.server.inject({ method: 'POST', url: '/invitations/accept', headers: { 'content-type': 'application/json' }, payload: '{"token":' });
    assert.ok(json.statusCode >= 400 && json.statusCode < 500, `JSON: ${json.statusCode}`);
    assert.equal((await page('%E0%A4%A')).statusCode, 410);
    assert.equal(await membershipStatus(invitationId), 'INVITED');
  });

  it('never answers 500 for a stored redirect target: it sends the parser\'s href, or shows the success page', async () => {
    const stored: Array<[string, string | undefined]> = [
      ['https://app.example.com/€ uro', 'https://app.example.com/%E2%82%AC%20uro'],
      ['https://app。example。com/dots', 'https://app.example.com/dots'],
      ['HTTPS://APP.EXAMPLE.COM/Up', 'https://app.example.com/Up'],
      ['https://app.example.com\\@evil.com', 'https://app.example.com/@evil.com'],
      ['https://app.example.com/\r\nSet-Cookie: x=1', 'https://app.example.com/Set-Cookie:%20x=1'],
      ['https://app.example.com@evil.com/', undefined],
      ['javascript:alert(1)', undefined],
      ['blob:https://app.example.com/x', undefined],
      ['not a url at all', undefined],
      ['https://app.example.com/a\u0001b', 'https://app.example.com/a%01b'],
    ];
    for (const [value, location] of stored) {
      const { invitationId, token } = await inviteAndDeliver(`stored-${stored.findIndex(([v]) => v === value)}@example.com`);
      await t.sql('update invitation set redirect_url = $2 where id = $1', [invitationId, value]);
      const shown = await page(token);
      assert.equal(shown.statusCode, 200, value);
      const { csrf, cookie } = formOf(shown.body, shown.headers['set-cookie']);
      const accepted = await submit(token, csrf, cookie);
      assert.equal(accepted.statusCode, location ? 303 : 200, value);
      assert.equal(accepted.headers.location, location, value);
      assert.equal(await membershipStatus(invitationId), 'ACTIVE', value);
    }
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
    assert.equal(await membershipStatus(revoked.invitationId), 'REMOVED');
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
