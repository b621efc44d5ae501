import { Migration } from '@mikro-orm/migrations';

export class Migration20261121211327 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "dev_mail" ("id" uuid not null, "to" text not null, "from" text not null, "subject" text not null, "html" text not null, "text" text not null, "invitation_id" uuid null, "claim_id" uuid null, "created_at" timestamptz not null, constraint "dev_mail_pkey" primary key ("id"));`);
    this.addSql(`create index "dev_mail_claim_idx" on "dev_mail" ("claim_id");`);

    this.addSql(`create table "tenant" ("id" uuid not null, "name" text not null, "created_at" timestamptz not null, constraint "tenant_pkey" primary key ("id"));`);

    this.addSql(`create table "role" ("id" uuid not null, "tenant_id" uuid not null, "name" text not null, "created_at" timestamptz not null, constraint "role_pkey" primary key ("id"));`);
    this.addSql(`create unique index "role_tenant_name_unique" on "role" ("tenant_id", lower("name"));`);

    this.addSql(`create table "position" ("id" uuid not null, "tenant_id" uuid not null, "title" text not null, "created_at" timestamptz not null, constraint "position_pkey" primary key ("id"));`);
    this.addSql(`create unique index "position_tenant_title_unique" on "position" ("tenant_id", lower("title"));`);

    this.addSql(`create table "idempotency_record" ("id" uuid not null, "tenant_id" uuid not null, "key" text not null, "request_hash" text not null, "outcome" jsonb not null, "created_at" timestamptz not null, constraint "idempotency_record_pkey" primary key ("id"));`);
    this.addSql(`alter table "idempotency_record" add constraint "idempotency_record_tenant_key_unique" unique ("tenant_id", "key");`);

    this.addSql(`create table "tenant_group" ("id" uuid not null, "tenant_id" uuid not null, "name" text not null, "created_at" timestamptz not null, constraint "tenant_group_pkey" primary key ("id"));`);
    this.addSql(`create unique index "tenant_group_tenant_name_unique" on "tenant_group" ("tenant_id", lower("name"));`);

    this.addSql(`create table "users" ("id" uuid not null, "email" text not null, "email_normalized" text not null, "first_name" text null, "last_name" text null, "created_at" timestamptz not null, constraint "users_pkey" primary key ("id"));`);
    this.addSql(`alter table "users" add constraint "users_email_normalized_unique" unique ("email_normalized");`);

    this.addSql(`create table "membership" ("id" uuid not null, "tenant_id" uuid not null, "user_id" uuid not null, "status" text check ("status" in ('INVITED', 'ACTIVE', 'REVOKED')) not null default 'INVITED', "nick_name" text null, "user_type" text null, "ipi" text null, "phone" text null, "country" text null, "manager_id" uuid null, "invited_by" text null, "created_at" timestamptz not null, "activated_at" timestamptz null, constraint "membership_pkey" primary key ("id"));`);
    this.addSql(`alter table "membership" add constraint "membership_tenant_user_unique" unique ("tenant_id", "user_id");`);

    this.addSql(`create table "membership_role" ("membership_id" uuid not null, "role_id" uuid not null, "tenant_id" uuid not null, constraint "membership_role_pkey" primary key ("membership_id", "role_id"));`);

    this.addSql(`create table "membership_position" ("membership_id" uuid not null, "position_id" uuid not null, "tenant_id" uuid not null, constraint "membership_position_pkey" primary key ("membership_id", "position_id"));`);

    this.addSql(`create table "membership_group" ("membership_id" uuid not null, "group_id" uuid not null, "tenant_id" uuid not null, "is_primary_org" boolean not null default false, constraint "membership_group_pkey" primary key ("membership_id", "group_id"));`);
    this.addSql(`create unique index "membership_group_one_primary" on "membership_group" ("membership_id") where "is_primary_org";`);

    this.addSql(`create table "invitation" ("id" uuid not null, "tenant_id" uuid not null, "membership_id" uuid not null, "email" text not null, "token_hash" text not null, "status" text check ("status" in ('PENDING', 'ACCEPTED', 'REVOKED')) not null default 'PENDING', "expires_at" timestamptz not null, "redirect_url" text null, "message" text null, "invited_by" text null, "email_status" text check ("email_status" in ('NOT_REQUESTED', 'QUEUED', 'SENDING', 'SENT', 'FAILED')) not null default 'NOT_REQUESTED', "email_error" text null, "email_attempts" int not null default 0, "email_next_attempt_at" timestamptz null, "email_claim_id" uuid null, "email_claimed_at" timestamptz null, "provider_message_id" text null, "sent_at" timestamptz null, "created_at" timestamptz not null, "accepted_at" timestamptz null, "revoked_at" timestamptz null, constraint "invitation_pkey" primary key ("id"));`);
    this.addSql(`alter table "invitation" add constraint "invitation_membership_unique" unique ("membership_id");`);
    this.addSql(`alter table "invitation" add constraint "invitation_token_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "invitation_email_queue_idx" on "invitation" ("email_status", "email_next_attempt_at");`);
    this.addSql(`create index "invitation_tenant_created_idx" on "invitation" ("tenant_id", "created_at", "id");`);

    this.addSql(`alter table "role" add constraint "role_tenant_id_foreign" foreign key ("tenant_id") references "tenant" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "position" add constraint "position_tenant_id_foreign" foreign key ("tenant_id") references "tenant" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "idempotency_record" add constraint "idempotency_record_tenant_id_foreign" foreign key ("tenant_id") references "tenant" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "tenant_group" add constraint "tenant_group_tenant_id_foreign" foreign key ("tenant_id") references "tenant" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "membership" add constraint "membership_tenant_id_foreign" foreign key ("tenant_id") references "tenant" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "membership" add constraint "membership_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "membership" add constraint "membership_manager_id_foreign" foreign key ("manager_id") references "membership" ("id") on update cascade on delete set null;`);

    this.addSql(`alter table "membership_role" add constraint "membership_role_membership_id_foreign" foreign key ("membership_id") references "membership" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "membership_role" add constraint "membership_role_role_id_foreign" foreign key ("role_id") references "role" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "membership_role" add constraint "membership_role_tenant_id_foreign" foreign key ("tenant_id") references "tenant" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "membership_position" add constraint "membership_position_membership_id_foreign" foreign key ("membership_id") references "membership" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "membership_position" add constraint "membership_position_position_id_foreign" foreign key ("position_id") references "position" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "membership_position" add constraint "membership_position_tenant_id_foreign" foreign key ("tenant_id") references "tenant" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "membership_group" add constraint "membership_group_membership_id_foreign" foreign key ("membership_id") references "membership" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "membership_group" add constraint "membership_group_group_id_foreign" foreign key ("group_id") references "tenant_group" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "membership_group" add constraint "membership_group_tenant_id_foreign" foreign key ("tenant_id") references "tenant" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "invitation" add constraint "invitation_tenant_id_foreign" foreign key ("tenant_id") references "tenant" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "invitation" add constraint "invitation_membership_id_foreign" foreign key ("membership_id") references "membership" ("id") on update cascade on delete cascade;`);
  }

}
