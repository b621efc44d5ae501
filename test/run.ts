/**
 * `npm test`: runs every test file against DATABASE_URL when set, otherwise against an embedded
 * PostgreSQL under .data/test-pg. Each test file creates (and drops) a database of its own.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfig } from '../src/config';
import { startEmbeddedPostgres } from '../src/dev/embedded-postgres';
import { createLogger } from '../src/logger';
import { findChromium } from './helpers/chromium';

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return entry.name === 'helpers' ? [] : testFiles(path);
      return entry.name.endsWith('.test.ts') ? [path] : [];
    })
    .sort();
}

async function main() {
  const config = loadConfig({ ...process.env, NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(32) });
  const log = createLogger('warn');
  const embedded = config.databaseUrl
    ? null
    : await startEmbeddedPostgres({ dataDir: config.dataDir, name: 'test-pg', database: 'postgres', log });
  const databaseUrl = config.databaseUrl ?? embedded!.url;

  const filter = process.argv.slice(2);
  let files = testFiles(resolve(__dirname));
  if (filter.length) files = files.filter((file) => filter.some((f) => file.includes(f)));
  if (!findChromium()) {
    if (process.env.CI === 'true') {
      console.error('Chromium is required in CI for the browser test (apt-get install chromium)');
      process.exit(1);
    }
    files = files.filter((file) => !file.endsWith('browser.test.ts'));
    console.warn('NOTE: no Chromium found (/usr/bin/chromium); the browser test is not run. Install it with: apt-get install chromium');
  }
  if (!files.length) {
    console.error('no test files matched');
    process.exit(1);
  }

  const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
    stdio: 'inherit',
    env: { ...process.env, DATABASE_URL: databaseUrl, NODE_ENV: 'test' },
  });
  const code: number = await new Promise((done) => child.on('exit', (c, signal) => done(c ?? (signal ? 1 : 0))));
  await embedded?.stop();
  process.exit(code);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

