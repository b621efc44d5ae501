import { Migration } from '@mikro-orm/migrations';

// Events, webhook endpoints and deliveries (issue 15); EmailStatus DELIVERED and BOUNCED; the inviter's name.
export class Migration20261201214110 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "event" ("id" uuid not null, "tenant_id" uuid not null, "seq" bigserial, "type" text not null, "occurred_at" timestamptz not null, "data" jsonb not null, "ordering_key" text null, constraint "event_pkey" primary key ("id"));`);
    this.addSql(`create index "event_tenant_type_seq_idx" on "event" ("tenant_id", "type", "seq");`);
    this.addSql(`create index "event_tenant_seq_idx" on "event" ("tenant_id", "seq");`);
    this.addSql(`alter table "event" add constraint "event_tenant_id_id_unique" unique ("tenant_id", "id");`);

    this.addSql(`create table "webhook_endpoint" ("id" uuid not null, "tenant_id" uuid not null, "url" text not null, "event_types" text[] not null, "description" text null, "enabled" boolean not null default true, "disabled_reason" text null, "secret" text not null, "previous_secret" text null, "previous_secret_expires_at" timestamptz null, "failing_since" timestamptz null, "created_at" timestamptz not null, constraint "webhook_endpoint_pkey" primary key ("id"));`);
    this.addSql(`create index "webhook_endpoint_tenant_created_idx" on "webhook_endpoint" ("tenant_id", "created_at", "id");`);
    this.addSql(`alter table "webhook_endpoint" add constraint "webhook_endpoint_tenant_id_id_unique" unique ("tenant_id", "id");`);

    this.addSql(`create table "webhook_delivery" ("id" uuid not null, "tenant_id" uuid not null, "endpoint_id" uuid not null, "event_id" uuid not null, "event_seq" bigint not null, "ordering_key" text null, "status" text check ("status" in ('PENDING', 'SUCCEEDED', 'FAILED')) not null default 'PENDING', "attempts" int not null default 0, "next_attempt_at" timestamptz not null, "last_response_status" int null, "last_error" text null, "delivered_at" timestamptz null, "created_at" timestamptz not null, constraint "webhook_delivery_pkey" primary key ("id"));`);
    this.addSql(`create index "webhook_delivery_pending_key_idx" on "webhook_delivery" ("endpoint_id", "ordering_key", "event_seq") where "status" = 'PENDING';`);
    this.addSql(`create index "webhook_delivery_pending_idx" on "webhook_delivery" ("endpoint_id", "event_seq") where "status" = 'PENDING';`);
    this.addSql(`alter table "webhook_delivery" add constraint "webhook_delivery_endpoint_event_unique" unique ("endpoint_id", "event_id");`);

    this.addSql(`alter table "event" add constraint "event_tenant_id_foreign" foreign key ("tenant_id") references "tenant" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "webhook_endpoint" add constraint "webhook_endpoint_tenant_id_foreign" foreign key ("tenant_id") references "tenant" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "webhook_delivery" add constraint "webhook_delivery_tenant_id_foreign" foreign key ("tenant_id") references "tenant" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "webhook_delivery" add constraint "webhook_delivery_endpoint_id_tenant_foreign" foreign key ("tenant_id", "endpoint_id") references "webhook_endpoint" ("tenant_id", "id") on update cascade on delete cascade;`);
    this.addSql(`alter table "webhook_delivery" add constraint "webhook_delivery_event_id_tenant_foreign" foreign key ("tenant_id", "event_id") references "event" ("tenant_id", "id") on update cascade on delete cascade;`);

    this.addSql(`alter table "invitation" drop constraint if exists "invitation_email_status_check";`);

    this.addSql(`alter table "invitation" add column "inviter_name" text null, add column "expiry_recorded_at" timestamptz null;`);
    this.addSql(`alter table "invitation" add constraint "invitation_email_status_check" check("email_status" in ('NOT_REQUESTED', 'QUEUED', 'SENDING', 'SENT', 'FAILED', 'DELIVERED', 'BOUNCED'));`);
    // Invitations that expired before the event log existed get no `invitation.expired` event now (written by hand).
    this.addSql(`update "invitation" set "expiry_recorded_at" = "expires_at" where "status" = 'PENDING' and "expires_at" <= now();`);
    this.addSql(`create index "invitation_expiry_sweep_idx" on "invitation" ("expires_at") where "status" = 'PENDING' and "expiry_recorded_at" is null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "webhook_delivery" drop constraint "webhook_delivery_event_id_tenant_foreign";`);

    this.addSql(`alter table "webhook_delivery" drop constraint "webhook_delivery_endpoint_id_tenant_foreign";`);

    this.addSql(`drop table if exists "event" cascade;`);

    this.addSql(`drop table if exists "webhook_endpoint" cascade;`);

    this.addSql(`drop table if exists "webhook_delivery" cascade;`);

    this.addSql(`alter table "invitation" drop constraint if exists "invitation_email_status_check";`);

    this.addSql(`drop index "invitation_expiry_sweep_idx";`);
    this.addSql(`alter table "invitation" drop column "inviter_name", drop column "expiry_recorded_at";`);

    this.addSql(`alter table "invitation" add constraint "invitation_email_status_check" check("email_status" in ('NOT_REQUESTED', 'QUEUED', 'SENDING', 'SENT', 'FAILED'));`);
  }

}
