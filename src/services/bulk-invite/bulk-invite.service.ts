import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppConfig } from '../../config';
import type { RequestContext } from '../../context';
import { EmailBudget } from '../../db/email-budget';
import { appendInvitationEvents } from '../events';
import { isRetryableWriteConflict } from '../../db/errors';
import { reinviteMemberships } from '../../db/membership-writes';
import { confirmSeats } from '../../db/seats';
import { IdempotencyRecord, Invitation, Membership, MembershipGroup, MembershipPosition, MembershipRole, User } from '../../entities';
import type { BulkInviteGuard, BulkInviteObserver, InvitationEmailQueue } from '../ports';
import { buildInviteRows, type InviteRows } from './build-rows';
import { checkBulkInvite, type BulkInviteCommand, type CheckedBulkInvite } from './command';
import { findReplay, idempotencyRecordRow, requestHash } from './idempotency';
import { loadInviteLookups } from './lookups';
import { summarize, type BulkInviteOutcome, type InviteResult } from './outcome';
import { type InviteDecision, type InviteLookups, type InvitePlan } from './resolve-invites';
import { mapInSlices, parseInvitesInSlices, resolveInvitesInSlices } from './slices';

/** Who invites: the token's `sub`, and its `name` claim when it has one. */
interface Inviter {
  invitedBy: string;
  inviterName: string | null;
}

/** Concurrent requests writing the same people: each retry sees the winners' rows, so this converges. */
const MAX_CONFLICT_RETRIES = 8;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Bulk invite: one result per person, in input order.
 *
 * 1. Authorise (`users:invite`) and check the request as a whole (`checkBulkInvite`): a failure there refuses
 *    the whole request and nothing is read or written. Then the admission guard (rate limits).
 * 2. With an idempotency key, a stored outcome of the same request is returned as it was (a dry run reads it too,
 *    and writes nothing).
 * 3. Every person is parsed (pure), the database is asked once per kind of lookup, and each person runs through
 *    the ordered table of checks (`resolveInvites`, pure): the first failing check is their result.
 * 4. A dry run stops here. Otherwise the tenant's email budget is reserved, the rows are built
 *    (`buildInviteRows`, pure) and written in one transaction: one set-based insert per table, the idempotency
 *    record and the email job.
 * 5. A write conflict with a concurrent request (unique violation, deadlock, serialization failure) rolls the
 *    transaction back and the batch is decided again from step 2, a bounded number of times.
 */
export class BulkInviteService {
  private readonly emailBudget: EmailBudget;

  constructor(
    private readonly config: AppConfig,
    private readonly emailQueue: InvitationEmailQueue,
    private readonly guard: BulkInviteGuard = { check: async () => undefined },
    private readonly observer: BulkInviteObserver = { finished: () => undefined },
  ) {
    this.emailBudget = new EmailBudget(config.email.maxPerTenantPerHour);
  }

  async bulkInviteUsers(ctx: RequestContext, command: BulkInviteCommand): Promise<BulkInviteOutcome> {
    const started = performance.now();
    const outcome = await this.run(ctx, command);
    const { total, successful, failed, dryRun } = outcome;
    // Counts only: a log line never lists the people of a request.
    ctx.log.info({ total, successful, failed, dryRun, durationMs: Math.round(performance.now() - started) }, 'bulk invite');
    this.observer.finished(outcome);
    return outcome;
  }

  private async run(ctx: RequestContext, command: BulkInviteCommand): Promise<BulkInviteOutcome> {
    const tenantId = ctx.requireTenantPermission('users:invite');
    const { userId: invitedBy, name: inviterName } = ctx.requireViewer();
    const request = checkBulkInvite(command, tenantId, this.config);
    // Rate limits and people in flight (src/http/admission.ts): what is admitted is released when this call ends.
    // The request is identified by its EntityManager fork: Apollo hands resolvers a shallow copy of the context.
    const release = await this.guard.check(tenantId, { owner: ctx.em, people: request.users.length });
    try {
      return await this.decideAndWrite(ctx, tenantId, { invitedBy, inviterName: inviterName ?? null }, request);
    } finally {
      release?.();
    }
  }

  /** CPU-bound stages run in slices (`slices.ts`) so that one large request does not hold the event loop. */
  private async decideAndWrite(ctx: RequestContext, tenantId: string, inviter: Inviter, request: CheckedBulkInvite): Promise<BulkInviteOutcome> {
    const hash = request.idempotencyKey ? requestHash(request) : '';
    const people = await parseInvitesInSlices(request.users);

    for (let attempt = 0; ; attempt++) {
      ctx.em.clear();
      if (request.idempotencyKey) {
        const replay = await findReplay(ctx.em, request.idempotencyKey, hash, { readOnly: request.dryRun });
        if (replay) return request.dryRun ? { ...replay, dryRun: true } : replay;
      }
      const { lookups } = await loadInviteLookups(ctx.em, tenantId, people);
      const decisions = await resolveInvitesInSlices(people, lookups);
      if (request.dryRun) return summarize(await mapInSlices(decisions, dryRunResult), true);
      try {
        return await this.write(ctx.em, tenantId, inviter, request, decisions, hash, lookups.seats);
      } catch (error) {
        if (!isRetryableWriteConflict(error) || attempt >= MAX_CONFLICT_RETRIES) throw error;
        ctx.log.info({ attempt, code: (error as { code?: string }).code }, 'bulk invite conflicted with a concurrent write; deciding again');
      }
    }
  }

  private async write(
    em: EntityManager,
    tenantId: string,
    inviter: Inviter,
    request: CheckedBulkInvite,
    decisions: InviteDecision[],
    hash: string,
    seats: InviteLookups['seats'],
  ): Promise<BulkInviteOutcome> {
    const plans = decisions.flatMap((d): InvitePlan[] => (d.kind === 'accepted' ? [d.plan] : []));
    const now = new Date();
    // Past the tenant's hourly email budget invitations are still created, with emailStatus FAILED and the reason.
    const reservation = await this.emailBudget.reserve(em, tenantId, request.sendEmail ? plans.length : 0);
    const batchId = randomUUID();
    const { rows, invited } = buildInviteRows(plans, {
      tenantId,
      invitedBy: inviter.invitedBy,
      inviterName: inviter.inviterName,
      now,
      expiresAt: new Date(now.getTime() + this.config.invitationTtlDays * DAY_MS),
      sendEmail: request.sendEmail,
      emailsGranted: reservation.granted,
      overBudgetReason: `Email cap reached: at most ${this.config.email.maxPerTenantPerHour} invitation emails per hour for this tenant; resend later`,
      redirectUrl: request.redirectUrl,
      message: request.message,
      batchId,
      // The caller sends the invitations itself: it gets each person's link, once.
      acceptUrlBase: request.sendEmail ? null : `${this.config.publicUrl}/invitations/accept?token=`,
    });
    const invitedByIndex = new Map(invited.map((person) => [person.index, person]));
    const outcome = summarize(
      decisions.map((d): InviteResult => {
        if (d.kind === 'failed') return d;
        const person = invitedByIndex.get(d.plan.person.index)!;
        return { kind: 'invited', ...person };
      }),
      false,
    );
    try {
      // Null when no key was given, or the outcome is over the stored-size bound (then not kept for replays).
      // A replay must not show accept links again: the stored outcome has none.
      const record = request.idempotencyKey ? await idempotencyRecordRow(tenantId, request.idempotencyKey, hash, withoutAcceptUrls(outcome), now) : null;
      await em.transactional(async (tx) => {
        await confirmSeats(tx, tenantId, {
          assumed: seats ?? { maxMembers: null, used: 0 },
          taking: plans.length,
          refusedAny: decisions.some((d) => d.kind === 'failed' && d.failure.code === 'SEAT_LIMIT_REACHED'),
        });
        await writeInviteRows(tx, tenantId, rows);
        if (record) await tx.insertMany(IdempotencyRecord, [record]);
        if (rows.invitations.some((row) => row.emailStatus === 'QUEUED')) await this.emailQueue.enqueueInTransaction(tx);
        // One `invitation.created` per invited person, built from the rows just written (reached by their ids). Last,
        // because it takes the tenant's event-order lock until the commit.
        if (rows.invitations.length) await appendInvitationEvents(tx, 'invitation.created', { tenantId, ids: rows.invitations.map((row) => row.id as string) });
      });
      return outcome;
    } catch (error) {
      await reservation.refund();
      throw error;
    }
  }
}

/** One set-based statement per table, parents first. Shared with the import runner's chunks. */
export async function writeInviteRows(tx: EntityManager, tenantId: string, rows: InviteRows): Promise<void> {
  if (rows.users.length) await tx.insertMany(User, rows.users);
  if (rows.memberships.length) await tx.insertMany(Membership, rows.memberships);
  await reinviteMemberships(tx, tenantId, rows.reinvitedMemberships);
  if (rows.roleLinks.length) await tx.insertMany(MembershipRole, rows.roleLinks);
  if (rows.groupLinks.length) await tx.insertMany(MembershipGroup, rows.groupLinks);
  if (rows.positionLinks.length) await tx.insertMany(MembershipPosition, rows.positionLinks);
  if (rows.invitations.length) await tx.insertMany(Invitation, rows.invitations);
}

function withoutAcceptUrls(outcome: BulkInviteOutcome): BulkInviteOutcome {
  return {
    ...outcome,
    results: outcome.results.map((r) => (r.kind === 'invited' && r.invitation?.acceptUrl ? { ...r, invitation: { ...r.invitation, acceptUrl: null } } : r)),
  };
}

/** A dry run reports exactly what a real run would decide; the invited are told who they are, if known. */
function dryRunResult(decision: InviteDecision): InviteResult {
  if (decision.kind === 'failed') return decision;
  const { person, existingUser, previousMembership } = decision.plan;
  const email = existingUser?.email ?? person.email!;
  return {
    kind: 'invited',
    index: person.index,
    email,
    existingUser: existingUser !== null,
    user: existingUser
      ? { id: existingUser.id, email, firstName: person.firstName ?? previousMembership?.firstName ?? null, lastName: person.lastName ?? previousMembership?.lastName ?? null }
      : null,
    invitation: null,
  };
}
