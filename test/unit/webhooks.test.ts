import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { deliveryBody } from '../../src/webhooks/delivery-worker';
import { postWebhook } from '../../src/webhooks/http-delivery';
import { MAX_ATTEMPTS, RETRY_SCHEDULE_SECONDS, failingWindowMs, nextAttemptDelayMs } from '../../src/services/webhooks/retry-schedule';
import { SecretBox, newWebhookSecret, signatureHeader } from '../../src/services/webhooks/secrets';
import { TargetRefused, refusedAddressReason, resolveTarget } from '../../src/services/webhooks/target-guard';

describe('webhook signatures', () => {
  const id = 'c8a4f0de-6a1f-4b8e-9a58-0a3b1d3f0e11';
  const body = deliveryBody({ type: 'invitation.created', occurred_at: new Date('2026-11-30T10:00:00.000Z'), data: { invitationId: 'x' } });

  it('verifies with standardwebhooks Webhook.verify, and fails on any change', () => {
    const secret = newWebhookSecret();
    const timestamp = new Date();
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)), 'webhook-signature': signatureHeader([secret], id, timestamp, body) };
    assert.deepEqual(new Webhook(secret).verify(body, headers), { type: 'invitation.created', timestamp: '2026-11-30T10:00:00.000Z', data: { invitationId: 'x' } });
    assert.throws(() => new Webhook(secret).verify(body.replace('created', 'revoked'), headers));
    assert.throws(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': `${id}x` }));
    assert.throws(() => new Webhook(newWebhookSecret()).verify(body, headers));
  });

  it('matches the Standard Webhooks formula: base64 HMAC-SHA256 of "<id>.<timestamp>.<body>" with the decoded secret', async () => {
    const { createHmac } = await import('node:crypto');
    const secret = newWebhookSecret();
    const timestamp = new Date(1_700_000_000_000);
    const expected = createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64')).update(`${id}.1700000000.${body}`).digest('base64');
    assert.equal(signatureHeader([secret], id, timestamp, body), `v1,${expected}`);
  });

  it('sends one signature per secret during a rotation, each verifying on its own', () => {
    const [older, newer] = [newWebhookSecret(), newWebhookSecret()];
    const timestamp = new Date();
    const header = signatureHeader([newer, older], id, timestamp, body);
    assert.equal(header.split(' ').length, 2);
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)), 'webhook-signature': header };
    for (const secret of [older, newer]) assert.ok(new Webhook(secret).verify(body, headers));
  });

  it('seals secrets at rest when a key is configured, and opens them again', () => {
    const secret = newWebhookSecret();
    const box = new SecretBox('k'.repeat(40));
    const sealed = box.seal(secret);
    assert.ok(!sealed.includes(secret.slice(6)));
    assert.equal(box.open(sealed), secret);
    assert.throws(() => new SecretBox('j'.repeat(40)).open(sealed));
    assert.equal(new SecretBox(undefined).seal(secret), secret);
  });
});

describe('webhook retry schedule', () => {
  it('is immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, then gives up', () => {
    assert.deepEqual([...RETRY_SCHEDULE_SECONDS], [0, 5, 300, 1800, 7200, 18000, 36000, 36000]);
    assert.equal(MAX_ATTEMPTS, 8);
    const real = [1, 2, 3, 4, 5, 6, 7].map((n) => nextAttemptDelayMs(n, 1000));
    assert.deepEqual(real, [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]);
    assert.equal(nextAttemptDelayMs(8, 1000), null);
    assert.equal(nextAttemptDelayMs(0, 1000), 0);
  });

  it('scales with WEBHOOK_RETRY_BASE_MS, the 5-day disabling window too', () => {
    assert.deepEqual([2, 3, 4].map((n) => nextAttemptDelayMs(n, 0.05)), [15, 90, 360]);
    assert.equal(failingWindowMs(1000), 5 * 24 * 3600 * 1000);
    assert.equal(failingWindowMs(0.05), 21_600);
  });
});

describe('SSRF guard', () => {
  const strict = { httpsOnly: true, allowPrivate: false };
  const lookupTo = (...addresses: string[]) => async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

  it('refuses non-public addresses, IPv4-mapped IPv6 forms included', () => {
    for (const address of [
      '127.0.0.1', '127.1.2.3', '10.0.0.1', '172.16.5.4', '192.168.1.1', '100.64.0.1', '169.254.169.254', '0.0.0.0', '224.0.0.1',
      '255.255.255.255', '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:169.254.169.254',
      '::ffff:10.0.0.1', '::ffff:a9fe:a9fe', '64:ff9b::a9fe:a9fe', '2002:a9fe:a9fe::1', '192.0.2.1', 'not-an-ip',
    ]) {
      assert.ok(refusedAddressReason(address), `${address} must be refused`);
    }
    for (const address of ['8.8.8.8', '93.184.216.34', '2606:4700:4700::1111', '::ffff:8.8.8.8']) {
      assert.equal(refusedAddressReason(address), null, `${address} is public`);
    }
  });

  it('checks every resolved address and returns the one to connect to', async () => {
    const ok = await resolveTarget('https://hooks.example.com/x', strict, lookupTo('93.184.216.34'));
    assert.equal(ok.address, '93.184.216.34');
    assert.equal(ok.url.hostname, 'hooks.example.com');
    await assert.rejects(resolveTarget('https://hooks.example.com/x', strict, lookupTo('93.184.216.34', '169.254.169.254')), TargetRefused);
    await assert.rejects(resolveTarget('https://metadata.example.com/', strict, lookupTo('169.254.169.254')), /non-public address/);
    await assert.rejects(resolveTarget('https://v6.example.com/', strict, lookupTo('::ffff:127.0.0.1')), /loopback/);
    await assert.rejects(resolveTarget('https://nowhere.example/', strict, async () => { throw new Error('ENOTFOUND'); }), /does not resolve/);
  });

  it('takes IP literals as they are, without DNS', async () => {
    const never = async () => assert.fail('no lookup for a literal');
    await assert.rejects(resolveTarget('https://127.0.0.1/', strict, never), /loopback/);
    await assert.rejects(resolveTarget('https://[::ffff:7f00:1]/', strict, never), /loopback/);
    await assert.rejects(resolveTarget('https://[fe80::1]/', strict, never), /linkLocal/);
    assert.equal((await resolveTarget('https://8.8.8.8/', strict, never)).address, '8.8.8.8');
  });

  it('refuses the IPv4-compatible IPv6 form [::127.0.0.1] (::/96), which ipaddr.js calls unicast', async () => {
    for (const address of ['::7f00:1', '::a9fe:a9fe', '::a00:1']) assert.ok(refusedAddressReason(address), `${address} must be refused`);
    await assert.rejects(resolveTarget('https://[::127.0.0.1]/', strict, async () => assert.fail('no lookup for a literal')), TargetRefused);
    await assert.rejects(resolveTarget('https://compat.example.com/', strict, lookupTo('::169.254.169.254')), TargetRefused);
  });

  it('does not tell a tenant what an internal host name resolves to', async () => {
    const refused = await resolveTarget('https://db.internal.example/', strict, lookupTo('10.20.30.40')).catch((error: Error) => error);
    assert.ok(refused instanceof TargetRefused);
    assert.match(refused.message, /non-public address \(a private address\)/);
    assert.doesNotMatch(refused.message, /10\.20\.30\.40/);
  });

  it('wants https in production, and allows private targets only when told to', async () => {
    await assert.rejects(resolveTarget('http://hooks.example.com/', strict, lookupTo('93.184.216.34')), /https/);
    const dev = { httpsOnly: false, allowPrivate: true };
    assert.equal((await resolveTarget('http://127.0.0.1:9/x', dev)).address, '127.0.0.1');
    await assert.rejects(resolveTarget('http://127.0.0.1:9/x', { httpsOnly: false, allowPrivate: false }), /loopback/);
    await assert.rejects(resolveTarget('https://u:p@hooks.example.com/', strict, lookupTo('93.184.216.34')), /credentials/);
  });
});

describe('webhook HTTP attempt', () => {
  it('takes a 2xx status that arrives in time as success, even when the body is slow to follow', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('processing'); // and never ends
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const target = await resolveTarget(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, { httpsOnly: false, allowPrivate: true });
      assert.deepEqual(await postWebhook(target, {}, '{}', 1000), { kind: 'answered', status: 200 });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
