import { Migration } from '@mikro-orm/migrations';

export class Migration20261121213208 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "invitation" add column "email_requested_at" timestamptz null;`);
    this.addSql(`create index "invitation_tenant_email_requested_idx" on "invitation" ("tenant_id", "email_requested_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "invitation_tenant_email_requested_idx";`);
    this.addSql(`alter table "invitation" drop column "email_requested_at";`);
  }

}
