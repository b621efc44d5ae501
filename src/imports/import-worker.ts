import { run, type JobHelpers, type Runner } from 'graphile-worker';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Pool, type PoolClient } from 'pg';
import type { AppConfig } from '../config';
import { isDatabaseUnavailable } from '../db/errors';
import { ImportUsersPacer, TenantBudgets } from '../http/rate-limiter';
import type { Logger } from '../logger';
import { graphileEmailQueue } from '../mail/email-queue';
import { graphileLogger } from '../mail/graphile-logger';
import { InviteImportRunner, purgeExpiredImports } from '../services/imports/import-runner';
import { RUN_INVITE_IMPORTS, addRunJobs } from './import-queue';

const RESUME_INVITE_IMPORTS = 'resume_invite_imports';
const PURGE_INVITE_IMPORTS = 'purge_invite_imports';

interface RunPayload {
  tenantId: string;
  slot: number;
}

/**
 * Holds one of the tenant's slots for as long as it runs imports. The locks are session advisory locks on the
 * connection graphile lends the job: a worker killed mid-import loses its connection and with it the locks, so
 * the next run (the sweep below, or a restart) takes over at once, instead of when graphile's job lock expires.
 */
async function runTenantImports(
  runner: InviteImportRunner,
  orm: MikroORM,
  config: AppConfig,
  log: Logger,
  payload: RunPayload,
  helpers: Pick<JobHelpers, 'withPgClient'>,
  signal: AbortSignal,
) {
  const { tenantId, slot } = payload;
  await helpers.withPgClient(async (db) => {
    const slotKey = `invite-imports:${tenantId}`;
    if (!(await tryLock(db, slotKey, slot))) return;
    try {
      for (;;) {
        if (signal.aborted) return;
        const importId = await lockNextImport(db, tenantId);
        if (!importId) break;
        try {
          const status = await runner.run(orm.em.fork(), tenantId, importId, signal);
          log.info({ importId, status }, 'import run ended');
        } catch (error) {
          // The database coming back resumes the import (graphile retries the job); anything else would fail the
          // same way again: the import is FAILED with the reason, and its processed rows stay.
          if (signal.aborted || isDatabaseUnavailable(error)) throw error;
          log.error({ err: error, importId }, 'import failed');
          await db.query(`update invite_import set status = 'FAILED', error = $2, finished_at = now() where id = $1 and status in ('QUEUED', 'RUNNING')`, [
            importId,
            'Processing stopped on an unexpected error; the rows processed so far keep their results',
          ]);
        } finally {
          await unlock(db, `invite-import:${importId}`, 0);
        }
      }
    } finally {
      await unlock(db, slotKey, slot);
    }
    // An upload committed while this run was finishing found the slot taken: look once more, now that it is free.
    if (signal.aborted) return;
    await db.query(addRunJobs(`select tenant_id::text from invite_import where tenant_id = $1 and status = 'QUEUED' limit 1`, '$2'), [
      tenantId,
      config.imports.concurrencyPerTenant,
    ]);
  });
}

/** The tenant's oldest unfinished import that no other slot is running, locked for this one. */
async function lockNextImport(db: PoolClient, tenantId: string): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>(`select id from invite_import where tenant_id = $1 and status in ('QUEUED', 'RUNNING') order by created_at, id`, [tenantId]);
  for (const { id } of rows) if (await tryLock(db, `invite-import:${id}`, 0)) return id;
  return null;
}

async function tryLock(db: PoolClient, key: string, n: number): Promise<boolean> {
  const { rows } = await db.query<{ locked: boolean }>('select pg_try_advisory_lock(hashtext($1), $2) as locked', [key, n]);
  return rows[0].locked;
}

async function unlock(db: PoolClient, key: string, n: number): Promise<void> {
  await db.query('select pg_advisory_unlock(hashtext($1), $2)', [key, n]);
}

/** Queues a run for every tenant with unfinished imports: after a restart, and every minute in case a worker died. */
async function resumeImports(db: PoolClient, config: AppConfig): Promise<void> {
  await db.query(addRunJobs(`select distinct tenant_id::text from invite_import where status in ('QUEUED', 'RUNNING')`, '$1'), [config.imports.concurrencyPerTenant]);
}

export interface ImportWorker {
  runner: Runner;
  stop(): Promise<void>;
}

export async function startImportWorker(options: { config: AppConfig; orm: MikroORM; databaseUrl: string; log: Logger; concurrency?: number }): Promise<ImportWorker> {
  const { config, orm, databaseUrl } = options;
  const log = options.log.child({ component: 'import-worker' });
  const runner = new InviteImportRunner(config, graphileEmailQueue, new ImportUsersPacer(new TenantBudgets(orm), config.rateLimit), log);
  // Enough jobs at once for every slot of a few tenants; each job holds one connection of this pool while it runs.
  const concurrency = options.concurrency ?? Math.max(2, config.imports.concurrencyPerTenant);
  const pgPool = new Pool({ connectionString: databaseUrl, max: concurrency + 2 });
  const connectionLost = (error: Error) => log.warn({ err: error }, 'import worker: database connection lost');
  pgPool.on('error', connectionLost);
  pgPool.on('connect', (client) => client.on('error', connectionLost));
  const stopping = new AbortController();
  const graphile = await run({
    pgPool,
    concurrency,
    noHandleSignals: true,
    pollInterval: config.email.pollIntervalMs,
    logger: graphileLogger(log),
    taskList: {
      [RUN_INVITE_IMPORTS]: async (payload, helpers) => {
        try {
          await runTenantImports(runner, orm, config, log, payload as RunPayload, helpers, stopping.signal);
        } catch (error) {
          if (stopping.signal.aborted) return; // stopped between chunks; resumed by the next start
          // Retried by graphile with backoff; the import resumes from its first row without an outcome.
          if (!isDatabaseUnavailable(error)) log.error({ err: error }, 'import run failed; will retry');
          throw error;
        }
      },
      [RESUME_INVITE_IMPORTS]: async (_payload, helpers) => helpers.withPgClient((db) => resumeImports(db, config)),
      [PURGE_INVITE_IMPORTS]: async () => {
        const purged = await purgeExpiredImports(orm.em.fork(), config.imports.retentionDays);
        if (purged) log.info({ purged }, 'expired imports deleted');
      },
    },
    crontab: [`* * * * * ${RESUME_INVITE_IMPORTS} ?max=1`, `41 * * * * ${PURGE_INVITE_IMPORTS} ?max=1`].join('\n'),
  });
  // Pick up what was left unfinished while no worker ran.
  await graphile.addJob(RESUME_INVITE_IMPORTS, {});
  log.info('import worker started');
  let stopped = false;
  return {
    runner: graphile,
    async stop() {
      if (stopped) return;
      stopped = true;
      stopping.abort();
      await graphile.stop();
      await pgPool.end();
    },
  };
}
