import { Migration } from '@mikro-orm/migrations';

export class Migration20261201193506 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "membership" drop constraint if exists "membership_status_check";`);
    // MemberStatus has no REVOKED: a member whose invitation was revoked is REMOVED (and can be invited again).
    this.addSql(`update "membership" set "status" = 'REMOVED' where "status" = 'REVOKED';`);

    this.addSql(`create index "users_email_normalized_prefix_idx" on "users" ("email_normalized" text_pattern_ops);`);

    this.addSql(`alter table "membership" add constraint "membership_status_check" check("status" in ('INVITED', 'ACTIVE', 'SUSPENDED', 'REMOVED'));`);
    this.addSql(`create index "membership_tenant_last_name_prefix_idx" on "membership" ("tenant_id", lower("last_name") text_pattern_ops);`);
    this.addSql(`create index "membership_tenant_first_name_prefix_idx" on "membership" ("tenant_id", lower("first_name") text_pattern_ops);`);
    this.addSql(`create index "membership_tenant_status_created_idx" on "membership" ("tenant_id", "status", "created_at", "id");`);
    this.addSql(`create index "membership_tenant_created_idx" on "membership" ("tenant_id", "created_at", "id");`);

    this.addSql(`create index "membership_role_role_idx" on "membership_role" ("tenant_id", "role_id", "membership_id");`);

    this.addSql(`create index "membership_position_position_idx" on "membership_position" ("tenant_id", "position_id", "membership_id");`);

    this.addSql(`create index "membership_group_group_idx" on "membership_group" ("tenant_id", "group_id", "membership_id");`);

    this.addSql(`create index "invitation_tenant_membership_idx" on "invitation" ("tenant_id", "membership_id", "created_at");`);
    this.addSql(`create index "invitation_tenant_email_idx" on "invitation" ("tenant_id", lower("email"), "created_at", "id");`);
    this.addSql(`create index "invitation_tenant_status_created_idx" on "invitation" ("tenant_id", "status", "created_at", "id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "membership" drop constraint if exists "membership_status_check";`);
    this.addSql(`update "membership" set "status" = case "status" when 'REMOVED' then 'REVOKED' when 'SUSPENDED' then 'ACTIVE' else "status" end where "status" in ('REMOVED', 'SUSPENDED');`);

    this.addSql(`drop index "invitation_tenant_membership_idx";`);
    this.addSql(`drop index "invitation_tenant_email_idx";`);
    this.addSql(`drop index "invitation_tenant_status_created_idx";`);

    this.addSql(`drop index "membership_tenant_last_name_prefix_idx";`);
    this.addSql(`drop index "membership_tenant_first_name_prefix_idx";`);
    this.addSql(`drop index "membership_tenant_status_created_idx";`);
    this.addSql(`drop index "membership_tenant_created_idx";`);

    this.addSql(`alter table "membership" add constraint "membership_status_check" check("status" in ('INVITED', 'ACTIVE', 'REVOKED'));`);

    this.addSql(`drop index "membership_group_group_idx";`);

    this.addSql(`drop index "membership_position_position_idx";`);

    this.addSql(`drop index "membership_role_role_idx";`);

    this.addSql(`drop index "users_email_normalized_prefix_idx";`);
  }

}
