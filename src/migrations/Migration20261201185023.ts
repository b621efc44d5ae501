import { Migration } from '@mikro-orm/migrations';

/**
 * Tenant-bound foreign keys (src/db/tenant-schema.ts): links, invitations and managers reference their targets by
 * (tenant_id, id), so PostgreSQL refuses a row pointing into another tenant. Generated, then reordered by hand:
 * every (tenant_id, id) unique constraint comes before the keys that reference it (the membership one was after
 * the manager key). Existing rows satisfy the keys, as the app always wrote both ids from one tenant.
 */
export class Migration20261201185023 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "membership" drop constraint "membership_manager_id_foreign";`);

    this.addSql(`alter table "membership_role" drop constraint "membership_role_membership_id_foreign";`);
    this.addSql(`alter table "membership_role" drop constraint "membership_role_role_id_foreign";`);

    this.addSql(`alter table "membership_position" drop constraint "membership_position_membership_id_foreign";`);
    this.addSql(`alter table "membership_position" drop constraint "membership_position_position_id_foreign";`);

    this.addSql(`alter table "membership_group" drop constraint "membership_group_group_id_foreign";`);
    this.addSql(`alter table "membership_group" drop constraint "membership_group_membership_id_foreign";`);

    this.addSql(`alter table "invitation" drop constraint "invitation_membership_id_foreign";`);

    this.addSql(`alter table "membership" add constraint "membership_tenant_id_id_unique" unique ("tenant_id", "id");`);
    this.addSql(`alter table "role" add constraint "role_tenant_id_id_unique" unique ("tenant_id", "id");`);

    this.addSql(`alter table "position" add constraint "position_tenant_id_id_unique" unique ("tenant_id", "id");`);

    this.addSql(`alter table "tenant_group" add constraint "tenant_group_tenant_id_id_unique" unique ("tenant_id", "id");`);

    this.addSql(`alter table "membership" add constraint "membership_manager_id_tenant_foreign" foreign key ("tenant_id", "manager_id") references "membership" ("tenant_id", "id") on update cascade on delete set null (manager_id);`);

    this.addSql(`alter table "membership_role" add constraint "membership_role_membership_id_tenant_foreign" foreign key ("tenant_id", "membership_id") references "membership" ("tenant_id", "id") on update cascade on delete cascade;`);
    this.addSql(`alter table "membership_role" add constraint "membership_role_role_id_tenant_foreign" foreign key ("tenant_id", "role_id") references "role" ("tenant_id", "id") on update cascade on delete cascade;`);

    this.addSql(`alter table "membership_position" add constraint "membership_position_membership_id_tenant_foreign" foreign key ("tenant_id", "membership_id") references "membership" ("tenant_id", "id") on update cascade on delete cascade;`);
    this.addSql(`alter table "membership_position" add constraint "membership_position_position_id_tenant_foreign" foreign key ("tenant_id", "position_id") references "position" ("tenant_id", "id") on update cascade on delete cascade;`);

    this.addSql(`alter table "membership_group" add constraint "membership_group_membership_id_tenant_foreign" foreign key ("tenant_id", "membership_id") references "membership" ("tenant_id", "id") on update cascade on delete cascade;`);
    this.addSql(`alter table "membership_group" add constraint "membership_group_group_id_tenant_foreign" foreign key ("tenant_id", "group_id") references "tenant_group" ("tenant_id", "id") on update cascade on delete cascade;`);

    this.addSql(`alter table "invitation" add constraint "invitation_membership_id_tenant_foreign" foreign key ("tenant_id", "membership_id") references "membership" ("tenant_id", "id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "invitation" drop constraint "invitation_membership_id_tenant_foreign";`);

    this.addSql(`alter table "membership" drop constraint "membership_manager_id_tenant_foreign";`);

    this.addSql(`alter table "membership_group" drop constraint "membership_group_membership_id_tenant_foreign";`);
    this.addSql(`alter table "membership_group" drop constraint "membership_group_group_id_tenant_foreign";`);

    this.addSql(`alter table "membership_position" drop constraint "membership_position_membership_id_tenant_foreign";`);
    this.addSql(`alter table "membership_position" drop constraint "membership_position_position_id_tenant_foreign";`);

    this.addSql(`alter table "membership_role" drop constraint "membership_role_membership_id_tenant_foreign";`);
    this.addSql(`alter table "membership_role" drop constraint "membership_role_role_id_tenant_foreign";`);

    this.addSql(`alter table "invitation" add constraint "invitation_membership_id_foreign" foreign key ("membership_id") references "membership" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "membership" drop constraint "membership_tenant_id_id_unique";`);

    this.addSql(`alter table "membership" add constraint "membership_manager_id_foreign" foreign key ("manager_id") references "membership" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "membership_group" add constraint "membership_group_group_id_foreign" foreign key ("group_id") references "tenant_group" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "membership_group" add constraint "membership_group_membership_id_foreign" foreign key ("membership_id") references "membership" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "membership_position" add constraint "membership_position_membership_id_foreign" foreign key ("membership_id") references "membership" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "membership_position" add constraint "membership_position_position_id_foreign" foreign key ("position_id") references "position" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "membership_role" add constraint "membership_role_membership_id_foreign" foreign key ("membership_id") references "membership" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "membership_role" add constraint "membership_role_role_id_foreign" foreign key ("role_id") references "role" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "position" drop constraint "position_tenant_id_id_unique";`);

    this.addSql(`alter table "role" drop constraint "role_tenant_id_id_unique";`);

    this.addSql(`alter table "tenant_group" drop constraint "tenant_group_tenant_id_id_unique";`);
  }

}
