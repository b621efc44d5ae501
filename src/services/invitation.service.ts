import { type FilterQuery, LockMode } from '@mikro-orm/core';
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
import { lockSeatsForOne } from '../db/seats';
import { hashToken, newSecretToken } from './tokens';

export const MAX_PAGE_SIZE = 500;
const DAY_MS = 24 * 60 * 60 * 1000;

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
    args: { status?: InvitationStatus | null; first?: number | null; after?: string | null },
  ): Promise<InvitationPage> {
    ctx.requireTenantPermission('users:read');
    const first = args.first ?? 50;
    if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) {
      throw new DomainError('BAD_USER_INPUT', `first must be between 0 and ${MAX_PAGE_SIZE}`);
    }
    const where = statusWhere(args.status, new Date());
    let pageWhere: FilterQuery<Invitation> = where;
    if (args.after) {
      const { createdAt, id } = decodeCursor(args.after);
      pageWhere = { $and: [where, { $or: [{ createdAt: { $lt: createdAt } }, { createdAt, id: { $lt: id } }] }] };
    }
    const [totalCount, rows] = await Promise.all([
      ctx.em.count(Invitation, where),
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
  async resend(ctx: RequestContext, id: string): Promise<InvitationView> {
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
        if (invitation.status === StoredInvitationStatus.REVOKED) {
          if (invitation.membership.status !== MembershipStatus.REVOKED) {
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
    const { resendCooldownSeconds, resendsPerDay } = this.config.email;
    const refuse = (untilMs: number, why: string) => {
      const retryAfterSeconds = Math.max(1, Math.ceil((untilMs - now.getTime()) / 1000));
      throw new DomainError('RATE_LIMITED', `${why}; retry in ${retryAfterSeconds} s`, { retryAfterSeconds });
    };
    const last = invitation.lastResentAt?.getTime();
    if (last !== undefined && now.getTime() - last < resendCooldownSeconds * 1000) {
      refuse(last + resendCooldownSeconds * 1000, `This invitation was resent less than ${resendCooldownSeconds} s ago`);
    }
    const windowStart = invitation.resendWindowStart?.getTime();
    const windowOpen = windowStart !== undefined && now.getTime() - windowStart < DAY_MS;
    const used = windowOpen ? invitation.resendsInWindow ?? 0 : 0;
    if (windowOpen && used >= resendsPerDay) {
      refuse(windowStart + DAY_MS, `This invitation was resent ${resendsPerDay} times in 24 hours`);
    }
    invitation.lastResentAt = now;
    invitation.resendWindowStart = windowOpen ? invitation.resendWindowStart : now;
    invitation.resendsInWindow = used + 1;
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
        invitation.membership.status = MembershipStatus.REVOKED;
        await tx.flush();
      }
      return toInvitationView(invitation);
    });
  }

  /** The accept page's view of a token; GONE when it can no longer be used. Needs no JWT. */
  async inspectToken(ctx: RequestContext, token: string): Promise<PendingInvitationView> {
    const invitation = await this.findUsable(ctx.em, token);
    const tenant = await ctx.em.findOneOrFail(Tenant, invitation.tenant.id);
    return { invitation: toInvitationView(invitation), tenantName: tenant.name, message: invitation.message ?? null };
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
