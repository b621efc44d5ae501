import 'reflect-metadata';
import { defineConfig, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { entities, tenantScopedEntities } from './src/entities';
import { QueryCountingLogger } from './src/db/query-stats';
import { databaseUrlFromEnv } from './src/config';

/**
 * The one MikroORM configuration, used by the app, the MikroORM CLI and the tests.
 * `clientUrl` is the only thing that differs between them.
 */
export function createOrmOptions(clientUrl: string, overrides: Partial<Options> = {}): Options {
  return defineConfig({
    clientUrl,
    entities,
    extensions: [Migrator],
    // Bulk inserts must stay one multi-row statement per table whatever the batch size;
    // MikroORM inlines the values, so no bind-parameter ceiling applies.
    batchSize: 1_000_000,
    forceUtcTimezone: true,
    loggerFactory: (options) => new QueryCountingLogger(options),
    pool: { min: 0, max: 10 },
    filters: {
      tenant: {
        name: 'tenant',
        cond: (args: { tenantId: string }) => ({ tenant: args.tenantId }),
        entity: tenantScopedEntities.map((entity) => entity.name),
        default: true,
      },
    },
    migrations: {
      path: 'src/migrations',
      pathTs: 'src/migrations',
      glob: '!(*.d).{js,ts}',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      emit: 'ts',
      silent: true,
    },
    // graphile-worker owns and migrates its own schema.
    schemaGenerator: { ignoreSchema: ['graphile_worker'] },
    preferTs: true,
    ...overrides,
  });
}

// For the MikroORM CLI (`npx mikro-orm ...`), which needs DATABASE_URL.
export default createOrmOptions(databaseUrlFromEnv() ?? 'postgres://localhost:5432/bulk_invite');
