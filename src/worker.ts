/** The email worker alone (`npm run worker`), so API and workers scale separately. */
import { createOrm, migrate } from './db/orm';
import { ConfigError, loadConfig } from './config';
import { openDatabase } from './db/database';
import { createLogger } from './logger';
import { startEmailWorker } from './mail/email-worker';

async function main() {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const db = await openDatabase(config, log);
  const orm = await createOrm(db.url);
  await migrate(orm, db.url, log);
  const worker = await startEmailWorker({ config, databaseUrl: db.url, log });
  const stop = async (signal: string) => {
    log.info({ signal }, 'worker stopping');
    await worker.stop();
    await orm.close();
    await db.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error) => {
  console.error(error instanceof ConfigError ? `error: ${error.message}` : error);
  process.exit(1);
});
