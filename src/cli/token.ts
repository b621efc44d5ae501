/**
 * Mints an HS256 token from JWT_SECRET (or the development secret under .data/).
 *   npm run token -- --tenant <id> --permissions users:invite,users:read [--sub alice] [--days 30]
 */
import { parseArgs } from 'node:util';
import { PERMISSIONS, mintToken } from '../auth/jwt';
import { isUuid } from '../services/ids';
import { ConfigError, loadConfig } from '../config';

function main() {
  const { values } = parseArgs({
    options: {
      tenant: { type: 'string' },
      permissions: { type: 'string', default: 'users:invite,users:read' },
      sub: { type: 'string', default: 'cli-user' },
      days: { type: 'string', default: '30' },
    },
  });
  const config = loadConfig();
  if (!config.jwt.secret) throw new ConfigError('npm run token needs JWT_SECRET (HS256); RS256/ES256 keys are minted by your identity provider');
  const permissions = values.permissions!.split(',').map((p) => p.trim()).filter(Boolean);
  const unknown = permissions.filter((p) => !(PERMISSIONS as readonly string[]).includes(p));
  if (unknown.length) throw new ConfigError(`unknown permission(s): ${unknown.join(', ')} (known: ${PERMISSIONS.join(', ')})`);
  if (values.tenant !== undefined && !isUuid(values.tenant)) throw new ConfigError('--tenant must be a tenant id (UUID)');
  if (!values.tenant && !(permissions.length === 1 && permissions[0] === 'tenants:create')) {
    throw new ConfigError('--tenant is required unless the only permission is tenants:create');
  }
  const days = Number(values.days);
  if (!Number.isFinite(days) || days <= 0) throw new ConfigError('--days must be a positive number');
  console.log(
    mintToken({
      secret: config.jwt.secret,
      subject: values.sub!,
      tenantId: values.tenant,
      permissions,
      expiresInSeconds: Math.round(days * 86400),
      issuer: config.jwt.issuer,
      audience: config.jwt.audience,
    }),
  );
}

try {
  main();
} catch (error) {
  console.error(`error: ${(error as Error).message}`);
  process.exit(1);
}
