import { buildApp } from './app';
import { createOrm, migrate } from './db/orm';
import { PERMISSIONS, mintToken } from './auth/jwt';
import { ConfigError, loadConfig } from './config';
import { openDatabase } from './db/database';
import { createLogger } from './logger';
import { startEmailWorker } from './mail/email-worker';
import { ensureDemoTenant } from './dev/demo-seed';

const DEMO_TOKEN_DAYS = 30;

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`error: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  const log = createLogger(config.logLevel);
  const db = await openDatabase(config, log);
  const orm = await createOrm(db.url);
  await migrate(orm, db.url, log);
  const app = await buildApp({ config, orm, log });
  const worker = config.email.runWorker ? await startEmailWorker({ config, databaseUrl: db.url, log }) : null;

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: finishing in-flight requests');
    const force = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, 30_000);
    force.unref();
    try {
      await app.close();
      await worker?.stop();
      await orm.close();
      await db.stop();
      log.info('stopped');
      process.exit(0);
    } catch (error) {
      log.error({ err: error }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  await app.server.listen({ port: config.port, host: config.host });
  const base = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${config.port}`;

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
    const curl = `curl -s ${base}/graphql -H 'content-type: application/json' -H 'authorization: Bearer ${token}' \\\n  -d '{"query":"mutation { createRole(input: {name: \\"Editor\\"}) { id name } }"}'`;
    console.log(
      [
        '',
        `Bulk invite service ready${created ? ' (demo tenant created)' : ''}`,
        `  GraphQL + Sandbox  ${base}/graphql`,
        `  REST docs          ${base}/docs`,
        `  Dev mailbox        ${base}/dev/mailbox`,
        `  Health             ${base}/health`,
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
  } else {
    log.info({ url: `${base}/graphql` }, 'listening');
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
