import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppConfig } from '../config';
import type { InviteImportQueue } from '../services/ports';

export const RUN_INVITE_IMPORTS = 'run_invite_imports';

/**
 * One graphile job per tenant and slot (`IMPORT_CONCURRENCY` slots), deduplicated by its job key: adding it again
 * while one waits changes nothing; while one runs, a second is queued behind it, which finds the slot taken and
 * returns, or finds the work the first one left.
 */
export function addRunJobs(tenants: string, slots: string): string {
  return `select graphile_worker.add_job('${RUN_INVITE_IMPORTS}', json_build_object('tenantId', t.tenant_id, 'slot', s),
      job_key := 'invite-imports:' || t.tenant_id || ':' || s, job_key_mode := 'replace', max_attempts := 25)
    from (${tenants}) t(tenant_id), generate_series(0, ${slots}::int - 1) s`;
}

/** Queues the runner of a tenant's imports in the transaction that stored an upload. */
export function graphileImportQueue(config: AppConfig): InviteImportQueue {
  return {
    async enqueueInTransaction(em: EntityManager, tenantId: string) {
      await em.execute(addRunJobs('select ?::text', '?'), [tenantId, config.imports.concurrencyPerTenant]);
    },
  };
}

