import type { EntityManager } from '@mikro-orm/postgresql';
import { pgArrayLiteral } from './pg-array';
import type { MembershipReinvite } from '../services/bulk-invite/build-rows';

/**
 * People invited (or provisioned by SCIM) again into a tenant they had left (revoked or removed): their membership row is reused,
 * its details replaced and its role, group and position links dropped (the new ones are inserted next).
 * One UPDATE and one DELETE per link table, whatever the number of people.
 */
export async function reinviteMemberships(
  tx: EntityManager,
  tenantId: string,
  rows: readonly MembershipReinvite[],
  /** SCIM provisions people straight into ACTIVE (no invitation); invites make them INVITED. */
  status: 'INVITED' | 'ACTIVE' = 'INVITED',
): Promise<void> {
  if (!rows.length) return;
  const col = <K extends keyof MembershipReinvite>(key: K) => pgArrayLiteral(rows.map((r) => (r[key] ?? null) as string | null));
  const metadataCol = pgArrayLiteral(rows.map((r) => (r.metadata ? JSON.stringify(r.metadata) : null)));
  await tx.execute(
    `update membership m set status = ?, activated_at = case when ?::text = 'ACTIVE' then now() else null end,
       first_name = v.first_name, last_name = v.last_name, nick_name = v.nick_name, user_type = v.user_type,
       ipi = v.ipi, phone = v.phone, country = v.country, manager_id = v.manager_id, invited_by = v.invited_by,
       metadata = v.metadata::jsonb
     from unnest(?::uuid[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::uuid[], ?::text[], ?::text[])
       as v(id, first_name, last_name, nick_name, user_type, ipi, phone, country, manager_id, invited_by, metadata)
     where m.id = v.id and m.tenant_id = ?`,
    [status, status, col('id'), col('firstName'), col('lastName'), col('nickName'), col('userType'), col('ipi'), col('phone'), col('country'), col('manager'), col('invitedBy'), metadataCol, tenantId],
    'run',
  );
  const ids = pgArrayLiteral(rows.map((r) => r.id));
  // A membership that holds no seat has no usable invitation; should one still be pending (a removal that left
  // it), it is revoked here so that the new invitation is the person's only pending one.
  await tx.execute(
    `update invitation set status = 'REVOKED', revoked_at = now(),
       email_status = case when email_status = 'QUEUED' then 'NOT_REQUESTED' else email_status end
     where tenant_id = ? and membership_id = any(?::uuid[]) and status = 'PENDING'`,
    [tenantId, ids],
    'run',
  );
  for (const table of ['membership_role', 'membership_group', 'membership_position']) {
    await tx.execute(`delete from ${table} where tenant_id = ? and membership_id = any(?::uuid[])`, [tenantId, ids], 'run');
  }
}
