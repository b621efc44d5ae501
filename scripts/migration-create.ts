/**
 * Generates a migration from the difference between the entities and the database's current schema
 * (after applying the committed migrations). Uses DATABASE_URL, or the embedded PostgreSQL.
 *   npm run migration:create [-- --initial]
 */
import { createOrm, migrate } from '../src/db/orm';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db/database';
import { createLogger } from '../src/logger';

async function main() {
  const config = loadConfig();
  const log = createLogger('info');
  const db = await openDatabase(config, log);
  const orm = await createOrm(db.url);
  try {
    await migrate(orm, db.url, log);
    const initial = process.argv.includes('--initial');
    const result = await orm.getMigrator().createMigration(undefined, false, initial);
    console.log(result.fileName ? `created ${result.fileName}` : 'no changes: entities and migrations agree');
  } finally {
    await orm.close();
    await db.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
