import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { processesUsing } from './helpers/leftovers';
import { type Spawned, freePort, spawnEntry } from './helpers/processes';

/**
 * Ctrl-C in a terminal signals the whole process group, at any moment of the start: while initdb creates the cluster,
 * while the postmaster starts, while migrations run. Each time nothing may be left running under the data folder,
 * the owner lock is released, and the next start works.
 */
describe('Ctrl-C during startup', () => {
  let dataDir: string;
  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'bi-interrupt-'));
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  const start = async () =>
    spawnEntry('src/main.ts', { DATA_DIR: dataDir, PORT: String(await freePort()), RUN_WORKER: 'false', LOG_LEVEL: 'info' }, { ownProcessGroup: true });

  async function until(condition: () => boolean, service: Spawned): Promise<void> {
    const deadline = Date.now() + 120_000;
    while (!condition()) {
      if (service.child.exitCode !== null) throw new Error(`the service exited early:\n${service.output()}`);
      if (Date.now() > deadline) throw new Error(`timed out; output so far:\n${service.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  async function interrupt(service: Spawned): Promise<void> {
    process.kill(-service.child.pid!, 'SIGINT');
    assert.equal(await service.exited(60_000), 130, service.output());
    assert.match(service.output(), /SIGINT during startup: stopping what was started/);
    assert.doesNotMatch(service.output(), /^\s+at /m, 'no stack trace');
    assert.deepEqual(processesUsing(dataDir), [], 'nothing left running under the data folder');
    assert.equal(existsSync(join(dataDir, 'pg.owner')), false, 'owner lock released');
  }

  it('while initdb creates the cluster', async () => {
    const service = await start();
    await until(() => processesUsing(dataDir).some((p) => p.command.includes('initdb')), service);
    await interrupt(service);
    // On a loaded machine initdb may finish before the signal lands; otherwise it removes what it wrote. Either way
    // no half-made cluster is left to be taken for a real one (the next test then starts on this folder).
    const cluster = join(dataDir, 'pg');
    assert.ok(!existsSync(join(cluster, 'PG_VERSION')) || existsSync(join(cluster, 'global', 'pg_control')), 'no half-made cluster');
  });

  it('while the postmaster starts', async () => {
    const service = await start();
    await until(() => existsSync(join(dataDir, 'pg', 'postmaster.pid')), service);
    await interrupt(service);
  });

  it('once the database accepts connections (connecting, loading the app, migrating)', async () => {
    const service = await start();
    // postmaster.pid's status line reads "ready" once the server accepts connections.
    await until(() => postmasterStatus().includes('ready'), service);
    await interrupt(service);
  });

  it('and then a start completes on the same data folder', async () => {
    const service = await start();
    await service.waitFor(/Bulk invite service ready/, 120_000);
    const banner = service.output();
    assert.match(banner, /demo tenant created/);
    // The banner comes after every startup log line.
    assert.doesNotMatch(banner.slice(banner.indexOf('Bulk invite service ready')), /\bINFO\b|\bWARN\b/);
    service.child.kill('SIGTERM');
    assert.equal(await service.exited(), 0);
    assert.deepEqual(processesUsing(dataDir), []);
  });

  function postmasterStatus(): string {
    try {
      return readFileSync(join(dataDir, 'pg', 'postmaster.pid'), 'utf8');
    } catch {
      return '';
    }
  }
});
