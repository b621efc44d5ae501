import { randomUUID } from 'node:crypto';
import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';
import type { Opt } from '@mikro-orm/core';
import { TenantScoped } from './tenant-scoped';

/**
 * A tenant's SCIM bearer token (contract section 10). The secret is shown once, at creation; only its SHA-256 is
 * kept. The token's id travels in the secret's prefix, so authentication is a primary-key lookup followed by a
 * constant-time comparison of the hashes.
 */
@Entity({ tableName: 'scim_token' })
@Index({ name: 'scim_token_tenant_created_idx', properties: ['tenant', 'createdAt'] })
export class ScimToken extends TenantScoped {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'text', nullable: true })
  description?: string | null;

  /** Hex SHA-256 of the secret part of the token. */
  @Property({ type: 'text' })
  secretHash!: string;

  @Property({ type: 'datetime' })
  createdAt: Opt<Date> = new Date();

  /** Updated at most once a minute per process (src/services/scim/scim-token.service.ts). */
  @Property({ type: 'datetime', nullable: true })
  lastUsedAt?: Date | null;

  /** Revoked tokens are kept (their ids may appear in logs) but never authenticate. */
  @Property({ type: 'datetime', nullable: true })
  revokedAt?: Date | null;
}
