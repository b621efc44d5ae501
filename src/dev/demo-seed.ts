import type { MikroORM } from '@mikro-orm/postgresql';
import { Group, Position, Role, Tenant } from '../entities';

export const DEMO_TENANT_NAME = 'Demo Workspace';

/** Creates the demo tenant once (first start on an empty database); returns it either way. */
export async function ensureDemoTenant(orm: MikroORM): Promise<{ tenant: Tenant; created: boolean }> {
  const em = orm.em.fork();
  const existing = await em.findOne(Tenant, { name: DEMO_TENANT_NAME }, { orderBy: { createdAt: 'asc' } });
  if (existing) return { tenant: existing, created: false };
  const tenant = em.create(Tenant, { name: DEMO_TENANT_NAME });
  for (const name of ['Admin', 'Member']) em.create(Role, { tenant, name });
  for (const name of ['Engineering', 'Sales']) em.create(Group, { tenant, name });
  for (const title of ['Software Engineer', 'Account Executive']) em.create(Position, { tenant, title });
  await em.flush();
  return { tenant, created: true };
}
