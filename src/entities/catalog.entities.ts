import { randomUUID } from 'node:crypto';
import { Entity, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import type { Opt } from '@mikro-orm/core';
import { TenantScoped } from './tenant-scoped';

// Names are unique per tenant regardless of case, because `role` is looked up case-insensitively.
// (tenant, id) is unique as the target of the tenant-bound foreign keys of membership links (src/db/tenant-schema.ts).

@Entity({ tableName: 'role' })
@Unique({
  name: 'role_tenant_name_unique',
  expression: 'create unique index "role_tenant_name_unique" on "role" ("tenant_id", lower("name"))',
})
@Unique({ name: 'role_tenant_id_id_unique', properties: ['tenant', 'id'] })
export class Role extends TenantScoped {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'text' })
  name!: string;

  @Property({ type: 'datetime' })
  createdAt: Opt<Date> = new Date();
}

@Entity({ tableName: 'tenant_group' })
@Unique({
  name: 'tenant_group_tenant_name_unique',
  expression: 'create unique index "tenant_group_tenant_name_unique" on "tenant_group" ("tenant_id", lower("name"))',
})
@Unique({ name: 'tenant_group_tenant_id_id_unique', properties: ['tenant', 'id'] })
export class Group extends TenantScoped {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'text' })
  name!: string;

  @Property({ type: 'datetime' })
  createdAt: Opt<Date> = new Date();
}

@Entity({ tableName: 'position' })
@Unique({
  name: 'position_tenant_title_unique',
  expression: 'create unique index "position_tenant_title_unique" on "position" ("tenant_id", lower("title"))',
})
@Unique({ name: 'position_tenant_id_id_unique', properties: ['tenant', 'id'] })
export class Position extends TenantScoped {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'text' })
  title!: string;

  @Property({ type: 'datetime' })
  createdAt: Opt<Date> = new Date();
}
