import { Migration } from '@mikro-orm/migrations';

export class Migration20261121215811 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "email_quota" ("tenant_id" uuid not null, "window_start" timestamptz not null, "used" int not null, constraint "email_quota_pkey" primary key ("tenant_id", "window_start"));`);

    this.addSql(`alter table "email_quota" add constraint "email_quota_tenant_id_foreign" foreign key ("tenant_id") references "tenant" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "email_quota" cascade;`);
  }

}
