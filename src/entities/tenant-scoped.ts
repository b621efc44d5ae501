import { ManyToOne } from '@mikro-orm/core';
import { Tenant } from './tenant.entity';

/**
 * Every entity extending this carries `tenant_id`, and the default-enabled `tenant` filter
 * (mikro-orm.config.ts) adds it to every query: a query without a tenant parameter throws.
 */
export abstract class TenantScoped {
  @ManyToOne(() => Tenant, { deleteRule: 'cascade' })
  tenant!: Tenant;
}
