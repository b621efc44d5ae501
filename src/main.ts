import type * as AppModule from './app';
import type * as JwtModule from './auth/jwt';
import type * as OrmModule from './db/orm';
import type * as DemoModule from './dev/demo-seed';
import type * as WorkerModule from './mail/email-worker';
import type * as ImportWorkerModule from './imports/import-worker';
import { loadConfig } from './config';
import { databaseFailure, openDatabase } from './db/database';
import { createLogger } from './logger';
import { StartupError, assertCanListen, listenFailure, runService } from './startup';

const DEMO_TOKEN_DAYS = 30;


runService({
  async start({ signal, onStop, useLogger }) {
    const config = loadConfig();
    // Human-readable in development, JSON lines for log collectors otherwise.
    const log = createLogger(config.logLevel, { pretty: config.nodeEnv === 'development' });
    useLogger(log);
    // Before the database starts: a taken port should not cost an initdb.
    await assertCanListen(config.host, config.port);
    const db = await openDatabase(config, log, signal);
    onStop(() => db.stop());
    signal.throwIfAborted();
    // Loaded once the configuration and the database are known good: a refused start answers in a moment.
    const { buildApp }: typeof AppModule = require('./app');
    const { createOrm, migrate }: typeof OrmModule = require('./db/orm');
    const { PERMISSIONS, mintToken }: typeof JwtModule = require('./auth/jwt');
    const { startEmailWorker }: typeof WorkerModule = require('./mail/email-worker');
    const { startImportWorker }: typeof ImportWorkerModule = require('./imports/import-worker');
    const { ensureDemoTenant }: typeof DemoModule = require('./dev/demo-seed');
    const orm = await createOrm(db.url).catch((error) => Promise.reject(databaseFailure(error, db.url)));
    onStop(() => orm.close());
    await migrate(orm, db.url, log).catch((error: Error) =>
      Promise.reject(new StartupError(`applying the database migrations failed: ${error.message.split('\n')[0]}; check that DATABASE_URL's user may create tables`)),
    );
    signal.throwIfAborted();
    const app = await buildApp({ config, orm, log });
    onStop(() => app.close());
    // Stopped before the app on shutdown is fine: jobs are rows, and in-flight requests only add rows.
    const worker = config.email.runWorker ? await startEmailWorker({ config, databaseUrl: db.url, log }) : null;
    if (worker) onStop(() => worker.stop());
    const importWorker = config.email.runWorker ? await startImportWorker({ config, orm, databaseUrl: db.url, log }) : null;
    if (importWorker) onStop(() => importWorker.stop());
    signal.throwIfAborted();

    await app.server.listen({ port: config.port, host: config.host }).catch((error) => Promise.reject(listenFailure(error, config.host, config.port)));
    const address = app.server.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const base = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${port}`;
    log.info({ url: `${base}/graphql` }, 'listening');

    if (!config.isProduction && config.jwt.secret) {
      const { tenant, created } = await ensureDemoTenant(orm);
      const token = mintToken({
        secret: config.jwt.secret,
        subject: 'demo-admin',
        tenantId: tenant.id,
        permissions: PERMISSIONS,
        expiresInSeconds: DEMO_TOKEN_DAYS * 24 * 3600,
        issuer: config.jwt.issuer,
        audience: config.jwt.audience,
      });
      // A read: pasting it again on any later start gives the same answer (a create would fail as a duplicate).
      const curl = `curl -s ${base}/graphql -H 'content-type: application/json' -H 'authorization: Bearer ${token}' \\\n  -d '{"query":"{ roles { id name } groups { id name } positions { id title } }"}'`;
      // Printed last, after every startup log line, so that it is what the terminal shows.
      console.log(
        [
          '',
          `Bulk invite service ready${created ? ' (demo tenant created)' : ''}`,
          `  GraphQL + Sandbox  ${base}/graphql`,
          `  GraphiQL (offline) ${base}/graphiql`,
          `  REST docs          ${base}/docs`,
          `  Dev mailbox        ${base}/dev/mailbox`,
          `  Health             ${base}/health (readiness: ${base}/health/ready, metrics: ${base}/metrics)`,
          `  Demo tenant        ${tenant.name} (${tenant.id})`,
          '',
          `Demo admin token (all permissions, valid ${DEMO_TOKEN_DAYS} days):`,
          token,
          '',
          'Try it:',
          curl,
          '',
        ].join('\n'),
      );
    }
  },
});
