import { Entity, ManyToOne, PrimaryKey, PrimaryKeyProp, Property } from '@mikro-orm/core';
import { Tenant } from './tenant.entity';

/** Invitation emails a tenant asked for in one clock hour, against EMAILS_PER_TENANT_PER_HOUR. */
@Entity({ tableName: 'email_quota' })
export class EmailQuota {
  [PrimaryKeyProp]?: ['tenant', 'windowStart'];

  @ManyToOne(() => Tenant, { primary: true, deleteRule: 'cascade' })
  tenant!: Tenant;

  @PrimaryKey({ type: 'datetime' })
  windowStart!: Date;

  @Property({ type: 'integer' })
  used!: number;
}
