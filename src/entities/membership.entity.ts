import { randomUUID } from 'node:crypto';
import { Entity, Enum, Index, ManyToOne, PrimaryKey, PrimaryKeyProp, Property, Unique } from '@mikro-orm/core';
import type { Opt } from '@mikro-orm/core';
import { MembershipStatus } from './enums';
import { Group, Position, Role } from './catalog.entities';
import { TenantScoped } from './tenant-scoped';
import { User } from './user.entity';

/** A person in a tenant. Unique per (tenant, user): the backstop for concurrent invites. */
@Entity({ tableName: 'membership' })
@Unique({ name: 'membership_tenant_user_unique', properties: ['tenant', 'user'] })
// Target of the tenant-bound foreign keys of links, invitations and the manager (src/db/tenant-schema.ts).
@Unique({ name: 'membership_tenant_id_id_unique', properties: ['tenant', 'id'] })
// The members query: newest first, with or without a status; search is a prefix of a name (or of the email, on users).
@Index({ name: 'membership_tenant_created_idx', properties: ['tenant', 'createdAt', 'id'] })
@Index({ name: 'membership_tenant_status_created_idx', properties: ['tenant', 'status', 'createdAt', 'id'] })
@Index({
  name: 'membership_tenant_first_name_prefix_idx',
  expression:
    'create index "membership_tenant_first_name_prefix_idx" on "membership" ("tenant_id", lower("first_name") text_pattern_ops)',
})
@Index({
  name: 'membership_tenant_last_name_prefix_idx',
  expression:
    'create index "membership_tenant_last_name_prefix_idx" on "membership" ("tenant_id", lower("last_name") text_pattern_ops)',
})
// SCIM: the identity provider's id for this person, unique per tenant (filters by externalId use it).
@Unique({
  name: 'membership_tenant_external_id_unique',
  expression:
    'create unique index "membership_tenant_external_id_unique" on "membership" ("tenant_id", "external_id") where "external_id" is not null',
})
export class Membership extends TenantScoped {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => User, { deleteRule: 'cascade' })
  user!: User;

  @Enum({ items: () => MembershipStatus, type: 'text' })
  status: Opt<MembershipStatus> = MembershipStatus.INVITED;

  /** Names belong to the person's membership: each tenant sees only what it (or its callers) supplied. */
  @Property({ type: 'text', nullable: true })
  firstName?: string | null;

  @Property({ type: 'text', nullable: true })
  lastName?: string | null;

  @Property({ type: 'text', nullable: true })
  nickName?: string | null;

  /** SCIM `displayName` as the identity provider sent it (null: shown as the first and last names). */
  @Property({ type: 'text', nullable: true })
  displayName?: string | null;

  /** SCIM `externalId`: the identity provider's own id for this person in this tenant. */
  @Property({ type: 'text', nullable: true })
  externalId?: string | null;

  @Property({ type: 'text', nullable: true })
  userType?: string | null;

  @Property({ type: 'text', nullable: true })
  ipi?: string | null;

  /** E.164. */
  @Property({ type: 'text', nullable: true })
  phone?: string | null;

  /** ISO 3166-1 alpha-2. */
  @Property({ type: 'text', nullable: true })
  country?: string | null;

  @ManyToOne(() => Membership, { nullable: true, deleteRule: 'set null' })
  manager?: Membership | null;

  /** The caller's own data about this person (InviteUserInput.metadata): a JSON object of at most 4 KiB. */
  @Property({ type: 'jsonb', nullable: true })
  metadata?: Record<string, unknown> | null;

  /** `sub` of the token that invited this person. */
  @Property({ type: 'text', nullable: true })
  invitedBy?: string | null;

  @Property({ type: 'datetime' })
  createdAt: Opt<Date> = new Date();

  @Property({ type: 'datetime', nullable: true })
  activatedAt?: Date | null;
}

@Entity({ tableName: 'membership_role' })
// Members holding one role (the members filter) and the cascade when it is deleted.
@Index({ name: 'membership_role_role_idx', properties: ['tenant', 'role', 'membership'] })
export class MembershipRole extends TenantScoped {
  [PrimaryKeyProp]?: ['membership', 'role'];

  @ManyToOne(() => Membership, { primary: true, deleteRule: 'cascade' })
  membership!: Membership;

  @ManyToOne(() => Role, { primary: true, deleteRule: 'cascade' })
  role!: Role;
}

@Entity({ tableName: 'membership_group' })
// Members holding one group (the members filter) and the cascade when it is deleted.
@Index({ name: 'membership_group_group_idx', properties: ['tenant', 'group', 'membership'] })
@Index({
  name: 'membership_group_one_primary',
  expression:
    'create unique index "membership_group_one_primary" on "membership_group" ("membership_id") where "is_primary_org"',
})
export class MembershipGroup extends TenantScoped {
  [PrimaryKeyProp]?: ['membership', 'group'];

  @ManyToOne(() => Membership, { primary: true, deleteRule: 'cascade' })
  membership!: Membership;

  @ManyToOne(() => Group, { primary: true, deleteRule: 'cascade' })
  group!: Group;

  @Property({ type: 'boolean' })
  isPrimaryOrg: Opt<boolean> = false;
}

@Entity({ tableName: 'membership_position' })
// Members holding one position (the members filter) and the cascade when it is deleted.
@Index({ name: 'membership_position_position_idx', properties: ['tenant', 'position', 'membership'] })
export class MembershipPosition extends TenantScoped {
  [PrimaryKeyProp]?: ['membership', 'position'];

  @ManyToOne(() => Membership, { primary: true, deleteRule: 'cascade' })
  membership!: Membership;

  @ManyToOne(() => Position, { primary: true, deleteRule: 'cascade' })
  position!: Position;
}
