import type { EntityManager } from '@mikro-orm/postgresql';
import { Membership, SEAT_HOLDING_STATUSES } from '../entities';
import { ConcurrentChangeError } from './errors';

/** Seats held in the tenant now: INVITED + ACTIVE + SUSPENDED memberships. */
export function countSeats(em: EntityManager, tenantId: string): Promise<number> {
  return em.count(Membership, { tenant: tenantId, status: { $in: [...SEAT_HOLDING_STATUSES] } });
}

export interface SeatCheck {
  /** The limit and the seats held that the decision was based on. */
  assumed: { maxMembers: number | null; used: number };
  /** How many new seats the decision hands out (every invited person takes one). */
  taking: number;
  /** Whether the decision refused someone with SEAT_LIMIT_REACHED. */
  refusedAny: boolean;
}

/**
 * Inside the write transaction: locks the tenant's row and confirms the seat decision still holds, else throws
 * ConcurrentChangeError so the batch is decided again. Bulk invites of a tenant with a limit queue on the row
 * (FOR NO KEY UPDATE) and each re-counts after the previous one committed, so concurrent requests never exceed it.
 * Not FOR UPDATE: that would also wait for every open transaction that inserted a row referencing the tenant
 * (the foreign key check holds FOR KEY SHARE), such as an import upload streaming for minutes.
 * Without a limit they only share the row (FOR SHARE), which keeps them concurrent while still ordering them
 * against updateTenantSettings (whose UPDATE needs the row exclusively): a limit set meanwhile is seen here.
 */
export async function confirmSeats(tx: EntityManager, tenantId: string, check: SeatCheck): Promise<void> {
  const limited = check.assumed.maxMembers !== null;
  const rows = await tx.execute<Array<{ max_members: number | null }>>(
    `select max_members from tenant where id = ? for ${limited ? 'no key update' : 'share'}`,
    [tenantId],
  );
  const maxMembers = rows[0]?.max_members ?? null;
  if (maxMembers !== check.assumed.maxMembers) throw new ConcurrentChangeError('The tenant’s seat limit changed');
  if (maxMembers === null) return;
  const used = await countSeats(tx, tenantId);
  const left = Math.max(0, maxMembers - used);
  const assumedLeft = Math.max(0, maxMembers - check.assumed.used);
  // Fewer seats than handed out would exceed the limit; more than assumed would refuse people who now fit.
  if (left < check.taking || (check.refusedAny && left > assumedLeft)) throw new ConcurrentChangeError('Seats changed');
}

/**
 * For a write that gives one person a seat outside a bulk invite (resending a revoked invitation invites the
 * person again): locks the tenant's row when it has a limit, first, in the same order as bulk invites (tenant
 * row, then people), and returns a check to run once the write knows it takes a seat.
 */
export async function lockSeatsForOne(tx: EntityManager, tenantId: string): Promise<{ hasFreeSeat(): Promise<boolean>; freeSeats(): Promise<number | null> }> {
  const rows = await tx.execute<Array<{ max_members: number | null }>>('select max_members from tenant where id = ?', [tenantId]);
  if ((rows[0]?.max_members ?? null) === null) return { hasFreeSeat: async () => true, freeSeats: async () => null };
  const locked = await tx.execute<Array<{ max_members: number | null }>>('select max_members from tenant where id = ? for no key update', [tenantId]);
  const maxMembers = locked[0]?.max_members ?? null;
  /** Null: no limit. */
  const freeSeats = async () => (maxMembers === null ? null : Math.max(0, maxMembers - (await countSeats(tx, tenantId))));
  return { hasFreeSeat: async () => ((await freeSeats()) ?? 1) > 0, freeSeats };
}
