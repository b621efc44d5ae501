import type { EntityManager } from '@mikro-orm/postgresql';
import type { InvitationEmailQueue } from '../services/ports';

export const SEND_INVITATION_EMAILS = 'send_invitation_emails';
export const SEND_JOB_KEY = 'send-invitation-emails';

/**
 * Adds the (deduplicated) send job inside the caller's transaction: a rolled-back invite queues nothing,
 * and a committed one always has a job that will find its QUEUED rows.
 */
export const graphileEmailQueue: InvitationEmailQueue = {
  async enqueueInTransaction(em: EntityManager) {
    await em.execute(
      `select graphile_worker.add_job(?, '{}'::json, job_key := ?, job_key_mode := 'replace', max_attempts := 25)`,
      [SEND_INVITATION_EMAILS, SEND_JOB_KEY],
    );
  },
};
