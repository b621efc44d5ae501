import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, type BrowserContext, chromium } from 'playwright-core';
import { findChromium } from './helpers/chromium';
import { type SeededTenant, type TestApp, createTestApp } from './helpers/harness';
import { freePort } from './helpers/processes';

/**
 * The local GraphQL explorer, in a real browser with every request that would leave the machine blocked: it must
 * load, introspect and run a query with nothing but this server.
 */
describe('in a browser, offline: the API explorers work with nothing but this server', () => {
  let t: TestApp;
  let a: SeededTenant;
  let base: string;
  let browser: Browser;
  let context: BrowserContext;
  const blocked: string[] = [];

  before(async () => {
    t = await createTestApp();
    a = await t.seedTenant('Offline Orchestra');
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    await t.app.server.listen({ port, host: '127.0.0.1' });
    browser = await chromium.launch({
      executablePath: findChromium(),
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    context = await browser.newContext();
    // Offline: anything not on loopback is refused (and remembered).
    await context.route('**/*', (route) => {
      const { hostname } = new URL(route.request().url());
      if (hostname === '127.0.0.1' || hostname === 'localhost') return route.continue();
      blocked.push(route.request().url());
      return route.abort('internetdisconnected');
    });
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('/graphql links to GraphiQL served by this server, which runs { roles { id name } } with an Authorization header', async () => {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(String(error)));

    await page.goto(`${base}/graphql`);
    const link = page.getByRole('link', { name: 'Open GraphiQL, served by this server' });
    await link.waitFor();
    assert.ok(await link.isVisible(), 'the link to the local explorer is visible on the offline landing page');
    await page.screenshot({ path: join(tmpdir(), 'bulk-invite-graphql-landing.png') });
    assert.ok(blocked.length > 0, 'the landing page did try to reach the CDN (so the network was really blocked)');

    blocked.length = 0;
    problems.length = 0;
    await link.click();
    await page.waitForURL(`${base}/graphiql`);
    // GraphiQL has rendered, introspected the schema and shows its default query.
    const run = page.locator('button.graphiql-execute-button');
    await run.waitFor();
    const queryEditor = page.locator('.graphiql-query-editor .CodeMirror');
    assert.match(await queryEditor.evaluate((el: any) => el.CodeMirror.getValue()), /roles\s*\{\s*id\s*name\s*\}/);

    // The Headers tab is open by default; put the token there as a developer would paste it.
    const headersEditor = page.locator('.graphiql-editor-tool .CodeMirror').filter({ visible: true });
    await headersEditor.waitFor();
    await headersEditor.evaluate((el: any, token: string) => el.CodeMirror.setValue(JSON.stringify({ Authorization: `Bearer ${token}` })), a.token);
    await run.click();

    const response = page.locator('.graphiql-response .CodeMirror');
    await page.waitForFunction(() => /"roles"/.test((globalThis as any).document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue() ?? ''));
    const result = JSON.parse(await response.evaluate((el: any) => el.CodeMirror.getValue()));
    assert.deepEqual(result.data.roles.map((r: { name: string }) => r.name).sort(), ['Admin', 'Member']);
    assert.deepEqual(result.data.roles.map((r: { id: string }) => r.id).sort(), [a.roles.admin, a.roles.member].sort());

    await page.screenshot({ path: join(tmpdir(), 'bulk-invite-graphiql.png') });
    assert.deepEqual(blocked, [], 'GraphiQL needed nothing beyond this server');
    assert.deepEqual(problems, [], 'no console errors (such as CSP violations)');
    await page.close();
  });
  it("Swagger UI at /docs: the aptlydone example, sent with Try it out after Authorize, answers 200 with the user invited", async () => {
    const page = await context.newPage();
    await page.goto(`${base}/docs`);
    await page.locator('button.authorize').first().click();
    await page.locator('.modal-ux input').first().fill(a.token);
    await page.locator('.modal-ux button.authorize').click();
    await page.locator('.modal-ux button.btn-done').click();

    // Swagger UI builds its element ids from the tag and the operationId.
    const operation = page.locator('#operations-aptlydone-aptlydoneBulkInvite');
    await operation.locator('.opblock-summary').first().click();
    await operation.locator('button.try-out__btn').click();
    const body = operation.locator('textarea.body-param__text');
    const sent = JSON.parse(await body.inputValue());
    assert.equal('tenantId' in sent, false, 'the example leaves tenantId to the token');
    await operation.locator('button.execute').click();
    const status = operation.locator('.live-responses-table .response .response-col_status').first();
    await status.waitFor();
    await page.screenshot({ path: join(tmpdir(), 'bulk-invite-swagger-try-it-out.png'), fullPage: true });
    assert.equal((await status.innerText()).trim(), '200', await operation.locator('.live-responses-table').innerText());
    const answer = JSON.parse(await operation.locator('.live-responses-table .response-col_description pre.microlight').first().innerText());
    assert.equal(answer.data.successful, sent.users.length, JSON.stringify(answer));
    await page.screenshot({ path: join(tmpdir(), 'bulk-invite-swagger-try-it-out.png'), fullPage: true });
    await page.close();
  });
});
