import { Migration } from '@mikro-orm/migrations';

export class Migration20261201193346 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "idempotency_record" add column "outcome_gzip" bytea null;`);
    this.addSql(`alter table "idempotency_record" alter column "outcome" type jsonb using ("outcome"::jsonb);`);
    this.addSql(`alter table "idempotency_record" alter column "outcome" drop not null;`);

    this.addSql(`alter table "invitation" add column "last_resent_at" timestamptz null, add column "resend_window_start" timestamptz null, add column "resends_in_window" int null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "idempotency_record" drop column "outcome_gzip";`);

    this.addSql(`alter table "idempotency_record" alter column "outcome" type jsonb using ("outcome"::jsonb);`);
    this.addSql(`alter table "idempotency_record" alter column "outcome" set not null;`);

    this.addSql(`alter table "invitation" drop column "last_resent_at", drop column "resend_window_start", drop column "resends_in_window";`);
  }

}
