import { createPublicKey } from 'node:crypto';
import jwt, { type Algorithm } from 'jsonwebtoken';
import type { JwtConfig } from '../config';
import { DomainError } from '../services/errors';
import { canonicalId, isUuid } from '../services/ids';
import { hasDisplayControl } from '../services/unsafe-text';

export const PERMISSIONS = ['users:invite', 'users:read', 'tenant:admin', 'tenants:create'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export interface Viewer {
  userId: string;
  /** Absent only on platform tokens that carry nothing but `tenants:create`. */
  tenantId?: string;
  permissions: ReadonlySet<string>;
  /** The `name` claim (a display name), when the token carries a printable one; emails name the inviter with it. */
  name?: string;
}

const MAX_NAME_LENGTH = 200;

function unauthenticated(message: string): DomainError {
  return new DomainError('UNAUTHENTICATED', message);
}

const MAX_SUBJECT_LENGTH = 255;
/** Clock skew allowed for `iat`; a token issued further in the future was not issued by a sane clock. */
const MAX_IAT_SKEW_SECONDS = 60;

/**
 * jsonwebtoken checks `exp` and `nbf` only when present and never checks `iat` unless asked for a maximum age;
 * JSON also lets `1e400` through as Infinity, a token that never expires.
 */
function checkTimes(claims: jwt.JwtPayload, maxAgeSeconds: number | undefined, nowSeconds = Date.now() / 1000): void {
  for (const name of ['iat', 'exp', 'nbf'] as const) {
    const value: unknown = claims[name];
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) {
      throw unauthenticated(`Invalid token: ${name} must be a number of seconds`);
    }
  }
  const { iat, exp } = claims;
  if (exp === undefined) throw unauthenticated('Invalid token: exp is required');
  if (iat !== undefined && iat > nowSeconds + MAX_IAT_SKEW_SECONDS) throw unauthenticated('Invalid token: iat is in the future');
  if (maxAgeSeconds !== undefined && exp - (iat ?? nowSeconds) > maxAgeSeconds) {
    throw unauthenticated(`Invalid token: lifetime exceeds ${maxAgeSeconds} s`);
  }
}

export interface TokenVerifier {
  /** Throws UNAUTHENTICATED on a bad header or token; `undefined` header means anonymous. */
  verify(authorizationHeader: string | undefined): Viewer | null;
}

export function createTokenVerifier(config: JwtConfig): TokenVerifier {
  let key: string;
  let algorithms: Algorithm[];
  if (config.publicKey) {
    const type = createPublicKey(config.publicKey).asymmetricKeyType;
    if (type !== 'rsa' && type !== 'ec') throw new Error(`JWT_PUBLIC_KEY: unsupported key type ${type}`);
    key = config.publicKey;
    algorithms = type === 'rsa' ? ['RS256'] : ['ES256'];
  } else if (config.secret) {
    key = config.secret;
    algorithms = ['HS256'];
  } else {
    throw new Error('No JWT key configured');
  }

  return {
    verify(header) {
      if (header === undefined || header === '') return null;
      const match = /^Bearer ([A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]*\.[A-Za-z0-9_=+/-]*)$/.exec(header.trim());
      if (!match) throw unauthenticated('Authorization header must be "Bearer <JWT>"');
      let claims: jwt.JwtPayload;
      try {
        const decoded = jwt.verify(match[1], key, {
          algorithms,
          issuer: config.issuer,
          audience: config.audience,
        });
        if (typeof decoded === 'string') throw new Error('payload is not an object');
        claims = decoded;
      } catch (error) {
        throw unauthenticated(`Invalid token: ${(error as Error).message}`);
      }
      checkTimes(claims, config.maxAgeSeconds);
      const sub: unknown = claims.sub;
      if (typeof sub !== 'string' || sub === '' || sub.length > MAX_SUBJECT_LENGTH || hasDisplayControl(sub)) {
        throw unauthenticated(`Invalid token: sub must be 1 to ${MAX_SUBJECT_LENGTH} printable characters`);
      }
      const permissions = claims.permissions;
      if (!Array.isArray(permissions) || !permissions.every((p) => typeof p === 'string')) {
        throw unauthenticated('Invalid token: permissions must be an array of strings');
      }
      const tenantId: unknown = claims.tenantId;
      if (tenantId !== undefined && tenantId !== null && !isUuid(tenantId)) {
        throw unauthenticated('Invalid token: tenantId must be a UUID');
      }
      // Ids compare case-insensitively: the canonical form here gives an upper-case tenantId the same tenant
      // filter, rate-limit bucket and cache entries as the lower-case one.
      // Optional and only shown to invitees: a name that is not printable text is left out rather than refusing the token.
      const name: unknown = claims.name;
      const displayName = typeof name === 'string' && name.trim() !== '' && name.length <= MAX_NAME_LENGTH && !hasDisplayControl(name) ? name.trim() : undefined;
      return { userId: sub, tenantId: tenantId ? canonicalId(tenantId) : undefined, permissions: new Set(permissions), ...(displayName ? { name: displayName } : {}) };
    },
  };
}

export interface MintOptions {
  secret: string;
  subject: string;
  tenantId?: string;
  permissions: readonly string[];
  expiresInSeconds: number;
  issuer?: string;
  audience?: string;
}

/** HS256 tokens for development, tests and `npm run token`. */
export function mintToken(options: MintOptions): string {
  const payload: Record<string, unknown> = { permissions: options.permissions };
  if (options.tenantId) payload.tenantId = options.tenantId;
  return jwt.sign(payload, options.secret, {
    algorithm: 'HS256',
    subject: options.subject,
    expiresIn: options.expiresInSeconds,
    ...(options.issuer ? { issuer: options.issuer } : {}),
    ...(options.audience ? { audience: options.audience } : {}),
  });
}
