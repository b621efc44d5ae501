import { randomBytes } from 'node:crypto';
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
}

export interface RateLimitConfig {
  /** Bulk invite requests per tenant per window. 0 disables. */
  bulkRequestsPerWindow: number;
  windowMs: number;
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
  rateLimit: RateLimitConfig;
  publicUrl: string;
  bulkInviteMaxUsers: number;
  invitationTtlDays: number;
  /** Allowed redirect origins; undefined means any https: URL (plus http://localhost outside production). */
  redirectUrlAllowlist?: string[];
  bodyLimitBytes: number;
  requestTimeoutMs: number;
  logLevel: string;
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(`${name} must be an integer >= ${min}, got "${raw}"`);
  }
  return value;
}

function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
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
  const nodeEnv = env.NODE_ENV ?? 'development';
  const isProduction = nodeEnv === 'production';
  const dataDir = resolve(env.DATA_DIR ?? '.data');
  const databaseUrl = optional(env, 'DATABASE_URL');
  const publicKey = optional(env, 'JWT_PUBLIC_KEY')?.replace(/\\n/g, '\n');
  let secret = optional(env, 'JWT_SECRET');

  if (isProduction) {
    if (!databaseUrl) throw new ConfigError('DATABASE_URL is required when NODE_ENV=production');
    if (!secret && !publicKey) {
      throw new ConfigError('JWT_SECRET or JWT_PUBLIC_KEY is required when NODE_ENV=production');
    }
  }
  if (secret && Buffer.byteLength(secret) < 32) {
    throw new ConfigError('JWT_SECRET must be at least 32 bytes');
  }
  if (!secret && !publicKey) secret = devJwtSecret(dataDir);

  const port = int(env, 'PORT', 4000);
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
      from: optional(env, 'POSTMARK_FROM') ?? 'invites@localhost',
      messageStream: optional(env, 'POSTMARK_MESSAGE_STREAM') ?? 'outbound',
      apiUrl: optional(env, 'POSTMARK_API_URL'),
      timeoutMs: int(env, 'POSTMARK_TIMEOUT_MS', 30_000, 1),
    },
    email: {
      runWorker: env.RUN_WORKER !== 'false',
      retryBaseMs: int(env, 'EMAIL_RETRY_BASE_MS', 2_000, 1),
      retryMaxMs: int(env, 'EMAIL_RETRY_MAX_MS', 15 * 60_000, 1),
      claimLeaseMs: int(env, 'EMAIL_CLAIM_LEASE_MS', 5 * 60_000, 1),
      pollIntervalMs: int(env, 'EMAIL_POLL_INTERVAL_MS', 2_000, 10),
      maxPerTenantPerHour: int(env, 'EMAILS_PER_TENANT_PER_HOUR', 50_000, 0),
    },
    rateLimit: {
      bulkRequestsPerWindow: int(env, 'BULK_INVITE_RATE_LIMIT', 60, 0),
      windowMs: int(env, 'BULK_INVITE_RATE_WINDOW_MS', 60_000, 1),
    },
    publicUrl: (optional(env, 'PUBLIC_URL') ?? `http://localhost:${port}`).replace(/\/+$/, ''),
    bulkInviteMaxUsers: maxUsers,
    invitationTtlDays: int(env, 'INVITATION_TTL_DAYS', 7, 1),
    redirectUrlAllowlist: parseAllowlist(optional(env, 'REDIRECT_URL_ALLOWLIST')),
    // About 300 bytes per user in practice; 1 KiB per user leaves room for long names and links.
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', Math.max(1024 * 1024, maxUsers * 1024), 1024),
    requestTimeoutMs: int(env, 'REQUEST_TIMEOUT_MS', 120_000, 1),
    logLevel: optional(env, 'LOG_LEVEL') ?? (nodeEnv === 'test' ? 'warn' : 'info'),
  };
}
