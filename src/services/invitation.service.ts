import { type FilterQuery, LockMode, sql } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { canonicalId, isUuid } from './ids';
import type { AppConfig } from '../config';
import type { RequestContext } from '../context';
import {
  Invitation,
  InvitationStatus,
  Membership,
  MembershipStatus,
  StoredEmailStatus,
  StoredInvitationStatus,
  Tenant,
} from '../entities';
import type { InvitationEmailQueue } from './ports';
import { DomainError } from './errors';
import { type InvitationView, effectiveStatus, toInvitationView } from './invitation-view';
import { EmailBudget } from '../db/email-budget';
import { pgArrayLiteral } from '../db/pg-array';
import { lockSeatsForOne } from '../db/seats';
import { hashToken, newSecretToken } from './tokens';
import { appendInvitationEvents } from './events';
import { stripDisplayControls } from './unsafe-text';

export const MAX_PAGE_SIZE = 500;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Ids in one resendInvitations / revokeInvitations call. */
export const MAX_ACTION_IDS = 1000;

/** One id's outcome in a bulk resend or revoke. */
export interface InvitationActionResult {
  id: string;
  ok: boolean;
  code: InvitationActionCode | null;
  message: string | null;
  invitation: InvitationView | null;
}

export type InvitationActionCode = 'NOT_FOUND' | 'DUPLICATE_ID' | 'ALREADY_ACCEPTED' | 'SUPERSEDED' | 'RATE_LIMITED' | 'SEAT_LIMIT_REACHED' | 'EMAIL_BOUNCED';

/** Postmark reported the address bounced (or complained): a resend is refused unless the inviter forces it. */
export const BOUNCED_RESEND_MESSAGE = 'The last email to this address bounced; pass force: true to send again anyway';

interface LockedInvitation {
  id: string;
  membership_id: string;
  email: string;
  status: StoredInvitationStatus;
  email_status: StoredEmailStatus;
  email_error: string | null;
  expires_at: Date;
  created_at: Date;
  redirect_url: string | null;
  last_resent_at: Date | null;
  resend_window_start: Date | null;
  resends_in_window: number | null;
}

interface ResendCounters {
  lastResentAt?: Date | null;
  resendWindowStart?: Date | null;
  resendsInWindow?: number | null;
}

interface ResendRecord {
  lastResentAt: Date;
  resendWindowStart: Date;
  resendsInWindow: number;
}

/**
 * The resend rule, for one invitation and for many: one resend per `resendCooldownSeconds` and `resendsPerDay` per
 * 24-hour window. Pure: the caller holds the invitation's row lock and stores `next` with the resend.
 */
function decideResend(
  counters: ResendCounters,
  now: Date,
  limits: { resendCooldownSeconds: number; resendsPerDay: number },
): { ok: true; next: ResendRecord } | { ok: false; retryAfterSeconds: number; message: string } {
  const refuse = (untilMs: number, why: string) => {
    const retryAfterSeconds = Math.max(1, Math.ceil((untilMs - now.getTime()) / 1000));
    return { ok: false as const, retryAfterSeconds, message: `${why}; retry in ${retryAfterSeconds} s` };
  };
  const last = counters.lastResentAt ? new Date(counters.lastResentAt).getTime() : undefined;
  if (last !== undefined && now.getTime() - last < limits.resendCooldownSeconds * 1000) {
    return refuse(last + limits.resendCooldownSeconds * 1000, `This invitation was resent less than ${limits.resendCooldownSeconds} s ago`);
  }
  const windowStart = counters.resendWindowStart ? new Date(counters.resendWindowStart).getTime() : undefined;
  const windowOpen = windowStart !== undefined && now.getTime() - windowStart < DAY_MS;
  const used = windowOpen ? (counters.resendsInWindow ?? 0) : 0;
  if (windowOpen && used >= limits.resendsPerDay) return refuse(windowStart + DAY_MS, `This invitation was resent ${limits.resendsPerDay} times in 24 hours`);
  return { ok: true, next: { lastResentAt: now, resendWindowStart: windowOpen ? new Date(windowStart) : now, resendsInWindow: used + 1 } };
}

function lockedView(row: LockedInvitation, change: Partial<LockedInvitation> = {}): InvitationView {
  const r = { ...row, ...change };
  return toInvitationView({
    id: r.id,
    email: r.email,
    status: r.status,
    emailStatus: r.email_status,
    emailError: r.email_error,
    expiresAt: new Date(r.expires_at),
    createdAt: new Date(r.created_at),
    redirectUrl: r.redirect_url,
  } as Invitation);
}

export interface InvitationPage {
  totalCount: number;
  nodes: InvitationView[];
  hasNextPage: boolean;
  endCursor: string | null;
}

export interface AcceptOutcome {
  invitation: InvitationView;
  redirectUrl: string | null;
  tenantName: string;
}

/** What the accept page shows before the person clicks. */
export interface PendingInvitationView {
  invitation: InvitationView;
  tenantName: string;
  message: string | null;
  /** Who invited (the inviting token's `name` claim, else its `sub`), cleaned for display; null when unknown. */
  inviterName: string | null;
}

export function encodeCursor(invitation: Pick<Invitation, 'createdAt' | 'id'>): string {
  return Buffer.from(`${invitation.createdAt.toISOString()}|${invitation.id}`).toString('base64url');
}

/** Longer than any cursor encodeCursor makes; a bigger one is refused before decoding. */
const MAX_CURSOR_LENGTH = 100;
/** Exactly what encodeCursor writes: a four-digit-year ISO instant, then a UUID. */
const CURSOR_PAYLOAD = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([0-9a-fA-F-]{36})$/;

/**
 * Cursors come from clients, so only what encodeCursor produces is accepted. JavaScript dates reach years
 * PostgreSQL cannot store (+275760, -271821) and `new Date` accepts loose text ("99999"): such a date would
 * fail in SQL as an internal error instead of being the caller's mistake.
 */
export function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const invalid = () => new DomainError('BAD_USER_INPUT', 'Invalid cursor');
  if (typeof cursor !== 'string' || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]*={0,2}$/.test(cursor)) throw invalid();
  const match = CURSOR_PAYLOAD.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match || !isUuid(match[2])) throw invalid();
  const createdAt = new Date(match[1]);
  // Round trip: refuses dates that do not exist (2023-02-30) and year 0000, which PostgreSQL has no room for.
  if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== match[1] || createdAt.getUTCFullYear() < 1) throw invalid();
  return { createdAt, id: canonicalId(match[2]) };
}

function statusWhere(status: InvitationStatus | null | undefined, now: Date): FilterQuery<Invitation> {
  switch (status) {
    case InvitationStatus.PENDING:
      return { status: StoredInvitationStatus.PENDING, expiresAt: { $gt: now } };
    case InvitationStatus.EXPIRED:
      return { status: StoredInvitationStatus.PENDING, expiresAt: { $lte: now } };
    case InvitationStatus.ACCEPTED:
      return { status: StoredInvitationStatus.ACCEPTED };
    case InvitationStatus.REVOKED:
      return { status: StoredInvitationStatus.REVOKED };
    default:
      return {};
  }
}

export class InvitationService {
  private readonly emailBudget: EmailBudget;

  constructor(
    private readonly config: AppConfig,
    private readonly emailQueue: InvitationEmailQueue,
  ) {
    this.emailBudget = new EmailBudget(config.email.maxPerTenantPerHour);
  }

  async list(
    ctx: RequestContext,
      args: { status?: InvitationStatus | null; email?: string | null; batchId?: string | null; first?: number | null; after?: string | null },
  ): Promise<InvitationPage> {
    ctx.requireTenantPermission('users:read');
    const first = args.first ?? 50;
    if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) {
      throw new DomainError('BAD_USER_INPUT', `first must be between 0 and ${MAX_PAGE_SIZE}`);
    }
    const now = new Date();
    const email = args.email === null || args.email === undefined ? null : args.email.trim().toLowerCase();
    // A raw key (sql.lower) is consumed by the query that uses it: each query gets a condition of its own.
    // Exact and case-insensitive: lower(email) is what invitation_tenant_email_idx holds.
    // A batch id that is not a UUID names no batch: it matches nothing rather than failing the query.
    const batchId = args.batchId === null || args.batchId === undefined ? null : isUuid(args.batchId) ? args.batchId.toLowerCase() : '00000000-0000-0000-0000-000000000000';
    const filter = (): FilterQuery<Invitation> => {
      const conditions: FilterQuery<Invitation>[] = [statusWhere(args.status, now)];
      if (email !== null) conditions.push({ [sql.lower('email')]: email });
      if (batchId !== null) conditions.push({ batchId });
      return conditions.length === 1 ? conditions[0] : { $and: conditions };
    };
    const cursor = args.after ? decodeCursor(args.after) : null;
    const pageWhere: FilterQuery<Invitation> = cursor
      ? { $and: [filter(), { $or: [{ createdAt: { $lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { $lt: cursor.id } }] }] }
      : filter();
    const [totalCount, rows] = await Promise.all([
      ctx.em.count(Invitation, filter()),
      ctx.em.find(Invitation, pageWhere, { orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], limit: first + 1 }),
    ]);
    const nodes = rows.slice(0, first);
    return {
      totalCount,
      nodes: nodes.map(toInvitationView),
      hasNextPage: rows.length > first,
      endCursor: nodes.length ? encodeCursor(nodes[nodes.length - 1]) : null,
    };
  }

  /** Null when the id is not one of this tenant's invitations (another tenant's id included). */
  async get(ctx: RequestContext, id: string): Promise<InvitationView | null> {
    ctx.requireTenantPermission('users:read');
    if (!isUuid(id)) return null;
    const invitation = await ctx.em.findOne(Invitation, { id: canonicalId(id) });
    return invitation ? toInvitationView(invitation) : null;
  }

  /**
   * One result per id, in order. Set-based: whatever the number of ids, one locking read of the invitations and
   * one of their memberships (each ordered by id: invitations first, then memberships, the order of the
   * single-item writers), one update per table and one email job; for resends, one email-budget reservation.
   */
  async resendMany(ctx: RequestContext, ids: readonly string[], options: { force?: boolean } = {}): Promise<InvitationActionResult[]> {
    const tenantId = ctx.requireTenantPermission('users:invite');
    const plan = planActionIds(ids);
    const reservation = await this.emailBudget.reserve(ctx.em, tenantId, plan.unique.length);
    let used = 0;
    let committed = false;
    try {
      const results = await ctx.em.transactional(async (tx) => {
        // The tenant row first (when it has a seat limit), then invitations, then memberships: the lock order of every writer.
        const seats = await lockSeatsForOne(tx, tenantId);
        const { invitations, memberships } = await lockMany(tx, tenantId, plan.unique);
        const outcomes = new Map<string, InvitationActionResult>();
        const updates: Array<{ id: string; tokenHash: string; reopen: boolean; membershipId: string; counters: ResendRecord }> = [];
        let freeSeats: number | undefined;
        const expiresAt = new Date(Date.now() + this.config.invitationTtlDays * 24 * 60 * 60 * 1000);
        const now = new Date();
        for (const id of plan.unique) {
          const row = invitations.get(id);
          if (!row) {
            outcomes.set(id, failed(id, 'NOT_FOUND', 'Invitation not found'));
            continue;
          }
          if (row.status === StoredInvitationStatus.ACCEPTED) {
            outcomes.set(id, failed(id, 'ALREADY_ACCEPTED', 'An accepted invitation cannot be resent', lockedView(row)));
            continue;
          }
          if (row.email_status === StoredEmailStatus.BOUNCED && !options.force) {
            outcomes.set(id, failed(id, 'EMAIL_BOUNCED', BOUNCED_RESEND_MESSAGE, lockedView(row)));
            continue;
          }
          const reopen = row.status === StoredInvitationStatus.REVOKED;
          if (reopen && memberships.get(row.membership_id) !== MembershipStatus.REMOVED) {
            outcomes.set(id, failed(id, 'SUPERSEDED', 'This person has been invited again since; resend their newer invitation', lockedView(row)));
            continue;
          }
          const decision = decideResend(
            { lastResentAt: row.last_resent_at, resendWindowStart: row.resend_window_start, resendsInWindow: row.resends_in_window },
            now,
            this.config.email,
          );
          if (!decision.ok) {
            outcomes.set(id, failed(id, 'RATE_LIMITED', decision.message, lockedView(row)));
            continue;
          }
          if (reopen) {
            // Invited again, the person takes a seat.
            freeSeats ??= (await seats.freeSeats()) ?? Number.POSITIVE_INFINITY;
            if (freeSeats <= 0) {
              outcomes.set(id, failed(id, 'SEAT_LIMIT_REACHED', 'Seat limit reached: this tenant has no free seat (tenantSettings.maxMembers)', lockedView(row)));
              continue;
            }
          }
          if (used >= reservation.granted) {
            outcomes.set(id, failed(id, 'RATE_LIMITED', 'Email cap reached for this tenant; resend later', lockedView(row)));
            continue;
          }
          used++;
          if (reopen) freeSeats!--;
          updates.push({ id, tokenHash: hashToken(newSecretToken()), reopen, membershipId: row.membership_id, counters: decision.next });
          // Two revoked invitations of one removed member: only the first is reopened (one pending per member).
          if (reopen) memberships.set(row.membership_id, MembershipStatus.INVITED);
          const change = { status: StoredInvitationStatus.PENDING, expires_at: expiresAt, email_status: StoredEmailStatus.QUEUED, email_error: null };
          outcomes.set(id, { id, ok: true, code: null, message: null, invitation: lockedView(row, change) });
        }
        if (updates.length) {
          await tx.execute(
            `update invitation i set status = 'PENDING', revoked_at = null, token_hash = v.token_hash, expires_at = ?,
               email_status = 'QUEUED', email_error = null, email_attempts = 0, email_next_attempt_at = ?,
               email_claim_id = null, email_claimed_at = null, expiry_recorded_at = null,
               last_resent_at = v.last_resent_at, resend_window_start = v.window_start, resends_in_window = v.resends
             from unnest(?::uuid[], ?::text[], ?::timestamptz[], ?::timestamptz[], ?::int[]) as v(id, token_hash, last_resent_at, window_start, resends)
             where i.id = v.id and i.tenant_id = ?`,
            [
              expiresAt,
              now,
              pgArrayLiteral(updates.map((u) => u.id)),
              pgArrayLiteral(updates.map((u) => u.tokenHash)),
              pgArrayLiteral(updates.map((u) => u.counters.lastResentAt.toISOString())),
              pgArrayLiteral(updates.map((u) => u.counters.resendWindowStart.toISOString())),
              pgArrayLiteral(updates.map((u) => String(u.counters.resendsInWindow))),
              tenantId,
            ],
            'run',
          );
          const reopened = updates.filter((u) => u.reopen).map((u) => u.membershipId);
          if (reopened.length) {
            await tx.execute(`update membership set status = 'INVITED' where tenant_id = ? and id = any(?::uuid[])`, [tenantId, pgArrayLiteral(reopened)], 'run');
          }
          await this.emailQueue.enqueueInTransaction(tx);
        }
        return plan.ids.map((id, i) => plan.duplicateOf[i] ?? outcomes.get(plan.canonical[i]!) ?? failed(id, 'NOT_FOUND', 'Invitation not found'));
      });
      committed = true;
      return results.map((r, i) => ({ ...r, id: ids[i] }));
    } finally {
      // The whole reservation when nothing was committed; else what was not sent (not granted, or not resendable).
      const unused = committed ? plan.unique.length - used : plan.unique.length;
      if (unused > 0) await reservation.refund(unused);
    }
  }

  /** Like revoke, for many ids; see resendMany for the statements. */
  async revokeMany(ctx: RequestContext, ids: readonly string[]): Promise<InvitationActionResult[]> {
    const tenantId = ctx.requireTenantPermission('users:invite');
    const plan = planActionIds(ids);
    const results = await ctx.em.transactional(async (tx) => {
      const { invitations } = await lockMany(tx, tenantId, plan.unique);
      const outcomes = new Map<string, InvitationActionResult>();
      const revoked: Array<{ id: string; tokenHash: string; membershipId: string }> = [];
      const now = new Date();
      for (const id of plan.unique) {
        const row = invitations.get(id);
        if (!row) outcomes.set(id, failed(id, 'NOT_FOUND', 'Invitation not found'));
        else if (row.status === StoredInvitationStatus.ACCEPTED) {
          outcomes.set(id, failed(id, 'ALREADY_ACCEPTED', 'An accepted invitation cannot be revoked', lockedView(row)));
        } else if (row.status === StoredInvitationStatus.REVOKED) {
          outcomes.set(id, { id, ok: true, code: null, message: null, invitation: lockedView(row) });
        } else {
          revoked.push({ id, tokenHash: hashToken(newSecretToken()), membershipId: row.membership_id });
          const emailStatus = row.email_status === StoredEmailStatus.QUEUED ? StoredEmailStatus.NOT_REQUESTED : row.email_status;
          outcomes.set(id, { id, ok: true, code: null, message: null, invitation: lockedView(row, { status: StoredInvitationStatus.REVOKED, email_status: emailStatus }) });
        }
      }
      if (revoked.length) {
        await tx.execute(
          `update invitation i set status = 'REVOKED', revoked_at = ?, token_hash = v.token_hash,
             email_status = case when i.email_status = 'QUEUED' then 'NOT_REQUESTED' else i.email_status end
           from unnest(?::uuid[], ?::text[]) as v(id, token_hash)
           where i.id = v.id and i.tenant_id = ?`,
          [now, pgArrayLiteral(revoked.map((r) => r.id)), pgArrayLiteral(revoked.map((r) => r.tokenHash)), tenantId],
          'run',
        );
        await tx.execute(`update membership set status = 'REMOVED' where tenant_id = ? and id = any(?::uuid[])`, [
          tenantId,
          pgArrayLiteral(revoked.map((r) => r.membershipId)),
        ], 'run');
        await appendInvitationEvents(tx, 'invitation.revoked', { tenantId, ids: revoked.map((r) => r.id) });
      }
      return plan.ids.map((id, i) => plan.duplicateOf[i] ?? outcomes.get(plan.canonical[i]!) ?? failed(id, 'NOT_FOUND', 'Invitation not found'));
    });
    return results.map((r, i) => ({ ...r, id: ids[i] }));
  }

  /**
   * Locks an invitation and then its membership, in this order: every writer of an invitation (accept, resend,
   * revoke) takes the two row locks in the same order, so concurrent ones queue instead of deadlocking, and each
   * decides on the state the previous one committed.
   */
  private async lock(tx: EntityManager, where: FilterQuery<Invitation>, tenantId?: string): Promise<Invitation | null> {
    const filters = tenantId ? { tenant: { tenantId } } : { tenant: false as const };
    const invitation = await tx.findOne(Invitation, where, { lockMode: LockMode.PESSIMISTIC_WRITE, filters });
    if (!invitation) return null;
    await tx.findOneOrFail(Membership, invitation.membership.id, {
      lockMode: LockMode.PESSIMISTIC_WRITE,
      filters: { tenant: { tenantId: invitation.tenant.id } },
    });
    return invitation;
  }

  private async lockById(tx: EntityManager, tenantId: string, id: string): Promise<Invitation> {
    const invitation = isUuid(id) ? await this.lock(tx, { id: id.toLowerCase() }, tenantId) : null;
    if (!invitation) throw new DomainError('NOT_FOUND', 'Invitation not found');
    return invitation;
  }

  /**
   * A new token (the old link stops working), a fresh lifetime, and a new email. Resending a revoked invitation
   * invites the person again, unless they have been invited again since.
   */
  async resend(ctx: RequestContext, id: string, options: { force?: boolean } = {}): Promise<InvitationView> {
    const tenantId = ctx.requireTenantPermission('users:invite');
    const reservation = await this.emailBudget.reserve(ctx.em, tenantId, 1);
    if (reservation.granted === 0) {
      await reservation.refund();
      throw new DomainError('RATE_LIMITED', 'Email cap reached for this tenant; resend later', { retryAfterSeconds: 3600 });
    }
    try {
      return await ctx.em.transactional(async (tx) => {
        const seats = await lockSeatsForOne(tx, tenantId);
        const invitation = await this.lockById(tx, tenantId, id);
        if (invitation.status === StoredInvitationStatus.ACCEPTED) {
          throw new DomainError('BAD_USER_INPUT', 'An accepted invitation cannot be resent');
        }
        if (invitation.emailStatus === StoredEmailStatus.BOUNCED && !options.force) throw new DomainError('BAD_USER_INPUT', BOUNCED_RESEND_MESSAGE);
        if (invitation.status === StoredInvitationStatus.REVOKED) {
          if (invitation.membership.status !== MembershipStatus.REMOVED) {
            throw new DomainError('BAD_USER_INPUT', 'This person has been invited again since; resend their newer invitation');
          }
          // Invited again, the person takes a seat.
          if (!(await seats.hasFreeSeat())) throw new DomainError('BAD_USER_INPUT', 'Seat limit reached: this tenant has no free seat (tenantSettings.maxMembers)');
        }
        // Decided under the row lock: concurrent resends of one invitation queue here, and each sees the
        // counters the previous one committed, so exactly one of a burst gets through.
        this.admitResend(invitation, new Date());
        if (invitation.status === StoredInvitationStatus.REVOKED) {
          invitation.status = StoredInvitationStatus.PENDING;
          invitation.revokedAt = null;
          invitation.membership.status = MembershipStatus.INVITED;
        }
        Object.assign(invitation, {
          tokenHash: hashToken(newSecretToken()),
          expiresAt: new Date(Date.now() + this.config.invitationTtlDays * 24 * 60 * 60 * 1000),
          emailStatus: StoredEmailStatus.QUEUED,
          emailError: null,
          emailAttempts: 0,
          emailNextAttemptAt: new Date(),
          emailClaimId: null,
          emailClaimedAt: null,
          expiryRecordedAt: null,
        });
        await tx.flush();
        await this.emailQueue.enqueueInTransaction(tx);
        return toInvitationView(invitation);
      });
    } catch (error) {
      await reservation.refund();
      throw error;
    }
  }

  /**
   * At most one resend per invitation per cooldown and `resendsPerDay` per 24-hour window (OWASP API4: each one
   * is an email someone pays for and a person receives). Refuses with RATE_LIMITED before anything changes;
   * otherwise records this resend on the invitation.
   */
  private admitResend(invitation: Invitation, now: Date): void {
    const decision = decideResend(invitation, now, this.config.email);
    if (!decision.ok) throw new DomainError('RATE_LIMITED', decision.message, { retryAfterSeconds: decision.retryAfterSeconds });
    Object.assign(invitation, decision.next);
  }

  async revoke(ctx: RequestContext, id: string): Promise<InvitationView> {
    const tenantId = ctx.requireTenantPermission('users:invite');
    return ctx.em.transactional(async (tx) => {
      const invitation = await this.lockById(tx, tenantId, id);
      if (invitation.status === StoredInvitationStatus.ACCEPTED) {
        throw new DomainError('BAD_USER_INPUT', 'An accepted invitation cannot be revoked');
      }
      if (invitation.status === StoredInvitationStatus.PENDING) {
        invitation.status = StoredInvitationStatus.REVOKED;
        invitation.revokedAt = new Date();
        invitation.tokenHash = hashToken(newSecretToken());
        if (invitation.emailStatus === StoredEmailStatus.QUEUED) invitation.emailStatus = StoredEmailStatus.NOT_REQUESTED;
        invitation.membership.status = MembershipStatus.REMOVED;
        await tx.flush();
        await appendInvitationEvents(tx, 'invitation.revoked', { tenantId, ids: [invitation.id] });
      }
      return toInvitationView(invitation);
    });
  }

  /** The accept page's view of a token; GONE when it can no longer be used. Needs no JWT. */
  async inspectToken(ctx: RequestContext, token: string): Promise<PendingInvitationView> {
    const invitation = await this.findUsable(ctx.em, token);
    const tenant = await ctx.em.findOneOrFail(Tenant, invitation.tenant.id);
    const inviter = invitation.inviterName ?? invitation.invitedBy;
    return {
      invitation: toInvitationView(invitation),
      tenantName: tenant.name,
      message: invitation.message ?? null,
      inviterName: inviter ? stripDisplayControls(inviter) || null : null,
    };
  }

  /** Makes the membership active. The token is the credential: no JWT, so the tenant comes from the invitation. */
  async accept(ctx: RequestContext, token: string): Promise<AcceptOutcome> {
    return ctx.em.transactional(async (tx) => {
      const invitation = await this.findUsable(tx, token, true);
      const now = new Date();
      invitation.status = StoredInvitationStatus.ACCEPTED;
      invitation.acceptedAt = now;
      invitation.membership.status = MembershipStatus.ACTIVE;
      invitation.membership.activatedAt = now;
      // Nothing is left to send: an email still queued for this invitation would carry a dead link.
      if (invitation.emailStatus === StoredEmailStatus.QUEUED) invitation.emailStatus = StoredEmailStatus.NOT_REQUESTED;
      const tenant = await tx.findOneOrFail(Tenant, invitation.tenant.id);
      await tx.flush();
      await appendInvitationEvents(tx, 'invitation.accepted', { tenantId: invitation.tenant.id, ids: [invitation.id] });
      return { invitation: toInvitationView(invitation), redirectUrl: invitation.redirectUrl ?? null, tenantName: tenant.name };
    });
  }

  /**
   * The outcome of an acceptance this same token already made, if it was recent: a second press of the accept
   * button (a double click, a reload that re-posts, back-and-press) answers like the first instead of with an
   * error. Only the token's holder can ask, it changes nothing, and it tells nothing the first answer did not.
   */
  async recentAcceptance(ctx: RequestContext, token: string, withinMs: number): Promise<AcceptOutcome | null> {
    if (typeof token !== 'string' || token.length < 20 || token.length > 200) return null;
    const invitation = await ctx.em.findOne(Invitation, { tokenHash: hashToken(token) }, { filters: { tenant: false } });
    if (!invitation || invitation.status !== StoredInvitationStatus.ACCEPTED || !invitation.acceptedAt) return null;
    if (Date.now() - invitation.acceptedAt.getTime() > withinMs) return null;
    const tenant = await ctx.em.findOneOrFail(Tenant, invitation.tenant.id);
    return { invitation: toInvitationView(invitation), redirectUrl: invitation.redirectUrl ?? null, tenantName: tenant.name };
  }

  private async findUsable(em: EntityManager, token: string, lock = false): Promise<Invitation> {
    const valid = typeof token === 'string' && token.length >= 20 && token.length <= 200;
    // Looked up by the secret itself, before any tenant is known.
    const where = { tokenHash: valid ? hashToken(token) : '' };
    const invitation = !valid ? null : lock ? await this.lock(em, where) : await em.findOne(Invitation, where, { filters: { tenant: false }, populate: ['membership'] });
    if (!invitation) throw new DomainError('GONE', 'This invitation link is not valid');
    const status = effectiveStatus(invitation.status, invitation.expiresAt);
    if (status !== InvitationStatus.PENDING) {
      throw new DomainError('GONE', `This invitation has ${status === InvitationStatus.ACCEPTED ? 'already been used' : status === InvitationStatus.EXPIRED ? 'expired' : 'been revoked'}`);
    }
    return invitation;
  }
}

function failed(id: string, code: InvitationActionCode, message: string, invitation: InvitationView | null = null): InvitationActionResult {
  return { id, ok: false, code, message, invitation };
}

/**
 * The ids of a bulk action: at most MAX_ACTION_IDS; compared case-insensitively; an id that is not a UUID cannot
 * exist (NOT_FOUND); the same id again answers DUPLICATE_ID and the first occurrence is acted on.
 */
function planActionIds(ids: readonly string[]) {
  if (ids.length > MAX_ACTION_IDS) throw new DomainError('BAD_USER_INPUT', `At most ${MAX_ACTION_IDS} ids per call`);
  const seen = new Set<string>();
  const canonical: Array<string | null> = [];
  const duplicateOf: Array<InvitationActionResult | null> = [];
  for (const id of ids) {
    const key = isUuid(id) ? canonicalId(id) : null;
    canonical.push(key);
    if (key === null) duplicateOf.push(failed(id, 'NOT_FOUND', 'Invitation not found'));
    else if (seen.has(key)) duplicateOf.push(failed(id, 'DUPLICATE_ID', 'The same id appears earlier in this request'));
    else {
      seen.add(key);
      duplicateOf.push(null);
    }
  }
  return { ids, canonical, duplicateOf, unique: [...seen] };
}

/** Two locking reads, each ordered by id: the tenant's invitations among `ids`, then their memberships. */
async function lockMany(tx: EntityManager, tenantId: string, ids: string[]) {
  const invitations = new Map<string, LockedInvitation>();
  const memberships = new Map<string, MembershipStatus>();
  if (!ids.length) return { invitations, memberships };
  const rows = await tx.execute<LockedInvitation[]>(
    `select id, membership_id, email, status, email_status, email_error, expires_at, created_at, redirect_url,
       last_resent_at, resend_window_start, resends_in_window
     from invitation where tenant_id = ? and id = any(?::uuid[]) order by id for update`,
    [tenantId, pgArrayLiteral(ids)],
  );
  for (const row of rows) invitations.set(row.id, row);
  const membershipIds = [...new Set(rows.map((r) => r.membership_id))];
  if (membershipIds.length) {
    const members = await tx.execute<Array<{ id: string; status: MembershipStatus }>>(
      'select id, status from membership where tenant_id = ? and id = any(?::uuid[]) order by id for update',
      [tenantId, pgArrayLiteral(membershipIds)],
    );
    for (const m of members) memberships.set(m.id, m.status);
  }
  return { invitations, memberships };
}
