import { Migration } from '@mikro-orm/migrations';

export class Migration20261201193536 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "membership" drop constraint if exists "membership_status_check";`);

    this.addSql(`alter table "tenant" add column "max_members" int null, add column "allowed_email_domains" text[] not null default '{}';`);

    this.addSql(`alter table "membership" add column "metadata" jsonb null;`);
    this.addSql(`alter table "membership" add constraint "membership_status_check" check("status" in ('INVITED', 'ACTIVE', 'REVOKED', 'SUSPENDED', 'REMOVED'));`);

    this.addSql(`alter table "invitation" add column "batch_id" uuid null, add column "locale" text null, add column "metadata" jsonb null;`);
    this.addSql(`create index "invitation_tenant_batch_idx" on "invitation" ("tenant_id", "batch_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "membership" drop constraint if exists "membership_status_check";`);

    this.addSql(`drop index "invitation_tenant_batch_idx";`);
    this.addSql(`alter table "invitation" drop column "batch_id", drop column "locale", drop column "metadata";`);

    this.addSql(`alter table "membership" drop column "metadata";`);

    this.addSql(`alter table "membership" add constraint "membership_status_check" check("status" in ('INVITED', 'ACTIVE', 'REVOKED'));`);

    this.addSql(`alter table "tenant" drop column "max_members", drop column "allowed_email_domains";`);
  }

}
