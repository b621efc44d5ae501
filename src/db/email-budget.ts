import type { EntityManager } from '@mikro-orm/postgresql';

export interface EmailReservation {
  /** How many of the wanted emails fit in the tenant's hourly budget. */
  granted: number;
  /** Gives the reservation back (the request that made it did not commit), or `count` of it (unused). */
  refund(count?: number): Promise<void>;
}

/**
 * Sending email costs money (OWASP API4): at most `perHour` invitation emails per tenant per clock hour.
 * One upsert on a per-tenant counter row, in its own statement before the invite's transaction, so that
 * concurrent requests of a tenant are not serialized for the length of their inserts.
 */
export class EmailBudget {
  constructor(private readonly perHour: number) {}

  async reserve(em: EntityManager, tenantId: string, wanted: number): Promise<EmailReservation> {
    if (wanted <= 0) return { granted: 0, refund: async () => undefined };
    const [row] = await em.execute<Array<{ used: number; window_start: Date }>>(
      `insert into email_quota (tenant_id, window_start, used) values (?, date_trunc('hour', now()), ?)
       on conflict (tenant_id, window_start) do update set used = email_quota.used + excluded.used
       returning used, window_start`,
      [tenantId, wanted],
    );
    const before = row.used - wanted;
    const granted = Math.max(0, Math.min(wanted, this.perHour - before));
    return {
      granted,
      refund: async (count = wanted) => {
        await em.execute('update email_quota set used = greatest(0, used - ?) where tenant_id = ? and window_start = ?', [
          count,
          tenantId,
          row.window_start,
        ]);
      },
    };
  }
}
