import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { buildApp } from '../src/app';
import { createOrm, migrate } from '../src/db/orm';
import type { App } from '../src/app';
import { createLogger } from '../src/logger';
import { type EmailWorker, startEmailWorker } from '../src/mail/email-worker';
import { findChromium } from './helpers/chromium';
import { BULK_INVITE, createScratchDatabase, testConfig, TEST_JWT_SECRET } from './helpers/harness';
import { mintToken } from '../src/auth/jwt';
import { Tenant } from '../src/entities';
import { freePort } from './helpers/processes';
import { waitFor } from './helpers/wait';

describe('in a browser: invite, open the dev mailbox, follow the link, accept', () => {
  let app: App;
  let worker: EmailWorker;
  let browser: Browser;
  let base: string;
  let token: string;
  let drop: () => Promise<void>;
  /** Another origin on loopback (another port), standing in for the app the invitee is sent to. */
  let target: Server;
  let targetBase: string;
  const landings: string[] = [];

  before(async () => {
    const targetPort = await freePort();
    targetBase = `http://127.0.0.1:${targetPort}`;
    target = createServer((request, response) => {
      landings.push(`${request.method} ${request.url}`);
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>Target app</title><h1>Welcome to the target app</h1>');
    });
    await new Promise<void>((resolve) => target.listen(targetPort, '127.0.0.1', resolve));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const db = await createScratchDatabase();
    drop = db.drop;
    const config = testConfig(db.url, { PUBLIC_URL: base, EMAIL_POLL_INTERVAL_MS: '100' });
    const log = createLogger('silent');
    const orm = await createOrm(db.url);
    await migrate(orm, db.url, log);
    app = await buildApp({ config, orm, log });
    await app.server.listen({ port, host: '127.0.0.1' });
    worker = await startEmailWorker({ config, databaseUrl: db.url, log });
    const em = orm.em.fork();
    const tenant = em.create(Tenant, { name: 'Browser Band' });
    await em.flush();
    token = mintToken({ secret: TEST_JWT_SECRET, subject: 'me', tenantId: tenant.id, permissions: ['users:invite'], expiresInSeconds: 600 });
    browser = await chromium.launch({
      executablePath: findChromium(),
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  after(async () => {
    await browser?.close();
    await new Promise((resolve) => target?.close(resolve));
    await worker?.stop();
    await app?.close();
    await app?.orm.close();
    await drop?.();
  });

  const inviteMyself = async (email: string, redirectUrl: string) => {
    const response = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: BULK_INVITE, variables: { input: { users: [{ email }], redirectUrl, message: 'Come jam with us' } } }),
    });
    const body = (await response.json()) as any;
    assert.equal(body.data.bulkInviteUsers.successful, 1, JSON.stringify(body));
    return body.data.bulkInviteUsers.results[0].invitation.id as string;
  };

  const membershipOf = async (invitationId: string) =>
    (
      await app.orm.em
        .fork()
        .getConnection()
        .execute('select m.status from membership m join invitation i on i.membership_id = m.id where i.id = ?', [invitationId])
    )[0].status;

  /** The accept link from the email the worker delivered to the dev mailbox (polled: the worker sends it). */
  const acceptLinkFor = async (email: string) => {
    const connection = app.orm.em.fork().getConnection();
    const html: string = await waitFor(
      async () => (await connection.execute('select html from dev_mail where "to" = ?', [email]))[0]?.html,
      10_000,
      `the email to ${email}`,
    );
    return /href="([^"]*\/invitations\/accept\?token=[^"]+)"/.exec(html)![1].replace(/&amp;/g, '&');
  };

  it('lands on the redirect URL on another origin, with the membership ACTIVE', async () => {
    const redirectUrl = `${targetBase}/welcome?from=invite`;
    const invitationId = await inviteMyself('me@example.com', redirectUrl);
    const page = await browser.newPage();
    await page.goto(`${base}/dev/mailbox`);
    const subject = page.getByRole('link', { name: /invited to join Browser Band/ });
    for (let i = 0; i < 100 && !(await subject.count()); i++) {
      await page.waitForTimeout(100);
      await page.reload();
    }
    await subject.first().click();
    // Exact: the dev mailbox also shows the email's text part, which holds the message among other words.
    await page.getByText('Come jam with us', { exact: true }).waitFor();
    await page.getByRole('link', { name: 'Accept invitation' }).click();
    await page.getByRole('heading', { name: 'Join Browser Band' }).waitFor();
    await page.screenshot({ path: join(tmpdir(), 'bulk-invite-accept-page.png') });
    await page.getByRole('button', { name: 'Accept invitation' }).click();
    await page.waitForURL(redirectUrl);
    assert.equal(page.url(), redirectUrl);
    await page.getByRole('heading', { name: 'Welcome to the target app' }).waitFor();
    assert.ok(landings.includes('GET /welcome?from=invite'), JSON.stringify(landings));
    assert.equal(await membershipOf(invitationId), 'ACTIVE');

    // Opening the link again: a clear page that still leads on, not an error.
    const reopened = await page.goto(await acceptLinkFor('me@example.com'));
    assert.equal(reopened?.status(), 410);
    await page.getByRole('heading', { name: 'You have already accepted this invitation' }).waitFor();
    await page.getByRole('link', { name: 'Continue' }).click();
    await page.waitForURL(redirectUrl);
    await page.close();
  });

  it('lands on the redirect URL after a double click, and from a second tab pressed after the first', async () => {
    const redirectUrl = `${targetBase}/again`;
    const invitationId = await inviteMyself('twice@example.com', redirectUrl);
    const link = await acceptLinkFor('twice@example.com');

    const first = await browser.newPage();
    const second = await browser.newPage();
    await first.goto(link);
    await second.goto(link);
    await first.getByRole('button', { name: 'Accept invitation' }).dblclick();
    await first.waitForURL(redirectUrl);
    await first.getByRole('heading', { name: 'Welcome to the target app' }).waitFor();
    assert.equal(await membershipOf(invitationId), 'ACTIVE');

    // The second tab still shows the button from before the acceptance; pressing it is not an error either.
    await second.getByRole('button', { name: 'Accept invitation' }).click();
    await second.waitForURL(redirectUrl);
    await second.getByRole('heading', { name: 'Welcome to the target app' }).waitFor();
    assert.equal(second.url(), redirectUrl);
    await first.close();
    await second.close();
  });

  it('shows a clear page (410) for an expired link', async () => {
    const invitationId = await inviteMyself('late@example.com', `${base}/health`);
    const link = await acceptLinkFor('late@example.com');
    const connection = app.orm.em.fork().getConnection();
    await connection.execute(`update invitation set expires_at = now() - interval '1 second' where id = ?`, [invitationId]);
    const page = await browser.newPage();
    const response = await page.goto(link);
    assert.equal(response?.status(), 410);
    await page.getByRole('heading', { name: 'This invitation can no longer be used' }).waitFor();
    assert.match(await page.content(), /expired/);
    await page.close();
  });
});
