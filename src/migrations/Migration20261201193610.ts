import { Migration } from '@mikro-orm/migrations';

/** Per-tenant rate-limit counters shared by every API process (src/http/rate-limiter.ts). Generated. */
export class Migration20261201193610 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "rate_limit_usage" ("tenant_id" uuid not null, "bucket" varchar(32) not null, "window_start" timestamptz not null, "used" int not null, constraint "rate_limit_usage_pkey" primary key ("tenant_id", "bucket", "window_start"));`);

    this.addSql(`alter table "rate_limit_usage" add constraint "rate_limit_usage_tenant_id_foreign" foreign key ("tenant_id") references "tenant" ("id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "rate_limit_usage" cascade;`);
  }

}
