import { type FilterQuery, LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { isUuid } from './ids';
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
import type { InvitationEmailQueue } from './bulk-invite.service';
import { DomainError } from './errors';
import { type InvitationView, effectiveStatus, toInvitationView } from './invitation-view';
import { EmailQuota } from '../db/email-quota';
import { hashToken, newSecretToken } from './tokens';

export const MAX_PAGE_SIZE = 500;

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

function encodeCursor(invitation: Invitation): string {
  return Buffer.from(`${invitation.createdAt.toISOString()}|${invitation.id}`).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const [iso, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(iso);
  if (!isUuid(id) || Number.isNaN(createdAt.getTime())) throw new DomainError('BAD_USER_INPUT', 'Invalid cursor');
  return { createdAt, id };
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
  private readonly emailQuota: EmailQuota;

  constructor(
    private readonly config: AppConfig,
    private readonly emailQueue: InvitationEmailQueue,
  ) {
    this.emailQuota = new EmailQuota(config.email.maxPerTenantPerHour);
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

  private async findForUpdate(ctx: RequestContext, id: string): Promise<Invitation> {
    const invitation = isUuid(id) ? await ctx.em.findOne(Invitation, id, { populate: ['membership'] }) : null;
    if (!invitation) throw new DomainError('NOT_FOUND', 'Invitation not found');
    return invitation;
  }

  /**
   * A new token (the old link stops working), a fresh lifetime, and a new email. Resending a revoked invitation
   * invites the person again.
   */
  async resend(ctx: RequestContext, id: string): Promise<InvitationView> {
    ctx.requireTenantPermission('users:invite');
    const invitation = await this.findForUpdate(ctx, id);
    if (invitation.status === StoredInvitationStatus.ACCEPTED) {
      throw new DomainError('BAD_USER_INPUT', 'An accepted invitation cannot be resent');
    }
    const reservation = await this.emailQuota.reserve(ctx.em, invitation.tenant.id, 1);
    if (reservation.granted === 0) {
      await reservation.refund();
      throw new DomainError('RATE_LIMITED', 'Email cap reached for this tenant; resend later', { retryAfterSeconds: 3600 });
    }
    await ctx.em.transactional(async (tx) => {
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
    }).catch(async (error) => {
      await reservation.refund();
      throw error;
    });
    return toInvitationView(invitation);
  }

  async revoke(ctx: RequestContext, id: string): Promise<InvitationView> {
    ctx.requireTenantPermission('users:invite');
    const invitation = await this.findForUpdate(ctx, id);
    if (invitation.status === StoredInvitationStatus.ACCEPTED) {
      throw new DomainError('BAD_USER_INPUT', 'An accepted invitation cannot be revoked');
    }
    if (invitation.status === StoredInvitationStatus.PENDING) {
      invitation.status = StoredInvitationStatus.REVOKED;
      invitation.revokedAt = new Date();
      invitation.tokenHash = hashToken(newSecretToken());
      if (invitation.emailStatus === StoredEmailStatus.QUEUED) invitation.emailStatus = StoredEmailStatus.NOT_REQUESTED;
      invitation.membership.status = MembershipStatus.REVOKED;
      await ctx.em.flush();
    }
    return toInvitationView(invitation);
  }

  /** The accept page's view of a token; GONE when it can no longer be used. Needs no JWT. */
  async inspectToken(em: EntityManager, token: string): Promise<PendingInvitationView> {
    const invitation = await this.findUsable(em, token);
    const tenant = await em.findOneOrFail(Tenant, invitation.tenant.id);
    return { invitation: toInvitationView(invitation), tenantName: tenant.name, message: invitation.message ?? null };
  }

  /** Makes the membership active. The token is the credential: no JWT, so the tenant comes from the invitation. */
  async accept(em: EntityManager, token: string): Promise<AcceptOutcome> {
    return em.transactional(async (tx) => {
      const invitation = await this.findUsable(tx, token, true);
      const now = new Date();
      invitation.status = StoredInvitationStatus.ACCEPTED;
      invitation.acceptedAt = now;
      const tenantId = invitation.tenant.id;
      const membership = await tx.findOneOrFail(Membership, invitation.membership.id, { filters: { tenant: { tenantId } } });
      membership.status = MembershipStatus.ACTIVE;
      membership.activatedAt = now;
      const tenant = await tx.findOneOrFail(Tenant, tenantId);
      await tx.flush();
      return { invitation: toInvitationView(invitation), redirectUrl: invitation.redirectUrl ?? null, tenantName: tenant.name };
    });
  }

  /**
   * The outcome of an acceptance this same token already made, if it was recent: a second press of the accept
   * button (a double click, a reload that re-posts, back-and-press) answers like the first instead of with an
   * error. Only the token's holder can ask, it changes nothing, and it tells nothing the first answer did not.
   */
  async recentAcceptance(em: EntityManager, token: string, withinMs: number): Promise<AcceptOutcome | null> {
    if (typeof token !== 'string' || token.length < 20 || token.length > 200) return null;
    const invitation = await em.findOne(Invitation, { tokenHash: hashToken(token) }, { filters: { tenant: false } });
    if (!invitation || invitation.status !== StoredInvitationStatus.ACCEPTED || !invitation.acceptedAt) return null;
    if (Date.now() - invitation.acceptedAt.getTime() > withinMs) return null;
    const tenant = await em.findOneOrFail(Tenant, invitation.tenant.id);
    return { invitation: toInvitationView(invitation), redirectUrl: invitation.redirectUrl ?? null, tenantName: tenant.name };
  }

  private async findUsable(em: EntityManager, token: string, lock = false): Promise<Invitation> {
    const invitation =
      typeof token === 'string' && token.length >= 20 && token.length <= 200
        ? await em.findOne(
            Invitation,
            { tokenHash: hashToken(token) },
            // Looked up by the secret itself, before any tenant is known.
            { filters: { tenant: false }, ...(lock ? { lockMode: LockMode.PESSIMISTIC_WRITE } : {}) },
          )
        : null;
    if (!invitation) throw new DomainError('GONE', 'This invitation link is not valid');
    const status = effectiveStatus(invitation.status, invitation.expiresAt);
    if (status !== InvitationStatus.PENDING) {
      throw new DomainError('GONE', `This invitation has ${status === InvitationStatus.ACCEPTED ? 'already been used' : status.toLowerCase() === 'expired' ? 'expired' : 'been revoked'}`);
    }
    return invitation;
  }
}
