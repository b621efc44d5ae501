import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { createLogger } from '../src/logger';
import { type EmailWorker, startEmailWorker } from '../src/mail/email-worker';
import { FakePostmark } from './helpers/fake-postmark';
import { BULK_INVITE, type SeededTenant, type TestApp, TEST_JWT_SECRET, createTestApp } from './helpers/harness';
import { spawnEntry } from './helpers/processes';
import { waitFor as waitUntil } from './helpers/wait';

function postmarkEnv(apiUrl: string) {
  return {
    POSTMARK_SERVER_TOKEN: 'test-token',
    POSTMARK_API_URL: apiUrl,
    POSTMARK_FROM: 'invites@acme.test',
    POSTMARK_MESSAGE_STREAM: 'invitations',
  };
}

function emails(prefix: string, n: number) {
  return Array.from({ length: n }, (_, i) => ({ email: `${prefix}-${i}@example.com`, firstName: 'P', lastName: String(i) }));
}

describe('invitation emails through Postmark (one in-process worker)', () => {
  const postmark = new FakePostmark();
  let t: TestApp;
  let a: SeededTenant;
  let worker: EmailWorker;
  const statusOf = async (prefix: string) =>
    t.sql<{ email_status: string; n: number }>(
      `select email_status, count(*)::int as n from invitation where email like $1 group by 1 order by 1`,
      [`${prefix}-%`],
    );
  const allSent = (prefix: string, n: number) => async () => {
    const rows = await statusOf(prefix);
    return rows.length === 1 && rows[0].email_status === 'SENT' && rows[0].n === n;
  };

  before(async () => {
    const apiUrl = await postmark.start();
    t = await createTestApp(postmarkEnv(apiUrl));
    a = await t.seedTenant('Acme Music');
    worker = await startEmailWorker({ config: t.config, databaseUrl: t.databaseUrl, log: createLogger('silent') });
  });
  after(async () => {
    await worker.stop();
    await t.close();
    await postmark.stop();
  });

  it('sends exactly one email to every invited person with sendEmail, and none to anyone else', async () => {
    const invited = await t.gql(
      BULK_INVITE,
      {
        input: {
          users: [...emails('once', 3), { email: 'broken' }, { email: 'once-0@example.com' }],
          message: 'Welcome <script>alert(1)</script> & enjoy',
          redirectUrl: 'https://app.example.com/welcome',
        },
      },
      a.token,
    );
    assert.equal(invited.data.bulkInviteUsers.successful, 3);
    await t.gql(BULK_INVITE, { input: { users: emails('silent', 2), sendEmail: false } }, a.token);
    // The worker claims in queue order: once an email queued after the silent request is sent, anything that request
    // had wrongly queued would have been sent too.
    await t.gql(BULK_INVITE, { input: { users: emails('after-silent', 1) } }, a.token);
    await waitUntil(allSent('once', 3), 15_000, 'three SENT');
    await waitUntil(allSent('after-silent', 1), 15_000, 'the later email SENT');

    const to = postmark.recipients().filter((r) => r.startsWith('once-') || r.startsWith('silent-') || r === 'broken');
    assert.deepEqual(to.sort(), ['once-0@example.com', 'once-1@example.com', 'once-2@example.com']);
    const message = postmark.accepted.find((m) => m.To === 'once-1@example.com')!;
    assert.equal(message.From, 'invites@acme.test');
    assert.equal(message.MessageStream, 'invitations');
    assert.match(message.Subject, /Acme Music/);
    assert.match(message.HtmlBody, /Welcome &lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; enjoy/);
    assert.doesNotMatch(message.HtmlBody, /<script>/);
    assert.match(message.TextBody, /Welcome <script>alert\(1\)<\/script> & enjoy/);
    const links = message.HtmlBody.match(/http:\/\/localhost:4000\/invitations\/accept\?token=[\w-]+/g) ?? [];
    assert.equal(new Set(links).size, 1, 'one accept link');
    assert.ok(message.TextBody.includes(links[0]!));
    const [row] = await t.sql(`select provider_message_id, sent_at from invitation where email = 'once-1@example.com'`);
    assert.equal(row.provider_message_id, message.MessageID);
    assert.ok(row.sent_at);
    const silent = await statusOf('silent');
    assert.deepEqual(silent, [{ email_status: 'NOT_REQUESTED', n: 2 }]);
  });

  it('stores the invitation token only as a hash: the delivered link hashes to token_hash, and no column holds the token', async () => {
    await t.gql(BULK_INVITE, { input: { users: emails('hashed', 1) } }, a.token);
    await waitUntil(allSent('hashed', 1), 15_000, 'SENT');
    const message = postmark.accepted.find((m) => m.To === 'hashed-0@example.com')!;
    const token = new URL(/http:\/\/localhost:4000\/invitations\/accept\?token=[\w-]+/.exec(message.TextBody)![0]).searchParams.get('token')!;
    assert.ok(token.length >= 32, 'a real token was delivered');
    const [row] = await t.sql(`select token_hash from invitation where email = 'hashed-0@example.com'`);
    assert.equal(row.token_hash, createHash('sha256').update(token).digest('hex'));

    // Every text-like column of every table the service owns (its own schema and the job queue's).
    const columns = await t.sql<{ table_schema: string; table_name: string; column_name: string }>(
      `select c.table_schema, c.table_name, c.column_name
         from information_schema.columns c
         join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
        where c.table_schema not in ('pg_catalog', 'information_schema') and t.table_type = 'BASE TABLE'
          and (c.data_type in ('text', 'character varying', 'character', 'json', 'jsonb')
               or (c.data_type = 'ARRAY' and c.udt_name in ('_text', '_varchar')))`,
    );
    assert.ok(columns.some((c) => c.table_schema === 'public' && c.table_name === 'invitation' && c.column_name === 'token_hash'), 'the scan sees invitation');
    const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
    const columnsHolding = async (value: string) => {
      const holding: string[] = [];
      for (const c of columns) {
        const [hit] = await t.sql(
          `select count(*)::int as n from ${ident(c.table_schema)}.${ident(c.table_name)} where strpos(${ident(c.column_name)}::text, $1) > 0`,
          [value],
        );
        if (hit.n) holding.push(`${c.table_schema}.${c.table_name}.${c.column_name}`);
      }
      return holding;
    };
    assert.deepEqual(await columnsHolding(row.token_hash), ['public.invitation.token_hash'], 'the scan finds what is stored');
    assert.deepEqual(await columnsHolding(token), [], 'the plaintext token is stored nowhere');
  });

  it('sends 1,200 queued invitations in 3 batch calls', async () => {
    const callsBefore = postmark.batchCalls;
    await t.gql(BULK_INVITE, { input: { users: emails('twelve', 1200) } }, a.token);
    await waitUntil(allSent('twelve', 1200), 30_000, '1,200 SENT');
    assert.equal(postmark.batchCalls - callsBefore, 3);
    assert.equal(postmark.recipients().filter((r) => r.startsWith('twelve-')).length, 1200);
  });

  it('marks an inactive recipient (406) FAILED with the reason and never retries it', async () => {
    postmark.inactive.add('inactive-1@example.com');
    const callsBefore = postmark.batchCalls;
    await t.gql(BULK_INVITE, { input: { users: emails('inactive', 3) } }, a.token);
    await waitUntil(async () => (await statusOf('inactive')).some((r) => r.email_status === 'FAILED'), 15_000, 'FAILED');
    // A retry would be due within EMAIL_RETRY_MAX_MS; an email queued later and sent shows the worker has claimed
    // everything due before it, so a retry of the 406 would have happened by then.
    await t.gql(BULK_INVITE, { input: { users: emails('after-inactive', 1) } }, a.token);
    await waitUntil(allSent('after-inactive', 1), 15_000, 'the later email SENT');
    assert.deepEqual(await statusOf('inactive'), [
      { email_status: 'FAILED', n: 1 },
      { email_status: 'SENT', n: 2 },
    ]);
    const [failed] = await t.sql(`select email_error, email_attempts from invitation where email = 'inactive-1@example.com'`);
    assert.match(failed.email_error, /406/);
    assert.equal(failed.email_attempts, 1, 'never retried');
    assert.equal(postmark.batchCalls - callsBefore, 2, 'one call for the three, one for the later email');
    const listed = await t.gql('{ invitations(status: PENDING, first: 500) { nodes { email emailStatus emailError } } }', {}, a.token);
    const node = listed.data.invitations.nodes.find((n: { email: string }) => n.email === 'inactive-1@example.com');
    assert.equal(node.emailStatus, 'FAILED');
  });

  it('retries with backoff after two 500s and then sends one message', async () => {
    postmark.failNext = [500, 500];
    const callsBefore = postmark.batchCalls;
    await t.gql(BULK_INVITE, { input: { users: emails('flaky', 1) } }, a.token);
    await waitUntil(allSent('flaky', 1), 20_000, 'SENT after retries');
    assert.equal(postmark.batchCalls - callsBefore, 3);
    assert.equal(postmark.recipients().filter((r) => r === 'flaky-0@example.com').length, 1);
    const [row] = await t.sql(`select email_attempts from invitation where email = 'flaky-0@example.com'`);
    assert.equal(row.email_attempts, 3);
  });

  it('retries a 429 and a provider outage until it is back, delivering each email once', async () => {
    postmark.failNext = [429, 503, 503];
    await t.gql(BULK_INVITE, { input: { users: emails('outage', 5) } }, a.token);
    await waitUntil(allSent('outage', 5), 20_000, 'SENT after the outage');
    const to = postmark.recipients().filter((r) => r.startsWith('outage-'));
    assert.equal(to.length, 5);
    assert.equal(new Set(to).size, 5);
  });
});

describe('email workers under failure', () => {
  const postmark = new FakePostmark();
  let t: TestApp;
  let a: SeededTenant;
  let stopExtra: Array<() => Promise<void>> = [];

  before(async () => {
    const apiUrl = await postmark.start();
    t = await createTestApp({ ...postmarkEnv(apiUrl), EMAIL_CLAIM_LEASE_MS: '1500' });
    a = await t.seedTenant('Failure Co');
  });
  afterEach(async () => {
    for (const stop of stopExtra) await stop();
    stopExtra = [];
    postmark.delayMs = 0;
    postmark.onBatch = undefined;
  });
  after(async () => {
    await t.close();
    await postmark.stop();
  });

  const sentCount = async (prefix: string) =>
    (await t.sql<{ n: number }>(`select count(*)::int as n from invitation where email like $1 and email_status = 'SENT'`, [`${prefix}-%`]))[0].n;

  it('loses nothing and doubles nothing when a worker process is killed mid-batch and another takes over', async () => {
    await t.gql(BULK_INVITE, { input: { users: emails('killed', 700) } }, a.token);
    const env = {
      DATABASE_URL: t.databaseUrl,
      JWT_SECRET: TEST_JWT_SECRET,
      ...postmarkEnv(t.config.postmark.apiUrl!),
      PUBLIC_URL: t.config.publicUrl,
      EMAIL_CLAIM_LEASE_MS: '1500',
      EMAIL_POLL_INTERVAL_MS: '100',
      LOG_LEVEL: 'warn',
    };
    const first = spawnEntry('src/worker.ts', env);
    let killedAfter = 0;
    postmark.delayMs = 10_000;
    const killed = new Promise<void>((resolve) => {
      postmark.onBatch = (messages) => {
        // The provider has accepted the first batch; its worker dies before hearing back.
        killedAfter = messages.length;
        first.child.kill('SIGKILL');
        postmark.onBatch = undefined;
        resolve();
      };
    });
    await killed;
    await first.exited();
    postmark.delayMs = 0;
    assert.equal(killedAfter, 500);

    const second = spawnEntry('src/worker.ts', env);
    stopExtra.push(async () => {
      second.child.kill('SIGTERM');
      await second.exited();
    });
    await waitUntil(async () => (await sentCount('killed')) === 700, 60_000, 'all 700 SENT');
    const to = postmark.recipients().filter((r) => r.startsWith('killed-'));
    assert.equal(to.length, 700, 'nothing lost');
    assert.equal(new Set(to).size, 700, 'nothing doubled');
  });

  it('never sends an invitation twice with two workers on one database', async () => {
    const log = createLogger('silent');
    const workers = await Promise.all([1, 2].map(() => startEmailWorker({ config: t.config, databaseUrl: t.databaseUrl, log, concurrency: 2 })));
    stopExtra.push(async () => {
      await Promise.all(workers.map((w) => w.stop()));
    });
    postmark.delayMs = 150;
    for (let i = 0; i < 4; i++) {
      await t.gql(BULK_INVITE, { input: { users: emails(`pair${i}`, 400) } }, a.token);
    }
    await waitUntil(
      async () => (await Promise.all([0, 1, 2, 3].map((i) => sentCount(`pair${i}`)))).every((n) => n === 400),
      60_000,
      '1,600 SENT',
    );
    const to = postmark.recipients().filter((r) => r.startsWith('pair'));
    assert.equal(to.length, 1600);
    assert.equal(new Set(to).size, 1600);
  });
});
