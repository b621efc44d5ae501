import { Migration } from '@mikro-orm/migrations';

// Members and invitation-extension branches were merged: the status check becomes the final MemberStatus set (REVOKED rows were made REMOVED earlier).

export class Migration20261201201718 extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "membership" drop constraint if exists "membership_status_check";`);

    this.addSql(`alter table "membership" add constraint "membership_status_check" check("status" in ('INVITED', 'ACTIVE', 'SUSPENDED', 'REMOVED'));`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "membership" drop constraint if exists "membership_status_check";`);

    this.addSql(`alter table "membership" add constraint "membership_status_check" check("status" in ('INVITED', 'ACTIVE', 'REVOKED', 'SUSPENDED', 'REMOVED'));`);
  }

}
