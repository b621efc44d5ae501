/**
 * The server (src/main.ts) with a profiler that bench/profile.ts switches on and off: the first SIGUSR2 starts a
 * V8 CPU profile and a log of every SQL statement sent through `pg`, the second writes both to PROFILE_OUT and prints
 * "profile written". Only the requests between the two signals are measured, not start-up or warm-up.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import pg from 'pg';

interface Statement {
  sql: string;
  ms: number;
  rows: number | null;
  startMs: number;
}

const out = process.env.PROFILE_OUT!;
const session = new Session();
session.connect();
let recording: Statement[] | null = null;

// Time each statement from the call to its result, whichever calling style the caller uses (knex: callback).
const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const log = recording;
  if (!log) return query.apply(this, args);
  const first = args[0] as string | { text?: string };
  const sql = typeof first === 'string' ? first : (first?.text ?? '?');
  const started = performance.now();
  const record = (result?: { rowCount?: number | null }) =>
    log.push({ sql, ms: performance.now() - started, rows: result?.rowCount ?? null, startMs: started });
  const last = args.length - 1;
  if (typeof args[last] === 'function') {
    const callback = args[last] as (error: unknown, result: unknown) => void;
    args[last] = (error: unknown, result: { rowCount?: number | null }) => {
      record(result);
      callback(error, result);
    };
    return query.apply(this, args);
  }
  const returned = query.apply(this, args);
  if (returned && typeof (returned as Promise<unknown>).then === 'function') {
    (returned as Promise<{ rowCount?: number | null }>).then(record, () => record());
  }
  return returned;
} as typeof pg.Client.prototype.query;

process.on('SIGUSR2', () => {
  void (async () => {
    if (!recording) {
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 250 });
      await session.post('Profiler.start');
      recording = [];
      process.stdout.write('profiling started\n');
    } else {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(`${out}.cpuprofile`, JSON.stringify(profile));
      writeFileSync(`${out}.sql.json`, JSON.stringify(recording));
      recording = null;
      process.stdout.write('profile written\n');
    }
  })();
});

// Loaded after the patch above, so that no statement of the server's escapes it.
require('../src/main');
