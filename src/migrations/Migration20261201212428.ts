import { Migration } from '@mikro-orm/migrations';

export class Migration20261201212428 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "invite_import" ("id" uuid not null, "tenant_id" uuid not null, "status" text check ("status" in ('QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED')) not null default 'QUEUED', "format" text not null, "total_rows" int not null, "processed_rows" int not null default 0, "successful" int not null default 0, "failed" int not null default 0, "send_email" boolean not null, "redirect_url" text null, "message" text null, "invited_by" text not null, "idempotency_key" text null, "request_hash" text null, "cancel_requested" boolean not null default false, "error" text null, "created_at" timestamptz not null, "started_at" timestamptz null, "finished_at" timestamptz null, constraint "invite_import_pkey" primary key ("id"));`);
    this.addSql(`create unique index "invite_import_tenant_idempotency_key_unique" on "invite_import" ("tenant_id", "idempotency_key") where "idempotency_key" is not null;`);
    this.addSql(`create index "invite_import_tenant_created_idx" on "invite_import" ("tenant_id", "created_at", "id");`);
    this.addSql(`alter table "invite_import" add constraint "invite_import_tenant_id_unique" unique ("tenant_id", "id");`);

    this.addSql(`create table "invite_import_row" ("import_id" uuid not null, "row" int not null, "tenant_id" uuid not null, "line" int not null, "input" jsonb null, "outcome" text null, "email" text null, "code" text null, "message" text null, "user_id" uuid null, "invitation_id" uuid null, constraint "invite_import_row_pkey" primary key ("import_id", "row"));`);
    this.addSql(`create index "invite_import_row_pending_idx" on "invite_import_row" ("import_id", "row") where "outcome" is null;`);

    this.addSql(`create table "invite_import_claim" ("import_id" uuid not null, "key" text not null, "tenant_id" uuid not null, "first_index" int not null, constraint "invite_import_claim_pkey" primary key ("import_id", "key"));`);

    this.addSql(`alter table "invite_import" add constraint "invite_import_tenant_id_foreign" foreign key ("tenant_id") references "tenant" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "invite_import_row" add constraint "invite_import_row_tenant_id_foreign" foreign key ("tenant_id") references "tenant" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "invite_import_row" add constraint "invite_import_row_import_id_tenant_foreign" foreign key ("tenant_id", "import_id") references "invite_import" ("tenant_id", "id") on update cascade on delete cascade;`);

    this.addSql(`alter table "invite_import_claim" add constraint "invite_import_claim_tenant_id_foreign" foreign key ("tenant_id") references "tenant" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "invite_import_claim" add constraint "invite_import_claim_import_id_tenant_foreign" foreign key ("tenant_id", "import_id") references "invite_import" ("tenant_id", "id") on update cascade on delete cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "invite_import_row" drop constraint "invite_import_row_import_id_tenant_foreign";`);

    this.addSql(`alter table "invite_import_claim" drop constraint "invite_import_claim_import_id_tenant_foreign";`);

    this.addSql(`drop table if exists "invite_import" cascade;`);

    this.addSql(`drop table if exists "invite_import_row" cascade;`);

    this.addSql(`drop table if exists "invite_import_claim" cascade;`);
  }

}
