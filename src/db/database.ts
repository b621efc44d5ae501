import type { AppConfig } from '../config';
import type { Logger } from '../logger';
import { type RunningDatabase, startEmbeddedPostgres } from '../dev/embedded-postgres';

export type { RunningDatabase };

/** DATABASE_URL when set; otherwise the embedded PostgreSQL under `.data/pg`, started for this process. */
export async function openDatabase(config: AppConfig, log: Logger): Promise<RunningDatabase> {
  if (config.databaseUrl) return { url: config.databaseUrl, stop: async () => undefined };
  return startEmbeddedPostgres({ dataDir: config.dataDir, name: 'pg', database: 'bulk_invite', log });
}
