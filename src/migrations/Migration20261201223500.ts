import { Migration } from '@mikro-orm/migrations';

// The email queue by tenant: only queued and in-flight emails, each tenant's in send order. The worker walks the
// tenants that have mail waiting and takes each one's first rows, without reading the whole queue per batch.
export class Migration20261201223500 extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create index "invitation_email_pending_idx" on "invitation" ("tenant_id", "email_next_attempt_at" nulls first, "id") where "email_status" in ('QUEUED', 'SENDING');`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "invitation_email_pending_idx";`);
  }
}
