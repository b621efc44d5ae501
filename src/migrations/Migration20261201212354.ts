import { Migration } from '@mikro-orm/migrations';

// SCIM provisioning: per-tenant SCIM tokens (hashed), and the identity provider's externalId and displayName on members.

export class Migration20261201212354 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "scim_token" ("id" uuid not null, "tenant_id" uuid not null, "description" text null, "secret_hash" text not null, "created_at" timestamptz not null, "last_used_at" timestamptz null, "revoked_at" timestamptz null, constraint "scim_token_pkey" primary key ("id"));`);
    this.addSql(`create index "scim_token_tenant_created_idx" on "scim_token" ("tenant_id", "created_at");`);

    this.addSql(`alter table "scim_token" add constraint "scim_token_tenant_id_foreign" foreign key ("tenant_id") references "tenant" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "membership" add column "display_name" text null, add column "external_id" text null;`);
    this.addSql(`create unique index "membership_tenant_external_id_unique" on "membership" ("tenant_id", "external_id") where "external_id" is not null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "scim_token" cascade;`);

    this.addSql(`drop index if exists "membership_tenant_external_id_unique";`);
    this.addSql(`alter table "membership" drop column "display_name", drop column "external_id";`);
  }

}
