import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppConfig } from '../../config';
import { EmailBudget } from '../../db/email-budget';
import { ConcurrentChangeError, isRetryableWriteConflict } from '../../db/errors';
import { pgArrayLiteral } from '../../db/pg-array';
import { confirmSeats } from '../../db/seats';
import { TENANT_FILTER } from '../../entities';
import type { Logger } from '../../logger';
import { writeInviteRows } from '../bulk-invite/bulk-invite.service';
import { appendEvents, appendInvitationEvents } from '../events';
import { buildInviteRows } from '../bulk-invite/build-rows';
import type { InviteUserCommand } from '../bulk-invite/command';
import { loadInviteLookups } from '../bulk-invite/lookups';
import { parseInvite, type ParsedInvite } from '../bulk-invite/parse-invite';
import { claimKeysOf, resolveInvites, type InviteDecision, type InvitePlan } from '../bulk-invite/resolve-invites';
import type { ImportPacer, InvitationEmailQueue } from '../ports';
import { IMPORT_COLUMNS, type InviteImportRecord } from './import-view';

const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_CONFLICT_RETRIES = 8;

/** What one call of `runChunk` did. */
export type ChunkResult = { kind: 'processed'; rows: number } | { kind: 'ended'; status: string };

interface PendingRow {
  row: number;
  line: number;
  input: InviteUserCommand | null;
  email: string | null;
  message: string | null;
}

interface RowOutcome {
  row: number;
  outcome: 'invited' | 'failed';
  email: string | null;
  code: string | null;
  message: string | null;
  userId: string | null;
  invitationId: string | null;
}

/**
 * Processes an import chunk by chunk through the bulk invite engine, so that each row gets the outcome it would
 * get in one request of the whole file: row `n` is the person at index `n - 1`; the people claimed by earlier
 * rows (the duplicate check) are kept in `invite_import_claim`, so a later row naming one of them, in any chunk
 * and after any restart, is DUPLICATE_IN_BATCH naming the first; the seat limit and the allowed domains are
 * read fresh for every chunk, which sees the seats the earlier chunks took.
 *
 * A chunk is decided from fresh reads, then written in one transaction that locks the import's row, checks that
 * nothing changed it meanwhile, and writes the chunk's invitations, the rows' outcomes, the new claims and the
 * import's counters, and queues the emails. A process killed at any moment leaves either the whole chunk or
 * nothing of it: the next run starts from the first row still without an outcome, so no row is processed twice
 * or lost, and no email is queued twice.
 */
export class InviteImportRunner {
  private readonly emailBudget: EmailBudget;

  constructor(
    private readonly config: AppConfig,
    private readonly emailQueue: InvitationEmailQueue,
    private readonly pacer: ImportPacer,
    private readonly log: Logger,
  ) {
    this.emailBudget = new EmailBudget(config.email.maxPerTenantPerHour);
  }

  /** Runs the import to its end (completed or cancelled), chunk by chunk; `signal` stops it between chunks. */
  async run(em: EntityManager, tenantId: string, importId: string, signal?: AbortSignal): Promise<string | null> {
    // RUNNING from the moment a runner holds it (also while it waits for the people budget): QUEUED means waiting for a runner.
    await em.execute(`update invite_import set status = 'RUNNING', started_at = now() where id = ? and tenant_id = ? and status = 'QUEUED' and not cancel_requested`, [
      importId,
      tenantId,
    ]);
    for (;;) {
      if (signal?.aborted) return null;
      const [left] = await em.execute<Array<{ left: number }>>('select total_rows - processed_rows as left from invite_import where id = ? and tenant_id = ?', [importId, tenantId]);
      // Imports count against the tenant's people-per-minute budget as they run: they wait for it, never fail.
      const wanted = Math.min(this.config.imports.chunkRows, Math.max(0, Number(left?.left ?? 0)));
      const granted = wanted > 0 ? await this.pacer.waitFor(tenantId, wanted, signal) : this.config.imports.chunkRows;
      const result = await this.runChunk(em, tenantId, importId, granted);
      if (result.kind === 'ended') return result.status;
    }
  }

  /**
   * One chunk. Its rows are read and decided outside the transaction (the lookups run side by side on the pool),
   * then written in one transaction that first locks the import's row and checks that no other run wrote a chunk
   * meanwhile; a lost race of any kind (another run, a concurrent invite of the same people, changed seats) is
   * decided again from fresh reads.
   */
  async runChunk(parent: EntityManager, tenantId: string, importId: string, maxRows = this.config.imports.chunkRows): Promise<ChunkResult> {
    for (let attempt = 0; ; attempt++) {
      const em = parent.fork({ clear: true });
      em.setFilterParams(TENANT_FILTER, { tenantId });
      try {
        return await this.chunk(em, tenantId, importId, maxRows);
      } catch (error) {
        if (!isRetryableWriteConflict(error) || attempt >= MAX_CONFLICT_RETRIES) throw error;
        this.log.info({ importId, attempt }, 'import chunk conflicted with a concurrent write; deciding again');
      }
    }
  }

  private async chunk(em: EntityManager, tenantId: string, importId: string, maxRows: number): Promise<ChunkResult> {
    const [job] = await em.execute<InviteImportRecord[]>(`select ${IMPORT_COLUMNS} from invite_import where id = ? and tenant_id = ?`, [importId, tenantId]);
    if (!job) return { kind: 'ended', status: 'GONE' };
    if (job.status !== 'QUEUED' && job.status !== 'RUNNING') return { kind: 'ended', status: job.status };
    const pending = job.cancel_requested
      ? []
      : await em.execute<PendingRow[]>(
          `select row, line, input, email, message from invite_import_row where import_id = ? and tenant_id = ? and outcome is null order by row limit ?`,
          [importId, tenantId, maxRows],
        );
    const decided = pending.length ? await this.decide(em, tenantId, job, pending) : null;
    const reservation = await this.emailBudget.reserve(em, tenantId, decided && job.send_email ? decided.plans.length : 0);
    try {
      return await em.transactional(async (tx) => {
        const [now] = await tx.execute<InviteImportRecord[]>(`select ${IMPORT_COLUMNS} from invite_import where id = ? and tenant_id = ? for update`, [importId, tenantId]);
        if (!now || now.status !== job.status || now.cancel_requested !== job.cancel_requested || Number(now.processed_rows) !== Number(job.processed_rows)) {
          throw new ConcurrentChangeError('The import changed while its chunk was decided');
        }
        if (job.cancel_requested) {
          await tx.execute(`update invite_import set status = 'CANCELLED', finished_at = now() where id = ?`, [importId]);
          this.log.info({ importId, processedRows: job.processed_rows }, 'import cancelled');
          return { kind: 'ended', status: 'CANCELLED' } as const;
        }
        if (job.status === 'QUEUED') await tx.execute(`update invite_import set status = 'RUNNING', started_at = now() where id = ?`, [importId]);
        let successful = 0;
        if (decided) {
          const outcomes = await this.write(tx, tenantId, job, pending, decided, reservation.granted);
          successful = outcomes.filter((o) => o.outcome === 'invited').length;
          await tx.execute('update invite_import set processed_rows = processed_rows + ?, successful = successful + ?, failed = failed + ? where id = ?', [
            outcomes.length,
            successful,
            outcomes.length - successful,
            importId,
          ]);
        }
        if (Number(job.processed_rows) + pending.length >= Number(job.total_rows)) {
          await completeImport(tx, tenantId, importId);
          this.log.info({ importId, totalRows: job.total_rows, successful: Number(job.successful) + successful, failed: Number(job.failed) + pending.length - successful }, 'import completed');
          return { kind: 'ended', status: 'COMPLETED' } as const;
        }
        return { kind: 'processed', rows: pending.length } as const;
      });
    } catch (error) {
      await reservation.refund();
      throw error;
    }
  }

  /** The bulk invite engine over one chunk: parse, one lookup per kind, the earlier chunks' claims, decide in file order. */
  private async decide(em: EntityManager, tenantId: string, job: InviteImportRecord, pending: PendingRow[]) {
    const people: ParsedInvite[] = [];
    for (const row of pending) if (row.input) people.push(parseInvite(row.row - 1, row.input));
    const { lookups } = await loadInviteLookups(em, tenantId, people);
    // The claims of earlier chunks that this chunk's people could meet, by the same keys the duplicate check uses.
    const keys = new Set<string>();
    for (const person of people) for (const key of claimKeysOf(person, lookups)) keys.add(key);
    const claims = new Map<string, number>();
    if (keys.size) {
      const earlier = await em.execute<Array<{ key: string; first_index: number }>>(
        'select key, first_index from invite_import_claim where import_id = ? and tenant_id = ? and key = any(?::text[])',
        [job.id, tenantId, pgArrayLiteral([...keys])],
      );
      for (const claim of earlier) claims.set(claim.key, claim.first_index);
    }
    const known = new Set(claims.keys());
    const decisions = resolveInvites(people, lookups, claims);
    return {
      lookups,
      decisions,
      newClaims: [...claims].filter(([key]) => !known.has(key)),
      plans: decisions.flatMap((d): InvitePlan[] => (d.kind === 'accepted' ? [d.plan] : [])),
    };
  }

  /** The chunk's writes, set-based: the invitations, the claims, the rows' outcomes; and its emails queued. */
  private async write(
    tx: EntityManager,
    tenantId: string,
    job: InviteImportRecord,
    pending: PendingRow[],
    { lookups, decisions, newClaims, plans }: Awaited<ReturnType<InviteImportRunner['decide']>>,
    emailsGranted: number,
  ): Promise<RowOutcome[]> {
    const now = new Date();
    const { rows, invited } = buildInviteRows(plans, {
      tenantId,
      invitedBy: job.invited_by,
      now,
      expiresAt: new Date(now.getTime() + this.config.invitationTtlDays * DAY_MS),
      sendEmail: job.send_email,
      emailsGranted,
      overBudgetReason: `Email cap reached: at most ${this.config.email.maxPerTenantPerHour} invitation emails per hour for this tenant; resend later`,
      redirectUrl: job.redirect_url,
      message: job.message,
      // The import's invitations share its id as their batch.
      batchId: job.id,
      // No one to show accept links to: the tokens are minted by the email worker, or by a later resend.
      acceptUrlBase: null,
    });
    await confirmSeats(tx, tenantId, {
      assumed: lookups.seats ?? { maxMembers: null, used: 0 },
      taking: plans.length,
      refusedAny: decisions.some((d) => d.kind === 'failed' && d.failure.code === 'SEAT_LIMIT_REACHED'),
    });
    await writeInviteRows(tx, tenantId, rows);
    // One `invitation.created` per person invited by this chunk (not by the import's earlier chunks): one statement.
    await appendInvitationEvents(tx, 'invitation.created', { tenantId, ids: rows.invitations.map((row) => row.id as string) });
    if (newClaims.length) {
      await tx.execute(
        `insert into invite_import_claim (import_id, tenant_id, key, first_index)
         select ?, ?, v.key, v.first_index from unnest(?::text[], ?::int[]) as v(key, first_index)`,
        [job.id, tenantId, pgArrayLiteral(newClaims.map(([key]) => key)), pgArrayLiteral(newClaims.map(([, index]) => String(index)))],
        'run',
      );
    }
    if (rows.invitations.some((row) => row.emailStatus === 'QUEUED')) await this.emailQueue.enqueueInTransaction(tx);

    const byIndex = new Map<number, InviteDecision>(decisions.map((d) => [d.kind === 'accepted' ? d.plan.person.index : d.index, d]));
    const invitedByIndex = new Map(invited.map((person) => [person.index, person]));
    const outcomes = pending.map((row): RowOutcome => {
      const decision = byIndex.get(row.row - 1);
      if (!decision) {
        // A row the file itself got wrong: it never reached the engine.
        return { row: row.row, outcome: 'failed', email: row.email, code: 'INVALID_INPUT', message: row.message ?? `Line ${row.line} cannot be read`, userId: null, invitationId: null };
      }
      if (decision.kind === 'failed') {
        return { row: row.row, outcome: 'failed', email: decision.email ?? row.email, code: decision.failure.code, message: decision.failure.message, userId: null, invitationId: null };
      }
      const person = invitedByIndex.get(row.row - 1)!;
      return { row: row.row, outcome: 'invited', email: person.email, code: null, message: null, userId: person.user.id, invitationId: person.invitation.id };
    });
    await recordOutcomes(tx, tenantId, job.id, outcomes);
    return outcomes;
  }
}

/** The chunk's outcomes onto its rows: one UPDATE from unnest. */
async function recordOutcomes(tx: EntityManager, tenantId: string, importId: string, outcomes: readonly RowOutcome[]): Promise<void> {
  const col = (pick: (o: RowOutcome) => string | null) => pgArrayLiteral(outcomes.map(pick));
  await tx.execute(
    `update invite_import_row r set outcome = v.outcome, email = v.email, code = v.code, message = v.message, user_id = v.user_id, invitation_id = v.invitation_id, input = null
       from unnest(?::int[], ?::text[], ?::text[], ?::text[], ?::text[], ?::uuid[], ?::uuid[]) as v(row, outcome, email, code, message, user_id, invitation_id)
      where r.import_id = ? and r.tenant_id = ? and r.row = v.row`,
    [
      col((o) => String(o.row)),
      col((o) => o.outcome),
      col((o) => o.email),
      col((o) => o.code),
      col((o) => o.message),
      col((o) => o.userId),
      col((o) => o.invitationId),
      importId,
      tenantId,
    ],
    'run',
  );
}

/**
 * The one place an import is marked COMPLETED, inside the transaction that wrote its last rows (or, for a file
 * without rows, the runner's first look at it): every row has its outcome when this commits. The
 * `import.completed` event (contract section 8) belongs here, in the same transaction.
 */
async function completeImport(tx: EntityManager, tenantId: string, importId: string): Promise<void> {
  const [done] = await tx.execute<Array<{ total_rows: number; processed_rows: number; successful: number; failed: number; created_at: Date; finished_at: Date }>>(
    `update invite_import set status = 'COMPLETED', finished_at = now() where id = ? and tenant_id = ?
     returning total_rows, processed_rows, successful, failed, created_at, finished_at`,
    [importId, tenantId],
  );
  await appendEvents(tx, [
    {
      tenantId,
      type: 'import.completed',
      orderingKey: importId,
      data: {
        importId,
        tenantId,
        status: 'COMPLETED',
        totalRows: Number(done.total_rows),
        processedRows: Number(done.processed_rows),
        successful: Number(done.successful),
        failed: Number(done.failed),
        createdAt: new Date(done.created_at).toISOString(),
        finishedAt: new Date(done.finished_at).toISOString(),
      },
    },
  ]);
}

/** Deletes the imports (with their rows and claims) created more than `retentionDays` ago. Returns how many. */
export async function purgeExpiredImports(em: EntityManager, retentionDays: number): Promise<number> {
  const deleted = await em.execute<Array<{ id: string }>>(`delete from invite_import where created_at < now() - make_interval(days => ?) and status not in ('QUEUED', 'RUNNING') returning id`, [retentionDays]);
  return deleted.length;
}
