import 'reflect-metadata';
import { defineConfig, type Options } from '@mikro-orm/postgresql';
import { addTenantFilter, entities } from './src/entities';
import { QueryCountingLogger } from './src/db/query-stats';
import { UnnestInsertDriver } from './src/db/unnest-insert-driver';
import { TenantMigrator } from './src/db/tenant-schema';
import { databaseUrlFromEnv } from './src/config';

/**
 * The one MikroORM configuration, used by the app, the MikroORM CLI and the tests.
 * `clientUrl` is the only thing that differs between them.
 */
export function createOrmOptions(clientUrl: string, overrides: Partial<Options> = {}): Options {
  return defineConfig({
    clientUrl,
    // Multi-row inserts as one `insert … select * from unnest(…)` statement per table; its platform brings the
    // schema generator with composite (tenant_id, …) foreign keys (src/db/tenant-schema.ts).
    driver: UnnestInsertDriver,
    entities,
    // The tenant filter goes on every entity with a `tenant` relation (src/entities/tenant-scoped.ts).
    discovery: { afterDiscovered: addTenantFilter },
    // The migrator, diffing with the same tenant-aware schema generator (src/db/tenant-schema.ts).
    extensions: [TenantMigrator],
    forceUtcTimezone: true,
    loggerFactory: (options) => new QueryCountingLogger(options),
    pool: { min: 0, max: 10 },
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
