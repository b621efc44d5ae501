import { type EntityMetadata, ManyToOne, type MetadataStorage, ReferenceKind } from '@mikro-orm/core';
import { Tenant } from './tenant.entity';

/**
 * Every entity extending this carries `tenant_id`. The default-enabled `tenant` filter adds it to every query
 * of such an entity, and a query without a tenant parameter throws.
 */
export abstract class TenantScoped {
  @ManyToOne(() => Tenant, { deleteRule: 'cascade' })
  tenant!: Tenant;
}

export const TENANT_FILTER = 'tenant';

/** Entities owned by a tenant: those with a `tenant` relation, whether inherited from TenantScoped or their own. */
export function isTenantOwned(meta: EntityMetadata): boolean {
  const prop = meta.properties.tenant as EntityMetadata['props'][number] | undefined;
  return !meta.abstract && !meta.embeddable && prop?.kind === ReferenceKind.MANY_TO_ONE && prop.type === Tenant.name;
}

/**
 * Puts the `tenant` filter on every tenant-owned entity, from MikroORM's metadata once discovery is done, so that
 * no hand-kept list can miss a new entity. For `discovery.afterDiscovered`.
 */
export function addTenantFilter(storage: MetadataStorage): void {
  for (const meta of Object.values(storage.getAll())) {
    if (!isTenantOwned(meta)) continue;
    meta.filters[TENANT_FILTER] = {
      name: TENANT_FILTER,
      cond: (args: { tenantId: string }) => ({ tenant: args.tenantId }),
      default: true,
    };
  }
}
