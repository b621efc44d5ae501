import { Migration } from '@mikro-orm/migrations';

export class Migration20261201184219 extends Migration {

  override async up(): Promise<void> {
    // Names move from the platform user to each of their memberships: a tenant sees only its own people's names.
    this.addSql(`alter table "membership" add column "first_name" text null, add column "last_name" text null;`);
    this.addSql(`update "membership" m set "first_name" = u."first_name", "last_name" = u."last_name" from "users" u where u."id" = m."user_id";`);
    this.addSql(`alter table "users" drop column "first_name", drop column "last_name";`);

    this.addSql(`alter table "invitation" drop constraint "invitation_membership_unique";`);

    this.addSql(`create unique index "invitation_one_pending_per_membership" on "invitation" ("membership_id") where "status" = 'PENDING';`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "invitation_one_pending_per_membership";`);

    this.addSql(`alter table "invitation" add constraint "invitation_membership_unique" unique ("membership_id");`);

    this.addSql(`alter table "users" add column "first_name" text null, add column "last_name" text null;`);
    this.addSql(`update "users" u set "first_name" = m."first_name", "last_name" = m."last_name" from (select distinct on ("user_id") * from "membership" order by "user_id", "created_at") m where m."user_id" = u."id";`);
    this.addSql(`alter table "membership" drop column "first_name", drop column "last_name";`);
  }

}
