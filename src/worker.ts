/** The workers alone (`npm run worker`): emails and imports, so API and workers scale separately. */
import type * as OrmModule from './db/orm';
import type * as WorkerModule from './mail/email-worker';
import type * as ImportWorkerModule from './imports/import-worker';
import { loadConfig } from './config';
import { databaseFailure, openDatabase } from './db/database';
import { createLogger } from './logger';
import { StartupError, runService } from './startup';

runService({
  async start({ signal, onStop, useLogger }) {
    const config = loadConfig();
    const log = createLogger(config.logLevel, { pretty: config.nodeEnv === 'development' });
    useLogger(log);
    const db = await openDatabase(config, log, signal);
    onStop(() => db.stop());
    signal.throwIfAborted();
    // Loaded once the configuration and the database are known good: a refused start answers in a moment.
    const { createOrm, migrate }: typeof OrmModule = require('./db/orm');
    const { startEmailWorker }: typeof WorkerModule = require('./mail/email-worker');
    const { startImportWorker }: typeof ImportWorkerModule = require('./imports/import-worker');
    const orm = await createOrm(db.url).catch((error) => Promise.reject(databaseFailure(error, db.url)));
    onStop(() => orm.close());
    await migrate(orm, db.url, log).catch((error: Error) =>
      Promise.reject(new StartupError(`applying the database migrations failed: ${error.message.split('\n')[0]}; check that DATABASE_URL's user may create tables`)),
    );
    signal.throwIfAborted();
    const worker = await startEmailWorker({ config, databaseUrl: db.url, log });
    onStop(() => worker.stop());
    const importWorker = await startImportWorker({ config, orm, databaseUrl: db.url, log });
    onStop(() => importWorker.stop());
    log.info('workers running (emails, webhook deliveries, imports)');
  },
});
