import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { databaseFailure } from '../src/db/database';
import { serverUrl, withDatabase } from './helpers/harness';
import { failureLines, processesUsing } from './helpers/leftovers';
import { freePort, spawnEntry } from './helpers/processes';

/**
 * Every way a start can fail: exit code 1, exactly one line that names the variable to fix, no stack trace, and
 * nothing left running (no postmaster or initdb under the data folder, no owner lock).
 */

const SECRET = 'x'.repeat(40);
const PRODUCTION = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://localhost/x',
  JWT_SECRET: SECRET,
  POSTMARK_SERVER_TOKEN: 't',
  PUBLIC_URL: 'https://invites.example.com',
  POSTMARK_FROM: 'invites@example.com',
};

let dataDir: string;
before(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'bi-failures-'));
});
after(() => rmSync(dataDir, { recursive: true, force: true }));

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(server));
  });
}

function withUser(url: string, user: string, password?: string): string {
  const parsed = new URL(url);
  parsed.username = user;
  parsed.password = password ?? '';
  return parsed.toString();
}

/** Starts `entry` with `env`, expects a failed start, returns the one line it printed. */
async function failedStart(env: Record<string, string>, entry = 'src/main.ts'): Promise<string> {
  const service = spawnEntry(entry, { LOG_LEVEL: 'error', DATA_DIR: dataDir, PORT: String(await freePort()), RUN_WORKER: 'false', ...env });
  const code = await service.exited(60_000);
  const { lines, stack } = failureLines(service.output());
  assert.equal(code, 1, service.output());
  assert.equal(stack, false, `no stack trace:\n${service.output()}`);
  assert.equal(lines.length, 1, `one line:\n${service.output()}`);
  assert.match(lines[0], /^error: /);
  assert.deepEqual(processesUsing(dataDir), [], 'nothing left running under the data folder');
  return lines[0];
}

describe('configuration refused at startup', () => {
  it('NODE_ENV other than development, test or production', async () => {
    const line = await failedStart({ NODE_ENV: 'prod' });
    assert.match(line, /^error: NODE_ENV must be one of development, test, production, got "prod"$/);
  });

  for (const [variable, env, pattern] of [
    ['DATABASE_URL', { DATABASE_URL: '' }, /^error: DATABASE_URL is required when NODE_ENV=production$/],
    ['JWT_SECRET or JWT_PUBLIC_KEY', { JWT_SECRET: '' }, /^error: JWT_SECRET or JWT_PUBLIC_KEY is required when NODE_ENV=production$/],
    ['PUBLIC_URL', { PUBLIC_URL: '' }, /^error: PUBLIC_URL is required when NODE_ENV=production/],
    ['PUBLIC_URL (https)', { PUBLIC_URL: 'http://invites.example.com' }, /^error: PUBLIC_URL must be an https:\/\/ URL when NODE_ENV=production/],
    ['POSTMARK_FROM', { POSTMARK_FROM: '' }, /^error: POSTMARK_FROM is required when NODE_ENV=production/],
    ['POSTMARK_SERVER_TOKEN', { POSTMARK_SERVER_TOKEN: '' }, /^error: POSTMARK_SERVER_TOKEN is required when NODE_ENV=production$/],
  ] as const) {
    it(`production without ${variable}`, async () => {
      assert.match(await failedStart({ ...PRODUCTION, ...env }), pattern);
    });
  }

  it('PORT out of range', async () => {
    assert.match(await failedStart({ PORT: '99999' }), /^error: PORT must be an integer from 0 to 65535, got "99999"$/);
  });

  it('JWT_PUBLIC_KEY that is not a key', async () => {
    assert.match(await failedStart({ JWT_PUBLIC_KEY: 'garbage' }), /^error: JWT_PUBLIC_KEY is not a readable PEM public key/);
  });

  it('DATABASE_URL that is not a URL, or not a PostgreSQL one', async () => {
    assert.match(await failedStart({ DATABASE_URL: 'not-a-url' }), /^error: DATABASE_URL is not a URL/);
    const mysql = await failedStart({ DATABASE_URL: 'mysql://root:hunter2@127.0.0.1:3306/app' });
    assert.match(mysql, /^error: DATABASE_URL must be a postgres:\/\/ URL/);
    assert.doesNotMatch(mysql, /hunter2/);
  });
});

describe('database refused at startup (DATABASE_URL)', () => {
  it('a role that does not exist (the password is never printed)', async () => {
    const line = await failedStart({ DATABASE_URL: withUser(serverUrl(), 'no_such_role_bi', 'hunter2') });
    // Under trust authentication (the CI's server) PostgreSQL says the role does not exist; under password
    // authentication (the embedded server of a plain `npm test`) it never tells, and refuses the password instead.
    assert.match(line, /^error: DATABASE_URL: PostgreSQL at [^ ]+ refused (user|the password of user) "no_such_role_bi"/);
    assert.doesNotMatch(line, /hunter2/);
  });

  it('a port where nothing listens', async () => {
    const port = await freePort();
    const line = await failedStart({ DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/postgres` });
    assert.match(line, new RegExp(`^error: DATABASE_URL: nothing accepts connections at 127\\.0\\.0\\.1:${port} \\(connection refused\\)`));
  });

  it('a database that does not exist: said so, not created', async () => {
    const name = `bi_missing_${randomBytes(4).toString('hex')}`;
    const line = await failedStart({ DATABASE_URL: withDatabase(serverUrl(), name) });
    assert.match(line, new RegExp(`^error: DATABASE_URL names database "${name}", which does not exist on [^ ]+; create it`));
    const admin = new Client({ connectionString: serverUrl() });
    await admin.connect();
    try {
      const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [name]);
      assert.equal(rowCount, 0, 'the database was not created');
    } finally {
      await admin.end();
    }
  });

  it('the email worker entry point refuses the same way', async () => {
    const port = await freePort();
    const line = await failedStart({ DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/postgres` }, 'src/worker.ts');
    assert.match(line, /^error: DATABASE_URL: nothing accepts connections/);
  });

  it('an unknown host is named (mapping of the resolver errors; tests make no DNS queries)', () => {
    for (const code of ['ENOTFOUND', 'EAI_AGAIN']) {
      const error = Object.assign(new Error(`getaddrinfo ${code} db.internal`), { code });
      const line = databaseFailure(error, 'postgres://app:hunter2@db.internal:5432/app').message;
      assert.equal(line, 'DATABASE_URL: cannot resolve host "db.internal"; fix DATABASE_URL');
    }
  });
});

describe('port refused at startup (PORT)', () => {
  it('a busy port, before any database is started', async () => {
    const port = await freePort();
    const holder = await listen(port);
    try {
      const line = await failedStart({ DATABASE_URL: serverUrl(), PORT: String(port) });
      assert.equal(line, `error: PORT ${port} is already in use on 127.0.0.1; stop what is listening there or set PORT to a free port`);
    } finally {
      holder.close();
    }
  });

  it('a port taken while the embedded PostgreSQL starts: it is stopped again and its lock released', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bi-busy-port-'));
    const port = await freePort();
    let holder: Server | undefined;
    try {
      const service = spawnEntry('src/main.ts', { LOG_LEVEL: 'error', DATA_DIR: dir, PORT: String(port), RUN_WORKER: 'false' });
      // The port check has passed once the postmaster exists; take the port before the service listens.
      await waitUntil(() => existsSync(join(dir, 'pg', 'postmaster.pid')), 120_000, service.output);
      holder = await listen(port);
      assert.equal(await service.exited(120_000), 1, service.output());
      const { lines, stack } = failureLines(service.output());
      assert.equal(stack, false, service.output());
      assert.deepEqual(lines, [`error: PORT ${port} is already in use on 127.0.0.1; stop what is listening there or set PORT to a free port`]);
      assert.deepEqual(processesUsing(dir), [], 'no postmaster left running');
      assert.equal(existsSync(join(dir, 'pg.owner')), false, 'owner lock released');
    } finally {
      holder?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function waitUntil(condition: () => boolean, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out; output so far:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
