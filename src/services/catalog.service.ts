import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { RequestContext } from '../context';
import { Group, Position, Role, Tenant } from '../entities';
import { DomainError } from './errors';
import { canonicalId, isUuid } from './ids';
import { hasDisplayControl } from './unsafe-text';

const MAX_NAME_LENGTH = 100;

export function cleanName(label: string, raw: string): string {
  const name = raw.trim();
  // Names end up in email subjects and admin screens: no controls, line breaks or bidi overrides.
  if (!name || name.length > MAX_NAME_LENGTH || hasDisplayControl(name)) {
    throw new DomainError('BAD_USER_INPUT', `${label} must be 1 to ${MAX_NAME_LENGTH} printable characters`);
  }
  return name;
}

export interface TenantView {
  id: string;
  name: string;
}

export async function createTenant(ctx: RequestContext, input: { name: string }): Promise<TenantView> {
  ctx.requirePermission('tenants:create');
  const tenant = ctx.em.create(Tenant, { name: cleanName('name', input.name) });
  await ctx.em.flush();
  return { id: tenant.id, name: tenant.name };
}

/** Roles, groups and positions: per-tenant named things, unique by name regardless of case. */
const catalogs = {
  role: { entity: Role, field: 'name', label: 'role' },
  group: { entity: Group, field: 'name', label: 'group' },
  position: { entity: Position, field: 'title', label: 'position' },
} as const;

export type CatalogKind = keyof typeof catalogs;
export interface CatalogItem {
  id: string;
  name: string;
}

export async function createCatalogItem(ctx: RequestContext, kind: CatalogKind, rawName: string): Promise<CatalogItem> {
  const tenantId = ctx.requireTenantPermission('tenant:admin');
  const { entity, field, label } = catalogs[kind];
  const name = cleanName(field, rawName);
  const item = ctx.em.create(entity as typeof Role, { [field]: name, tenant: tenantId } as never);
  try {
    await ctx.em.flush();
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) {
      throw new DomainError('BAD_USER_INPUT', `A ${label} named "${name}" already exists in this tenant`);
    }
    throw error;
  }
  return { id: item.id, name };
}

export async function listCatalog(ctx: RequestContext, kind: CatalogKind): Promise<CatalogItem[]> {
  ctx.requireTenantPermission('users:read', 'tenant:admin');
  const { entity, field } = catalogs[kind];
  const rows = (await ctx.em.find(entity as typeof Role, {}, { orderBy: { [field]: 'asc' } as never })) as unknown as Array<
    Record<string, string>
  >;
  return rows.map((row) => ({ id: row.id, name: row[field] }));
}

/** Renames one of the tenant's roles, groups or positions; NOT_FOUND for an id of another tenant or none. */
export async function updateCatalogItem(ctx: RequestContext, kind: CatalogKind, id: string, rawName: string): Promise<CatalogItem> {
  ctx.requireTenantPermission('tenant:admin');
  const { entity, field, label } = catalogs[kind];
  const name = cleanName(field, rawName);
  const item = isUuid(id) ? ((await ctx.em.findOne(entity as typeof Role, { id: canonicalId(id) })) as unknown as Record<string, string> | null) : null;
  if (!item) throw new DomainError('NOT_FOUND', `No such ${label} in this tenant`);
  item[field] = name;
  try {
    await ctx.em.flush();
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) {
      throw new DomainError('BAD_USER_INPUT', `A ${label} named "${name}" already exists in this tenant`);
    }
    throw error;
  }
  return { id: item.id, name };
}

/**
 * Deletes one of the tenant's roles, groups or positions; members holding it lose it (the link rows cascade).
 * False when there is no such item in this tenant (another tenant's id included).
 */
export async function deleteCatalogItem(ctx: RequestContext, kind: CatalogKind, id: string): Promise<boolean> {
  const tenantId = ctx.requireTenantPermission('tenant:admin');
  if (!isUuid(id)) return false;
  const { entity } = catalogs[kind];
  const deleted = await ctx.em.nativeDelete(entity as typeof Role, { id: canonicalId(id), tenant: tenantId });
  return deleted > 0;
}
