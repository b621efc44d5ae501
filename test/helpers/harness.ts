import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Client, Pool } from 'pg';
import { type App, buildApp } from '../../src/app';
import { createOrm, migrate } from '../../src/db/orm';
import { PERMISSIONS, mintToken } from '../../src/auth/jwt';
import { type AppConfig, loadConfig } from '../../src/config';
import { Group, Position, Role, Tenant } from '../../src/entities';
import { createLogger } from '../../src/logger';

export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-bytes-long!';

export function serverUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: run the tests with `npm test`');
  return url;
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** A new, empty database on the test server; dropped by the returned function. */
export async function createScratchDatabase(prefix = 'bi_test'): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: serverUrl() });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();
  return {
    url: withDatabase(serverUrl(), name),
    async drop() {
      const client = new Client({ connectionString: serverUrl() });
      await client.connect();
      await client.query(`drop database if exists "${name}" with (force)`);
      await client.end();
    },
  };
}

export function testConfig(databaseUrl: string, env: Record<string, string> = {}): AppConfig {
  return loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    JWT_SECRET: TEST_JWT_SECRET,
    DATA_DIR: mkdtempSync(join(tmpdir(), 'bi-test-')),
    RUN_WORKER: 'false',
    BULK_INVITE_RATE_LIMIT: '0',
    BULK_INVITE_USERS_PER_MINUTE: '0',
    READ_RATE_LIMIT: '0',
    EMAIL_RETRY_BASE_MS: '50',
    EMAIL_RETRY_MAX_MS: '200',
    EMAIL_POLL_INTERVAL_MS: '50',
    PUBLIC_URL: 'http://localhost:4000',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...env,
  });
}

export interface TokenOptions {
  tenantId?: string;
  permissions?: readonly string[];
  sub?: string;
  expiresInSeconds?: number;
}

export interface SeededTenant {
  tenantId: string;
  token: string;
  roles: Record<'admin' | 'member', string>;
  groups: [string, string];
  positions: [string, string];
}

export interface GraphQLResponse<T = any> {
  status: number;
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

export class TestApp {
  constructor(
    readonly app: App,
    readonly databaseUrl: string,
    private readonly dropDatabase: () => Promise<void>,
  ) {}

  get orm(): MikroORM {
    return this.app.orm;
  }

  get config(): AppConfig {
    return this.app.config;
  }

  token(options: TokenOptions = {}): string {
    return mintToken({
      secret: TEST_JWT_SECRET,
      subject: options.sub ?? 'test-user',
      tenantId: options.tenantId,
      permissions: options.permissions ?? PERMISSIONS,
      expiresInSeconds: options.expiresInSeconds ?? 3600,
    });
  }

  async gql<T = any>(query: string, variables: Record<string, unknown> = {}, token?: string): Promise<GraphQLResponse<T>> {
    const response = await this.app.server.inject({
      method: 'POST',
      url: '/graphql',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      payload: JSON.stringify({ query, variables }),
    });
    return { status: response.statusCode, ...response.json() };
  }

  async post(url: string, body: unknown, token?: string, headers: Record<string, string> = {}) {
    const response = await this.app.server.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.statusCode, headers: response.headers, body: response.json() as any };
  }

  /** A tenant with roles Admin and Member, two groups and two positions, and a token with every permission. */
  async seedTenant(name = `Tenant ${randomBytes(3).toString('hex')}`): Promise<SeededTenant> {
    const em = this.orm.em.fork();
    const tenant = em.create(Tenant, { name });
    const admin = em.create(Role, { tenant, name: 'Admin' });
    const member = em.create(Role, { tenant, name: 'Member' });
    const groups = ['Engineering', 'Sales'].map((n) => em.create(Group, { tenant, name: n }));
    const positions = ['Engineer', 'Manager'].map((t) => em.create(Position, { tenant, title: t }));
    await em.flush();
    return {
      tenantId: tenant.id,
      token: this.token({ tenantId: tenant.id }),
      roles: { admin: admin.id, member: member.id },
      groups: [groups[0].id, groups[1].id],
      positions: [positions[0].id, positions[1].id],
    };
  }

  private pool?: Pool;

  /** Raw SQL against the test database, for assertions that must not go through the app. */
  async sql<T = any>(text: string, params: unknown[] = []): Promise<T[]> {
    if (!this.pool) {
      this.pool = new Pool({ connectionString: this.databaseUrl, max: 2 });
      this.pool.on('error', () => undefined); // idle connections killed on purpose by fault tests
    }
    return (await this.pool.query(text, params)).rows as T[];
  }

  async close(): Promise<void> {
    await this.pool?.end();
    await this.app.close();
    await this.orm.close();
    await this.dropDatabase();
  }
}

export async function createTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const db = await createScratchDatabase();
  const config = testConfig(db.url, env);
  const log = createLogger(config.logLevel);
  const orm = await createOrm(db.url);
  await migrate(orm, db.url, log);
  const app = await buildApp({ config, orm, log });
  await app.server.ready();
  return new TestApp(app, db.url, db.drop);
}

export const BULK_INVITE = `mutation($input: BulkInviteUsersInput!) {
  bulkInviteUsers(input: $input) {
    total successful failed dryRun
    results {
      __typename
      ... on UserInvited { index email existingUser user { id email } invitation { id status emailStatus expiresAt redirectUrl } }
      ... on InviteError { index email code message }
      ... on DuplicateInBatchError { firstIndex }
      ... on UnknownReferenceError { unknown }
    }
  }
}`;
