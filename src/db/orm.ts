import { MikroORM } from '@mikro-orm/postgresql';
import { runMigrations as runWorkerMigrations } from 'graphile-worker';
import { createOrmOptions } from '../../mikro-orm.config';
import type { Logger } from '../logger';
import { graphileLogger } from '../mail/graphile-logger';

export async function createOrm(databaseUrl: string): Promise<MikroORM> {
  return MikroORM.init(createOrmOptions(databaseUrl));
}

/** Applies the committed MikroORM migrations and graphile-worker's own schema. Returns what was applied. */
export async function migrate(orm: MikroORM, databaseUrl: string, log: Logger): Promise<string[]> {
  const applied = await orm.getMigrator().up();
  await runWorkerMigrations({ connectionString: databaseUrl, logger: graphileLogger(log) });
  if (applied.length) log.info({ migrations: applied.map((m) => m.name) }, 'applied migrations');
  return applied.map((m) => m.name);
}
