import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import { PERMISSIONS } from '../src/auth/jwt';
import { createLogger } from '../src/logger';
import { type EmailWorker, startEmailWorker } from '../src/mail/email-worker';
import { FakePostmark } from './helpers/fake-postmark';
import { type SeededTenant, TEST_JWT_SECRET, type TestApp, createTestApp } from './helpers/harness';
import { waitFor } from './helpers/wait';

const INVITE = `mutation($input: BulkInviteUsersInput!) { bulkInviteUsers(input: $input) { successful results { ... on UserInvited { invitation { id } } } } }`;

/** A token with a display-name claim, as an identity provider would issue it. */
const namedToken = (tenantId: string, name: string) =>
  jwt.sign({ permissions: PERMISSIONS, tenantId, name }, TEST_JWT_SECRET, { algorithm: 'HS256', subject: 'inviter-sub', expiresIn: 3600 });

for (const mode of ['template', 'built-in'] as const) {
  describe(`invitation emails: ${mode}`, () => {
    const postmark = new FakePostmark();
    let t: TestApp;
    let a: SeededTenant;
    let worker: EmailWorker;

    before(async () => {
      const apiUrl = await postmark.start();
      t = await createTestApp({
        POSTMARK_SERVER_TOKEN: 'test-token',
        POSTMARK_API_URL: apiUrl,
        POSTMARK_FROM: 'invites@acme.test',
        ...(mode === 'template' ? { POSTMARK_TEMPLATE_ALIAS: 'invitation-v1' } : {}),
      });
      a = await t.seedTenant('Acme Music');
      worker = await startEmailWorker({ config: t.config, databaseUrl: t.databaseUrl, log: createLogger('silent') });
    });
    after(async () => {
      await worker.stop();
      await t.close();
      await postmark.stop();
    });

    it('names the inviter, passes the locale, and links to an accept page that names the inviter too', async () => {
      const res = await t.gql(
        INVITE,
        { input: { users: [{ email: 'ana@example.com', firstName: 'Ana', locale: 'de-CH' }], message: 'Welcome aboard' } },
        namedToken(a.tenantId, 'Grace Hopper'),
      );
      assert.equal(res.data.bulkInviteUsers.successful, 1, JSON.stringify(res));
      const message = await waitFor(() => postmark.accepted.find((m) => m.To === 'ana@example.com'), 15_000, 'the email');
      assert.deepEqual(message.Metadata && { invitationId: message.Metadata.invitationId, tenantId: message.Metadata.tenantId }, {
        invitationId: res.data.bulkInviteUsers.results[0].invitation.id,
        tenantId: a.tenantId,
      });
      let acceptUrl: string;
      if (mode === 'template') {
        assert.equal(message.TemplateAlias, 'invitation-v1');
        assert.equal(message.HtmlBody, undefined, 'the template renders the email, not the built-in one');
        const model = message.TemplateModel as Record<string, string>;
        assert.deepEqual(
          { ...model, accept_url: undefined, expires_at: undefined },
          { tenant_name: 'Acme Music', first_name: 'Ana', message: 'Welcome aboard', locale: 'de-CH', inviter_name: 'Grace Hopper', accept_url: undefined, expires_at: undefined },
        );
        assert.ok(!Number.isNaN(Date.parse(model.expires_at)));
        acceptUrl = model.accept_url;
      } else {
        assert.equal(message.TemplateAlias, undefined);
        assert.match(message.HtmlBody, /<html lang="de-CH">/);
        assert.match(message.HtmlBody, /<title>You&#39;re invited to join Acme Music<\/title>/);
        assert.match(message.HtmlBody, /Grace Hopper invited you to join <strong>Acme Music<\/strong>/);
        assert.match(message.TextBody, /^Grace Hopper invited you to join Acme Music\./);
        acceptUrl = /http:\/\/localhost:4000\/invitations\/accept\?token=[\w-]+/.exec(message.TextBody)![0];
      }
      const page = await t.app.server.inject({ method: 'GET', url: new URL(acceptUrl).pathname + new URL(acceptUrl).search });
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /Grace Hopper invited you to join <strong>Acme Music<\/strong>/);
    });

    it("names the inviter's sub when the token carries no name", async () => {
      await t.gql(INVITE, { input: { users: [{ email: 'bo@example.com' }] } }, a.token);
      const message = await waitFor(() => postmark.accepted.find((m) => m.To === 'bo@example.com'), 15_000, 'the email');
      if (mode === 'template') assert.equal((message.TemplateModel as Record<string, unknown>).inviter_name, 'test-user');
      else assert.match(message.TextBody, /^test-user invited you to join Acme Music\./);
    });
  });
}
