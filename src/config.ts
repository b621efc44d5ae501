import { createPublicKey, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The only module that reads `process.env`; everything else receives an AppConfig. */

export interface JwtConfig {
  /** HS256 shared secret. */
  secret?: string;
  /** PEM public key: RS256/ES256 tokens instead of HS256. */
  publicKey?: string;
  issuer?: string;
  audience?: string;
  /** Longest lifetime (`exp - iat`) a token may have; undefined means no maximum. */
  maxAgeSeconds?: number;
}

export interface PostmarkConfig {
  /** Unset: emails go to the dev mailbox (development only). */
  serverToken?: string;
  from: string;
  messageStream: string;
  /** Base URL of the Postmark API; unset means Postmark's public API. */
  apiUrl?: string;
  timeoutMs: number;
  /** With it, invitation emails go through /email/batchWithTemplates with this TemplateAlias. */
  templateAlias?: string;
  /** HTTP Basic credentials of POST /webhooks/postmark; the route answers 404 while either is unset. */
  webhookUsername?: string;
  webhookPassword?: string;
}

/** Outgoing webhooks (src/services/webhooks). */
export interface WebhookConfig {
  /** Milliseconds one second of the retry schedule lasts: 1000 in service, a small value in tests. */
  retryBaseMs: number;
  /** Deliver to loopback, private and link-local addresses too (development and tests only). */
  allowPrivateTargets: boolean;
  /** Per-attempt timeout: a 2xx must arrive within it. */
  timeoutMs: number;
  /** Key that seals endpoint secrets at rest (AES-256-GCM); unset stores them unsealed. */
  secretKey?: string;
  /** Endpoints drained at once by one worker process (each drain sends up to 10 requests at a time). */
  workerConcurrency: number;
}

export interface EmailQueueConfig {
  /** Run the email worker inside the API process. */
  runWorker: boolean;
  /** First retry delay after a transient provider error; doubles per attempt. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** A claimed batch whose worker died is recovered after this long. */
  claimLeaseMs: number;
  /** How often the worker polls for jobs when no notification arrives. */
  pollIntervalMs: number;
  /** Emails per tenant per hour; past it invitations are created with emailStatus FAILED. */
  maxPerTenantPerHour: number;
  /** `resendInvitation`: at most one email per invitation per this many seconds. */
  resendCooldownSeconds: number;
  /** `resendInvitation`: at most this many emails per invitation per 24 hours. */
  resendsPerDay: number;
}

/** Per-tenant budgets shared by every API process on the database (src/http/rate-limiter.ts). 0 disables each. */
export interface RateLimitConfig {
  /** Bulk invite requests per tenant per window. */
  bulkRequestsPerWindow: number;
  windowMs: number;
  /** People named in bulk requests (all surfaces) per tenant per minute. */
  bulkUsersPerMinute: number;
  /** GraphQL queries (reads) per tenant per read window. */
  readRequestsPerWindow: number;
  readWindowMs: number;
}

/** Admission control of heavy bulk work in one process (src/http/admission.ts). */
export interface AdmissionConfig {
  /** Requests of fewer people (and body KiB) than this are light: never refused by admission. */
  heavyThreshold: number;
  /** People in flight in heavy requests per tenant; 0 disables. */
  perTenant: number;
  /** People in flight in heavy requests in the whole process; 0 disables. */
  perProcess: number;
}

/** Async imports of files of people (contract section 9). */
export interface ImportConfig {
  /** Data rows one file may hold; more is refused (413). */
  maxRows: number;
  /** Bytes one upload may have; more is refused (413) as soon as they arrive. */
  maxBytes: number;
  /** Rows decided and written per transaction by the runner. */
  chunkRows: number;
  /** Imports of one tenant processed at the same time (the others wait their turn). */
  concurrencyPerTenant: number;
  /** Days an import and its row results are kept after it was created. */
  retentionDays: number;
  /**
   * Uploads this process stores at the same time. Each holds a database connection (its transaction) for as long
   * as its body streams in, so the pool must keep connections for everything else.
   */
  maxConcurrentUploads: number;
}

export interface AppConfig {
  nodeEnv: string;
  isProduction: boolean;
  port: number;
  host: string;
  /** Where the embedded PostgreSQL and the dev JWT secret live. */
  dataDir: string;
  databaseUrl?: string;
  jwt: JwtConfig;
  postmark: PostmarkConfig;
  email: EmailQueueConfig;
  webhooks: WebhookConfig;
  rateLimit: RateLimitConfig;
  admission: AdmissionConfig;
  imports: ImportConfig;
  publicUrl: string;
  bulkInviteMaxUsers: number;
  invitationTtlDays: number;
  /** Allowed redirect origins; undefined means any https: URL (plus http://localhost outside production). */
  redirectUrlAllowlist?: string[];
  bodyLimitBytes: number;
  requestTimeoutMs: number;
  logLevel: string;
}

/** A setting the process cannot start with; the message is one line naming the variable to fix. */
export class ConfigError extends Error {}

export const NODE_ENVS = ['development', 'test', 'production'] as const;

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new ConfigError(`${name} must be an integer ${range}, got "${raw}"`);
  }
  return value;
}

/** A number > 0, fractions allowed (the webhook retry schedule is scaled far down in tests). */
function positiveNumber(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`${name} must be a number > 0, got "${raw}"`);
  return value;
}

function webhookSecretKey(raw: string | undefined): string | undefined {
  if (raw !== undefined && Buffer.byteLength(raw) < 32) throw new ConfigError('WEBHOOK_SECRET_KEY must be at least 32 bytes');
  return raw;
}

/** Only PostgreSQL URLs; the message never repeats the password. */
function parseDatabaseUrl(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('DATABASE_URL is not a URL; expected postgres://user:password@host:port/database');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(`DATABASE_URL must be a postgres:// URL, got a ${url.protocol}// URL`);
  }
  return raw;
}

/** Read once here so a key that cannot be used stops the start, instead of failing every request later. */
function parsePublicKey(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  const pem = raw.replace(/\\n/g, '\n');
  let type: string | undefined;
  try {
    type = createPublicKey(pem).asymmetricKeyType;
  } catch {
    throw new ConfigError('JWT_PUBLIC_KEY is not a readable PEM public key (-----BEGIN PUBLIC KEY----- ...)');
  }
  if (type !== 'rsa' && type !== 'ec') {
    throw new ConfigError(`JWT_PUBLIC_KEY must be an RSA or EC public key, got ${type ?? 'an unknown'} key`);
  }
  return pem;
}

function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function parseUrl(env: Env, name: string): string | undefined {
  const value = optional(env, name);
  if (value === undefined) return undefined;
  try {
    new URL(value);
  } catch {
    throw new ConfigError(`${name} is not a URL, got "${value}"`);
  }
  return value;
}

function parseAllowlist(raw: string | undefined): string[] | undefined {
  if (!raw) return undefined;
  return raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      try {
        return new URL(entry).origin;
      } catch {
        throw new ConfigError(`REDIRECT_URL_ALLOWLIST entry "${entry}" is not a URL origin`);
      }
    });
}

/** A development secret generated once and kept under the data directory, so tokens survive restarts. */
function devJwtSecret(dataDir: string): string {
  const file = join(dataDir, 'jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  return secret;
}

/** For tools that need only the database (the MikroORM CLI), without loadConfig's side effects. */
export function databaseUrlFromEnv(env: Env = process.env): string | undefined {
  return optional(env, 'DATABASE_URL');
}

export function loadConfig(env: Env = process.env): AppConfig {
  const nodeEnv = optional(env, 'NODE_ENV') ?? 'development';
  if (!(NODE_ENVS as readonly string[]).includes(nodeEnv)) {
    throw new ConfigError(`NODE_ENV must be one of ${NODE_ENVS.join(', ')}, got "${nodeEnv}"`);
  }
  const isProduction = nodeEnv === 'production';
  const dataDir = resolve(env.DATA_DIR ?? '.data');
  const databaseUrl = parseDatabaseUrl(optional(env, 'DATABASE_URL'));
  const publicKey = parsePublicKey(optional(env, 'JWT_PUBLIC_KEY'));
  let secret = optional(env, 'JWT_SECRET');
  const publicUrl = parseUrl(env, 'PUBLIC_URL');
  const from = optional(env, 'POSTMARK_FROM');

  if (isProduction) {
    if (!databaseUrl) throw new ConfigError('DATABASE_URL is required when NODE_ENV=production');
    if (!secret && !publicKey) {
      throw new ConfigError('JWT_SECRET or JWT_PUBLIC_KEY is required when NODE_ENV=production');
    }
    // Links in emails must not point at localhost or travel in clear text.
    if (!publicUrl) throw new ConfigError('PUBLIC_URL is required when NODE_ENV=production (the https:// address people reach the service at)');
    if (new URL(publicUrl).protocol !== 'https:') {
      throw new ConfigError(`PUBLIC_URL must be an https:// URL when NODE_ENV=production, got "${publicUrl}"`);
    }
    if (!from) throw new ConfigError('POSTMARK_FROM is required when NODE_ENV=production (a sender signature verified in Postmark)');
  }
  if (secret && Buffer.byteLength(secret) < 32) {
    throw new ConfigError('JWT_SECRET must be at least 32 bytes');
  }
  if (!secret && !publicKey) secret = devJwtSecret(dataDir);

  const port = int(env, 'PORT', 4000, 0, 65535);
  const maxUsers = int(env, 'BULK_INVITE_MAX_USERS', 10_000, 1);
  const serverToken = optional(env, 'POSTMARK_SERVER_TOKEN');
  if (isProduction && !serverToken) {
    throw new ConfigError('POSTMARK_SERVER_TOKEN is required when NODE_ENV=production');
  }

  return {
    nodeEnv,
    isProduction,
    port,
    host: optional(env, 'HOST') ?? '127.0.0.1',
    dataDir,
    databaseUrl,
    jwt: {
      secret,
      publicKey,
      issuer: optional(env, 'JWT_ISSUER'),
      audience: optional(env, 'JWT_AUDIENCE'),
      maxAgeSeconds: optional(env, 'JWT_MAX_AGE_SECONDS') === undefined ? undefined : int(env, 'JWT_MAX_AGE_SECONDS', 0, 1),
    },
    postmark: {
      serverToken,
      from: from ?? 'invites@localhost',
      messageStream: optional(env, 'POSTMARK_MESSAGE_STREAM') ?? 'outbound',
      apiUrl: optional(env, 'POSTMARK_API_URL'),
      timeoutMs: int(env, 'POSTMARK_TIMEOUT_MS', 30_000, 1),
      templateAlias: optional(env, 'POSTMARK_TEMPLATE_ALIAS'),
      webhookUsername: optional(env, 'POSTMARK_WEBHOOK_USERNAME'),
      webhookPassword: optional(env, 'POSTMARK_WEBHOOK_PASSWORD'),
    },
    webhooks: {
      retryBaseMs: positiveNumber(env, 'WEBHOOK_RETRY_BASE_MS', 1000),
      allowPrivateTargets: env.WEBHOOK_ALLOW_PRIVATE_TARGETS === 'true',
      timeoutMs: int(env, 'WEBHOOK_TIMEOUT_MS', 15_000, 1),
      secretKey: webhookSecretKey(optional(env, 'WEBHOOK_SECRET_KEY')),
      workerConcurrency: int(env, 'WEBHOOK_WORKER_CONCURRENCY', 4, 1, 100),
    },
    email: {
      runWorker: env.RUN_WORKER !== 'false',
      retryBaseMs: int(env, 'EMAIL_RETRY_BASE_MS', 2_000, 1),
      retryMaxMs: int(env, 'EMAIL_RETRY_MAX_MS', 15 * 60_000, 1),
      claimLeaseMs: int(env, 'EMAIL_CLAIM_LEASE_MS', 5 * 60_000, 1),
      pollIntervalMs: int(env, 'EMAIL_POLL_INTERVAL_MS', 2_000, 10),
      maxPerTenantPerHour: int(env, 'EMAILS_PER_TENANT_PER_HOUR', 50_000, 0),
      resendCooldownSeconds: int(env, 'RESEND_COOLDOWN_SECONDS', 60, 0),
      resendsPerDay: int(env, 'RESENDS_PER_DAY', 5, 1),
    },
    rateLimit: {
      bulkRequestsPerWindow: int(env, 'BULK_INVITE_RATE_LIMIT', 60, 0),
      windowMs: int(env, 'BULK_INVITE_RATE_WINDOW_MS', 60_000, 1),
      bulkUsersPerMinute: int(env, 'BULK_INVITE_USERS_PER_MINUTE', 100_000, 0),
      readRequestsPerWindow: int(env, 'READ_RATE_LIMIT', 1_200, 0),
      readWindowMs: int(env, 'READ_RATE_WINDOW_MS', 60_000, 1),
    },
    admission: {
      heavyThreshold: int(env, 'BULK_INVITE_HEAVY_USERS', 1_000, 1),
      // One maximal request per tenant at a time, two in the process: each costs a few hundred MB at its peak.
      perTenant: int(env, 'BULK_INVITE_TENANT_USERS_IN_FLIGHT', maxUsers, 0),
      perProcess: int(env, 'BULK_INVITE_PROCESS_USERS_IN_FLIGHT', 2 * maxUsers, 0),
    },
    imports: {
      maxRows: int(env, 'IMPORT_MAX_ROWS', 1_000_000, 1),
      maxBytes: int(env, 'IMPORT_MAX_BYTES', 512 * 1024 * 1024, 1),
      chunkRows: int(env, 'IMPORT_CHUNK_ROWS', 5_000, 1, maxUsers),
      concurrencyPerTenant: int(env, 'IMPORT_CONCURRENCY', 1, 1, 16),
      retentionDays: int(env, 'IMPORT_RETENTION_DAYS', 30, 1),
      maxConcurrentUploads: int(env, 'IMPORT_MAX_CONCURRENT_UPLOADS', 3, 1),
    },
    publicUrl: (publicUrl ?? `http://localhost:${port}`).replace(/\/+$/, ''),
    bulkInviteMaxUsers: maxUsers,
    invitationTtlDays: int(env, 'INVITATION_TTL_DAYS', 7, 1),
    redirectUrlAllowlist: parseAllowlist(optional(env, 'REDIRECT_URL_ALLOWLIST')),
    // About 300 bytes per user in practice; 1 KiB per user leaves room for long names and links.
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', Math.max(1024 * 1024, maxUsers * 1024), 1024),
    requestTimeoutMs: int(env, 'REQUEST_TIMEOUT_MS', 120_000, 1),
    logLevel: optional(env, 'LOG_LEVEL') ?? (nodeEnv === 'test' ? 'warn' : 'info'),
  };
}
