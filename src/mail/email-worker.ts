import { metrics } from '../http/observability';
import { randomUUID } from 'node:crypto';
import { run, type JobHelpers, type Runner } from 'graphile-worker';
import { Pool, type PoolClient } from 'pg';
import type { AppConfig } from '../config';
import type { Logger } from '../logger';
import { hashToken, newSecretToken } from '../services/tokens';
import { MAX_BATCH, createEmailSender, type EmailSender, type OutgoingEmail, type SendOutcome } from './email-sender';
import { SEND_INVITATION_EMAILS, SEND_JOB_KEY } from './email-queue';
import { graphileLogger } from './graphile-logger';
import { renderInvitationEmail } from './invitation-email';
import { appendInvitationEvents } from '../services/events/append';
import { startWebhookRunner } from '../webhooks/delivery-worker';

const RETRY_JOB_KEY = 'send-invitation-emails-retry';
const PURGE_IDEMPOTENCY_RECORDS = 'purge_idempotency_records';
/** After this many attempts a message is marked FAILED instead of retried again. */
const MAX_EMAIL_ATTEMPTS = 12;

interface ClaimedRow {
  id: string;
  email: string;
  tenant_id: string;
  tenant_name: string;
  message: string | null;
  first_name: string | null;
  locale: string | null;
  invited_by: string | null;
  inviter_name: string | null;
  expires_at: Date;
  email_attempts: number;
  prev_status: string;
  prev_claim: string | null;
  /** expires_at <= now() by the database's clock, at claim time. */
  expired: boolean;
}

/**
 * Recorded on an invitation whose lifetime ended while its email waited in the queue (a worker outage, a long
 * backoff). FAILED rather than NOT_REQUESTED: an email was asked for and did not go out, the inviter sees why in
 * `invitations`, and `resendInvitation` gives it a fresh lifetime and a new email.
 */
export const EXPIRED_BEFORE_SENT = 'Invitation expired before it was sent';

export interface DrainDeps {
  config: AppConfig;
  sender: EmailSender;
  log: Logger;
}

function backoffMs(config: AppConfig, attempts: number): number {
  const exponential = config.email.retryBaseMs * 2 ** Math.max(0, attempts - 1);
  const capped = Math.min(config.email.retryMaxMs, exponential);
  return Math.round(capped * (0.8 + Math.random() * 0.4));
}

/**
 * Claims up to 500 due emails (QUEUED and due, or SENDING whose worker's lease ran out), round-robin across tenants.
 * SKIP LOCKED lets several workers drain the same queue without ever claiming the same row twice.
 *
 * An email is never sent for an expired invitation: its link would only show "expired". QUEUED ones that
 * expired are first marked FAILED (EXPIRED_BEFORE_SENT) without being claimed or counted as an attempt. A SENDING
 * one whose lease ran out is still claimed when expired, because its crashed worker may have sent it already and
 * only the provider can tell; drainOnce then records it as sent (if the provider has it) or as expired, never
 * sends it.
 */
async function claim(db: PoolClient, config: AppConfig, claimId: string): Promise<ClaimedRow[]> {
  await db.query(
    `with expired as (
       select i.id from invitation i
        where i.status = 'PENDING' and i.email_status = 'QUEUED' and i.expires_at <= now()
        for update skip locked
     )
     update invitation i
        set email_status = 'FAILED', email_error = $1, email_next_attempt_at = null
       from expired where i.id = expired.id`,
    [EXPIRED_BEFORE_SENT],
  );
  // Fair across tenants: a batch takes every tenant's first due row, then every tenant's second, and so on, so a
  // tenant with one email waits at most for the batch in flight however many others have queued. The tenants with
  // mail waiting are found by walking invitation_email_pending_idx (one index probe per tenant), and each tenant's
  // rows are read in send order from the same index, at most one batch per tenant: the cost follows the number of
  // tenants and the batch size, not the length of the queue. Rows are locked (skip locked) where they are read;
  // the ranking runs a level above, because FOR UPDATE is not allowed beside a window function.
  const due = `i.status = 'PENDING'
         and ((i.email_status = 'QUEUED' and i.email_next_attempt_at <= now() and i.expires_at > now())
           or (i.email_status = 'SENDING' and i.email_claimed_at < now() - make_interval(secs => $2::float8 / 1000)))`;
  const { rows } = await db.query<ClaimedRow>(
    `with recursive waiting(tenant_id) as (
       (select i.tenant_id from invitation i where i.email_status in ('QUEUED', 'SENDING') order by i.tenant_id limit 1)
       union all
       select (select i.tenant_id from invitation i
                where i.email_status in ('QUEUED', 'SENDING') and i.tenant_id > w.tenant_id
                order by i.tenant_id limit 1)
         from waiting w where w.tenant_id is not null
     ),
     candidates as (
       select c.*, row_number() over (partition by c.tenant_id order by c.email_next_attempt_at nulls first, c.id) as rank
         from waiting w
         cross join lateral (
           select i.id, i.tenant_id, i.email_next_attempt_at, i.email_status as prev_status, i.email_claim_id as prev_claim
             from invitation i
            where i.tenant_id = w.tenant_id and i.email_status in ('QUEUED', 'SENDING') and ${due}
            order by i.email_next_attempt_at nulls first, i.id
            limit $3
            for update of i skip locked
         ) c
        where w.tenant_id is not null
     ),
     picked as (
       select id, prev_status, prev_claim from candidates order by rank, email_next_attempt_at nulls first, id limit $3
     )
     update invitation i
        set email_status = 'SENDING', email_claim_id = $1, email_claimed_at = now(), email_attempts = i.email_attempts + 1
       from picked, tenant t, membership m
      where i.id = picked.id and t.id = i.tenant_id and m.id = i.membership_id and m.tenant_id = i.tenant_id
     returning i.id, i.email, i.tenant_id, t.name as tenant_name, i.message, i.expires_at, i.email_attempts,
               m.first_name, i.locale, i.invited_by, i.inviter_name,
               picked.prev_status, picked.prev_claim, i.expires_at <= now() as expired`,
    [claimId, config.email.claimLeaseMs, MAX_BATCH],
  );
  return rows;
}

/** Records outcomes under this claim and, in the same transaction, `invitation.sent` for those sent. */
async function record(db: PoolClient, claimId: string, ids: string[], outcomes: Array<SendOutcome & { nextAttemptAt?: Date }>) {
  if (!ids.length) return;
  await db.query('begin');
  try {
    await recordOutcomes(db, claimId, ids, outcomes);
    await db.query('commit');
  } catch (error) {
    await db.query('rollback');
    throw error;
  }
}

async function recordOutcomes(db: PoolClient, claimId: string, ids: string[], outcomes: Array<SendOutcome & { nextAttemptAt?: Date }>) {
  const { rows } = await db.query<{ id: string; email_status: string }>(
    `update invitation i
        set email_status = v.status,
            provider_message_id = coalesce(v.message_id, i.provider_message_id),
            email_error = v.error,
            sent_at = case when v.status = 'SENT' then now() else i.sent_at end,
            email_next_attempt_at = v.next_attempt_at,
            email_claim_id = null,
            email_claimed_at = null
       from unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) as v(id, status, message_id, error, next_attempt_at)
      where i.id = v.id and i.email_claim_id = $1
      returning i.id, i.email_status`,
    [
      claimId,
      ids,
      outcomes.map((o) => (o.status === 'sent' ? 'SENT' : o.status === 'failed' ? 'FAILED' : 'QUEUED')),
      outcomes.map((o) => (o.status === 'sent' ? o.messageId : null)),
      outcomes.map((o) => (o.status === 'sent' ? null : o.error.slice(0, 500))),
      outcomes.map((o) => o.nextAttemptAt ?? null),
    ],
  );
  // Only rows still under this claim were updated: a claim taken over by another worker writes no event.
  await appendInvitationEvents(db, 'invitation.sent', { ids: rows.filter((r) => r.email_status === 'SENT').map((r) => r.id) });
}

/** Sends one claimed batch. Returns how many rows it handled. */
async function drainOnce(deps: DrainDeps, db: PoolClient): Promise<number> {
  const { config, sender, log } = deps;
  const claimId = randomUUID();
  const rows = await claim(db, config, claimId);
  if (!rows.length) return 0;

  // A row still SENDING under an expired claim may have reached the provider before its worker died:
  // ask the provider before sending it again, so nobody gets the invitation twice.
  const recovered = rows.filter((r) => r.prev_status === 'SENDING' && r.prev_claim);
  const alreadySent = new Map<string, string>();
  for (const previousClaim of new Set(recovered.map((r) => r.prev_claim!))) {
    for (const [invitationId, messageId] of await sender.findAccepted(previousClaim, db)) alreadySent.set(invitationId, messageId);
  }
  const done = rows.filter((r) => alreadySent.has(r.id));
  await record(db, claimId, done.map((r) => r.id), done.map((r) => ({ status: 'sent', messageId: alreadySent.get(r.id)! })));
  if (done.length) log.warn({ count: done.length }, 'reconciled emails a crashed worker had already sent');

  const expired = rows.filter((r) => !alreadySent.has(r.id) && r.expired);
  await record(db, claimId, expired.map((r) => r.id), expired.map(() => ({ status: 'failed', error: EXPIRED_BEFORE_SENT })));
  const toSend = rows.filter((r) => !alreadySent.has(r.id) && !r.expired);
  if (!toSend.length) return rows.length;

  // Fresh tokens, committed before sending: the link in the email always matches the stored hash.
  const tokens = toSend.map(() => newSecretToken());
  await db.query(
    `update invitation i set token_hash = v.hash from unnest($1::uuid[], $2::text[]) as v(id, hash)
      where i.id = v.id and i.email_claim_id = $3`,
    [toSend.map((r) => r.id), tokens.map(hashToken), claimId],
  );
  const emails: OutgoingEmail[] = toSend.map((row, i) => {
    const acceptUrl = `${config.publicUrl}/invitations/accept?token=${tokens[i]}`;
    const inviterName = row.inviter_name ?? row.invited_by;
    return {
      invitationId: row.id,
      tenantId: row.tenant_id,
      claimId,
      to: row.email,
      from: config.postmark.from,
      ...renderInvitationEmail({ tenantName: row.tenant_name, message: row.message, acceptUrl, expiresAt: new Date(row.expires_at), inviterName, locale: row.locale }),
      // For POSTMARK_TEMPLATE_ALIAS: the template renders these instead of the built-in email.
      templateModel: {
        tenant_name: row.tenant_name,
        first_name: row.first_name,
        message: row.message,
        accept_url: acceptUrl,
        expires_at: new Date(row.expires_at).toISOString(),
        locale: row.locale,
        inviter_name: inviterName,
      },
    };
  });

  let outcomes: SendOutcome[];
  try {
    outcomes = await sender.sendBatch(emails, db);
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    const message = `${sender.name} call failed${status ? ` (${status})` : ''}: ${(error as Error).message}`;
    log.warn({ status, count: emails.length, err: error }, 'email batch failed; will retry');
    outcomes = emails.map(() => ({ status: 'retry', error: message }));
  }
  const now = Date.now();
  const final = outcomes.map((o, i) => {
    if (o.status !== 'retry') return o;
    const attempts = toSend[i].email_attempts;
    if (attempts >= MAX_EMAIL_ATTEMPTS) return { status: 'failed' as const, error: `Gave up after ${attempts} attempts: ${o.error}` };
    return { ...o, nextAttemptAt: new Date(now + backoffMs(config, attempts)) };
  });
  await record(db, claimId, toSend.map((r) => r.id), final);
  const counts = { sent: 0, failed: 0, retry: 0 };
  for (const o of final) counts[o.status]++;
  for (const [result, n] of Object.entries(counts)) if (n) metrics.emailSendResults.inc({ result: result === 'retry' ? 'retried' : result }, n);
  log.info({ ...counts, sender: sender.name }, 'email batch processed');
  return rows.length;
}

/** Sends every due email, then schedules itself for the earliest retry, if any. */
export async function drainInvitationEmails(deps: DrainDeps, helpers: Pick<JobHelpers, 'withPgClient'>): Promise<void> {
  await helpers.withPgClient(async (db) => {
    while ((await drainOnce(deps, db)) > 0) {
      // keep going while there is work
    }
    // The earliest retry, or the earliest lease to run out (least() ignores NULLs).
    const { rows } = await db.query<{ next: Date | null }>(
      `select least(min(email_next_attempt_at) filter (where email_status = 'QUEUED'),
                    min(email_claimed_at) filter (where email_status = 'SENDING') + make_interval(secs => $1::float8 / 1000)) as next
         from invitation where status = 'PENDING' and email_status in ('QUEUED', 'SENDING')`,
      [deps.config.email.claimLeaseMs],
    );
    const next = rows[0]?.next;
    if (next) {
      await db.query(
        `select graphile_worker.add_job($1, '{}'::json, run_at := $2, job_key := $3, job_key_mode := 'replace')`,
        [SEND_INVITATION_EMAILS, next, RETRY_JOB_KEY],
      );
    }
  });
}

export interface EmailWorker {
  runner: Runner;
  stop(): Promise<void>;
}

export async function startEmailWorker(options: {
  config: AppConfig;
  databaseUrl: string;
  log: Logger;
  sender?: EmailSender;
  concurrency?: number;
}): Promise<EmailWorker> {
  const { config, databaseUrl, log } = options;
  const deps: DrainDeps = { config, log: log.child({ component: 'email-worker' }), sender: options.sender ?? createEmailSender(config.postmark) };
  // Our own pool: idle connections cut by a database restart are logged, not thrown, and stop() ends it.
  const pgPool = new Pool({ connectionString: databaseUrl, max: (options.concurrency ?? 1) + 2 });
  const connectionLost = (error: Error) => deps.log.warn({ err: error }, 'email worker: database connection lost');
  pgPool.on('error', connectionLost);
  pgPool.on('connect', (client) => client.on('error', connectionLost));
  const runner = await run({
    pgPool,
    concurrency: options.concurrency ?? 1,
    noHandleSignals: true,
    pollInterval: config.email.pollIntervalMs,
    logger: graphileLogger(log),
    taskList: {
      [SEND_INVITATION_EMAILS]: async (_payload, helpers) => drainInvitationEmails(deps, helpers),
      [PURGE_IDEMPOTENCY_RECORDS]: async (_payload, helpers) => {
        await helpers.withPgClient((db) => db.query(`delete from idempotency_record where created_at < now() - interval '24 hours'`));
      },
    },
    // A sweep, in case a worker died holding a claim while nothing else was being queued; and a daily purge.
    crontab: [`* * * * * ${SEND_INVITATION_EMAILS} ?max=1`, `17 3 * * * ${PURGE_IDEMPOTENCY_RECORDS} ?max=1`].join('\n'),
  });
  // Webhook deliveries and the expiry sweep run beside it, with slots of their own.
  const webhooks = await startWebhookRunner({ config, databaseUrl, log }).catch(async (error: unknown) => {
    await runner.stop();
    await pgPool.end();
    throw error;
  });
  // Pick up whatever was left queued while no worker ran.
  await runner.addJob(SEND_INVITATION_EMAILS, {}, { jobKey: SEND_JOB_KEY, jobKeyMode: 'replace' });
  deps.log.info({ sender: deps.sender.name }, 'email worker started');
  let stopped = false;
  return {
    runner,
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all([runner.stop(), webhooks.stop()]);
      await pgPool.end();
    },
  };
}
