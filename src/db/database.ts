import { Client } from 'pg';
import type { AppConfig } from '../config';
import type { Logger } from '../logger';
import { type RunningDatabase, startEmbeddedPostgres } from '../dev/embedded-postgres';
import { StartupError } from '../startup';

export type { RunningDatabase };

const CONNECT_TIMEOUT_MS = 10_000;

/**
 * DATABASE_URL when set (checked before anything uses it); otherwise the embedded PostgreSQL under `.data/pg`,
 * started for this process. Either way a database that cannot be used is a StartupError naming the variable.
 */
export async function openDatabase(config: AppConfig, log: Logger, signal?: AbortSignal): Promise<RunningDatabase> {
  if (config.databaseUrl) {
    await checkDatabase(config.databaseUrl);
    return { url: config.databaseUrl, stop: async () => undefined };
  }
  return startEmbeddedPostgres({ dataDir: config.dataDir, name: 'pg', database: 'bulk_invite', log, signal });
}

/**
 * Connects once, so that a wrong DATABASE_URL is one clear line at startup instead of a stack trace from the ORM.
 * A database that does not exist is reported, never created: MikroORM's migrator would otherwise create it silently
 * (a typo in the name would give an empty second database).
 */
export async function checkDatabase(url: string): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  client.on('error', () => undefined); // a failure is reported by connect/query below
  try {
    await client.connect();
    await client.query('select 1');
  } catch (error) {
    throw databaseFailure(error, url);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** One line for an unusable DATABASE_URL: what went wrong, where, and that DATABASE_URL is the thing to fix. Never the password. */
export function databaseFailure(error: unknown, url: string): StartupError {
  const parsed = new URL(url);
  const host = decodeURIComponent(parsed.hostname) || 'localhost';
  const where = `${host}:${parsed.port || '5432'}`;
  const user = decodeURIComponent(parsed.username) || process.env.PGUSER || 'the default user';
  const database = decodeURIComponent(parsed.pathname.slice(1)) || user;
  const { code, message } = error as { code?: string; message?: string };
  const text = String(message ?? error).split('\n')[0];
  const fix = 'fix DATABASE_URL';
  switch (code) {
    case '3D000':
      return new StartupError(`DATABASE_URL names database "${database}", which does not exist on ${where}; create it (createdb "${database}") or ${fix}`);
    case '28P01':
      return new StartupError(`DATABASE_URL: PostgreSQL at ${where} refused the password of user "${user}"; ${fix}`);
    case '28000':
      return new StartupError(`DATABASE_URL: PostgreSQL at ${where} refused user "${user}" (${text}); ${fix}`);
    case '57P03':
      return new StartupError(`DATABASE_URL: PostgreSQL at ${where} is starting up or shutting down; try again, or ${fix}`);
    case '53300':
      return new StartupError(`DATABASE_URL: PostgreSQL at ${where} has no free connections (${text}); try again, or ${fix}`);
    case 'ECONNREFUSED':
      return new StartupError(`DATABASE_URL: nothing accepts connections at ${where} (connection refused); start PostgreSQL there or ${fix}`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return new StartupError(`DATABASE_URL: cannot resolve host "${host}"; ${fix}`);
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new StartupError(`DATABASE_URL: cannot reach ${where} (${code}); ${fix}`);
  }
  if (/timeout/i.test(text)) return new StartupError(`DATABASE_URL: no answer from ${where} within ${CONNECT_TIMEOUT_MS / 1000} s; ${fix}`);
  return new StartupError(`DATABASE_URL: cannot use PostgreSQL at ${where}: ${text}; ${fix}`);
}
