import { Entity, ManyToOne, PrimaryKey, PrimaryKeyProp, Property } from '@mikro-orm/core';
import { Tenant } from './tenant.entity';

/**
 * What a tenant used of one rate limit (`bucket`) in one fixed window, shared by every API process on the
 * database (src/http/rate-limiter.ts). Written only by raw SQL; old windows are deleted as new ones start.
 */
@Entity({ tableName: 'rate_limit_usage' })
export class RateLimitUsage {
  [PrimaryKeyProp]?: ['tenant', 'bucket', 'windowStart'];

  @ManyToOne(() => Tenant, { primary: true, deleteRule: 'cascade' })
  tenant!: Tenant;

  @PrimaryKey({ type: 'string', length: 32 })
  bucket!: string;

  @PrimaryKey({ type: 'datetime' })
  windowStart!: Date;

  @Property({ type: 'integer' })
  used!: number;
}
