import { randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException, sql, type FilterQuery, type RequiredEntityData } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { isUuid } from './ids';
import type { AppConfig } from '../config';
import type { RequestContext } from '../context';
import {
  Group,
  IdempotencyRecord,
  Invitation,
  Membership,
  MembershipGroup,
  MembershipPosition,
  MembershipRole,
  MembershipStatus,
  Position,
  Role,
  EmailStatus,
  InvitationStatus,
  StoredEmailStatus,
  StoredInvitationStatus,
  Tenant,
  User,
} from '../entities';
import { DomainError } from './errors';
import { type InvitationView, type UserView, publicEmailStatus } from './invitation-view';
import {
  INVITE_ERROR_CODES,
  type InviteErrorCode,
  type InviteFailure,
  type InviteUserCommand,
  type NormalizedInvite,
  validateInvite,
} from './invite-validation';
import { isRedirectAllowed } from './redirect-policy';
import { EmailBudget as EmailQuota } from '../db/email-budget';
import { canonicalHash, placeholderTokenHashes, randomUuids } from './tokens';

export interface BulkInviteCommand {
  tenantId?: string | null;
  users: readonly InviteUserCommand[];
  sendEmail?: boolean | null;
  redirectUrl?: string | null;
  message?: string | null;
  dryRun?: boolean | null;
  idempotencyKey?: string | null;
}

export type InviteResult =
  | {
      kind: 'invited';
      index: number;
      email: string;
      existingUser: boolean;
      /** Null in a dry run for a person not yet on the platform. */
      user: UserView | null;
      /** Null in a dry run. */
      invitation: InvitationView | null;
    }
  | {
      kind: 'failed';
      index: number;
      email: string | null;
      code: InviteErrorCode;
      message: string;
      field?: string;
      /** DUPLICATE_IN_BATCH: the index of the entry that won. */
      firstIndex?: number;
      /** UNKNOWN_*: the ids (or role name) that were not found in this tenant. */
      unknown?: string[];
    };

export interface BulkInviteOutcome {
  total: number;
  successful: number;
  failed: number;
  dryRun: boolean;
  results: InviteResult[];
}

/** Where the email seam plugs in: called inside the transaction that created QUEUED invitations. */
export interface InvitationEmailQueue {
  enqueueInTransaction(em: EntityManager): Promise<void>;
}

/** Guards shared by every bulk request before anything is read or written (rate limits). */
export interface BulkInviteGuard {
  check(tenantId: string): void;
}

export const MAX_MESSAGE_LENGTH = 2000;
const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;
/** Concurrent requests inserting the same people: each retry sees the winners' rows, so this converges. */
const MAX_RACE_RETRIES = 8;

/** Column values keyed by entity property, relations by primary key. */
type EntityRows<T extends object> = RequiredEntityData<T>[];

const priority = new Map(INVITE_ERROR_CODES.map((code, i) => [code, i]));

interface Lookups {
  tenant: Tenant;
  usersByEmail: Map<string, User>;
  usersById: Map<string, User>;
  membershipsByUserId: Map<string, Membership>;
  rolesById: Map<string, Role>;
  rolesByName: Map<string, Role>;
  groupsById: Map<string, Group>;
  positionsById: Map<string, Position>;
}

/** A valid person, resolved against the tenant, ready to be written. */
interface Plan {
  invite: NormalizedInvite;
  existing: User | null;
  roles: Role[];
  groups: Array<{ group: Group; isPrimaryOrg: boolean }>;
  positions: Position[];
  manager: Membership | null;
}

function uniq(values: Iterable<string>): string[] {
  return [...new Set(values)];
}

function userView(user: User): UserView {
  return { id: user.id, email: user.email, firstName: user.firstName ?? null, lastName: user.lastName ?? null };
}

export class BulkInviteService {
  constructor(
    private readonly config: AppConfig,
    private readonly emailQueue: InvitationEmailQueue,
    private readonly guard: BulkInviteGuard = { check: () => undefined },
  ) {
    this.emailQuota = new EmailQuota(config.email.maxPerTenantPerHour);
  }

  private readonly emailQuota: EmailQuota;

  async bulkInviteUsers(ctx: RequestContext, command: BulkInviteCommand): Promise<BulkInviteOutcome> {
    const tenantId = ctx.requireTenantPermission('users:invite');
    const viewer = ctx.requireViewer();
    if (command.tenantId != null && command.tenantId !== tenantId) {
      throw new DomainError('FORBIDDEN', 'tenantId does not match the token');
    }
    this.assertRequestShape(command);
    this.guard.check(tenantId);

    const dryRun = command.dryRun === true;
    const key = dryRun ? null : (command.idempotencyKey ?? null);
    const requestHash = key ? canonicalHash({ ...command, idempotencyKey: undefined, tenantId: undefined }) : '';

    for (let attempt = 0; ; attempt++) {
      ctx.em.clear();
      if (key) {
        const replay = await this.findReplay(ctx.em, key, requestHash);
        if (replay) return replay;
      }
      const { lookups, plans, results } = await this.decide(ctx.em, tenantId, command.users);
      if (dryRun) return this.summarize(results, true);
      try {
        return await this.write(ctx.em, viewer.userId, lookups.tenant, command, plans, results, key, requestHash);
      } catch (error) {
        // Another request committed the same person (or the same idempotency key) first: decide again.
        if (error instanceof UniqueConstraintViolationException && attempt < MAX_RACE_RETRIES) {
          ctx.log.info({ attempt, constraint: (error as { constraint?: string }).constraint }, 'bulk invite raced; retrying');
          continue;
        }
        throw error;
      }
    }
  }

  private assertRequestShape(command: BulkInviteCommand): void {
    if (!Array.isArray(command.users)) throw new DomainError('BAD_USER_INPUT', 'users must be a list');
    if (command.users.length > this.config.bulkInviteMaxUsers) {
      throw new DomainError(
        'TOO_MANY_USERS',
        `At most ${this.config.bulkInviteMaxUsers} users per request (got ${command.users.length})`,
      );
    }
    if (command.message != null && command.message.length > MAX_MESSAGE_LENGTH) {
      throw new DomainError('BAD_USER_INPUT', `message must be at most ${MAX_MESSAGE_LENGTH} characters`);
    }
    // Line breaks and tabs are fine in a note; other control characters (NUL above all) are not text.
    if (command.message != null && /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(command.message)) {
      throw new DomainError('BAD_USER_INPUT', 'message contains control characters');
    }
    for (const [field, value] of [['redirectUrl', command.redirectUrl], ['idempotencyKey', command.idempotencyKey]] as const) {
      if (value != null && /[\u0000-\u001f\u007f]/.test(value)) throw new DomainError('BAD_USER_INPUT', `${field} contains control characters`);
    }
    if (command.redirectUrl != null && command.redirectUrl !== '' && !isRedirectAllowed(command.redirectUrl, this.config)) {
      throw new DomainError('BAD_USER_INPUT', 'redirectUrl is not an allowed redirect target');
    }
    const key = command.idempotencyKey;
    if (key != null && (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH)) {
      throw new DomainError('BAD_USER_INPUT', `idempotencyKey must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
    }
  }

  private async findReplay(em: EntityManager, key: string, requestHash: string): Promise<BulkInviteOutcome | null> {
    const record = await em.findOne(IdempotencyRecord, { key });
    if (!record) return null;
    if (record.createdAt.getTime() <= Date.now() - IDEMPOTENCY_WINDOW_MS) {
      // Past its 24 hours the key is free again; the old record would only block the new one.
      await em.nativeDelete(IdempotencyRecord, { id: record.id });
      return null;
    }
    if (record.requestHash !== requestHash) {
      throw new DomainError('IDEMPOTENCY_CONFLICT', 'This idempotency key was already used with a different request');
    }
    return record.outcome as BulkInviteOutcome;
  }

  /** Validates every user and resolves their references with one query per kind of lookup. */
  private async decide(em: EntityManager, tenantId: string, users: readonly InviteUserCommand[]) {
    const results: Array<InviteResult | undefined> = new Array(users.length);
    const failures = new Map<number, InviteFailure & { firstIndex?: number; unknown?: string[] }>();
    const candidates: NormalizedInvite[] = [];
    const emailOf = (i: number): string | null => {
      const raw = users[i]?.email;
      return typeof raw === 'string' && raw.trim() !== '' ? raw.trim() : null;
    };
    // Keeps the failure that comes first in the contract's order.
    const failWith = (index: number, failure: InviteFailure & { firstIndex?: number; unknown?: string[] }) => {
      const current = failures.get(index);
      if (!current || priority.get(failure.code)! < priority.get(current.code)!) failures.set(index, failure);
    };

    const firstByKey = new Map<string, number>();
    users.forEach((input, index) => {
      const validation = validateInvite(index, input ?? {});
      if (!validation.ok) return failWith(index, validation.failure);
      const invite = validation.value;
      const dedupeKey = invite.existingUserId ? `id:${invite.existingUserId.toLowerCase()}` : `email:${invite.emailNormalized}`;
      const first = firstByKey.get(dedupeKey);
      if (first !== undefined) {
        return failWith(index, { code: 'DUPLICATE_IN_BATCH', message: `Same person as users[${first}]`, firstIndex: first });
      }
      firstByKey.set(dedupeKey, index);
      if (invite.existingUserId && invite.emailNormalized) firstByKey.set(`email:${invite.emailNormalized}`, index);
      candidates.push(invite);
    });

    const lookups = await this.lookup(em, tenantId, candidates);
    const plans: Plan[] = [];
    const firstByPerson = new Map<string, number>();
    for (const invite of candidates) {
      const { index } = invite;
      let existing: User | null = null;
      if (invite.existingUserId) {
        existing = lookups.usersById.get(invite.existingUserId.toLowerCase()) ?? null;
        if (!existing) {
          failWith(index, { code: 'UNKNOWN_USER', message: 'No such user', field: 'existingUserId', unknown: [invite.existingUserId] });
          continue;
        }
        if (invite.emailNormalized && invite.emailNormalized !== existing.emailNormalized) {
          failWith(index, { code: 'INVALID_INPUT', message: 'email does not match existingUserId', field: 'email' });
          continue;
        }
      } else {
        existing = lookups.usersByEmail.get(invite.emailNormalized!) ?? null;
      }
      const person = existing ? `user:${existing.id}` : `email:${invite.emailNormalized}`;
      const first = firstByPerson.get(person);
      if (first !== undefined) {
        failWith(index, { code: 'DUPLICATE_IN_BATCH', message: `Same person as users[${first}]`, firstIndex: first });
        continue;
      }
      firstByPerson.set(person, index);

      const unknownRoles = invite.roleIds.filter((id) => !lookups.rolesById.has(id.toLowerCase()));
      const namedRole = invite.roleName ? lookups.rolesByName.get(invite.roleName.toLowerCase()) : undefined;
      if (invite.roleName && !namedRole) unknownRoles.push(invite.roleName);
      if (unknownRoles.length) {
        failWith(index, { code: 'UNKNOWN_ROLE', message: `Unknown role: ${unknownRoles.join(', ')}`, field: 'roles', unknown: unknownRoles });
        continue;
      }
      const unknownGroups = invite.groups.map((g) => g.groupId).filter((id) => !lookups.groupsById.has(id.toLowerCase()));
      if (unknownGroups.length) {
        failWith(index, { code: 'UNKNOWN_GROUP', message: `Unknown group: ${unknownGroups.join(', ')}`, field: 'groups', unknown: unknownGroups });
        continue;
      }
      const unknownPositions = invite.positionIds.filter((id) => !lookups.positionsById.has(id.toLowerCase()));
      if (unknownPositions.length) {
        failWith(index, {
          code: 'UNKNOWN_POSITION',
          message: `Unknown position: ${unknownPositions.join(', ')}`,
          field: 'positionIds',
          unknown: unknownPositions,
        });
        continue;
      }
      let manager: Membership | null = null;
      if (invite.managerId) {
        manager = lookups.membershipsByUserId.get(invite.managerId.toLowerCase()) ?? null;
        if (!manager || manager.status === MembershipStatus.REVOKED) {
          failWith(index, { code: 'UNKNOWN_MANAGER', message: 'The manager is not a member of this tenant', field: 'managerId', unknown: [invite.managerId] });
          continue;
        }
      }
      const membership = existing ? lookups.membershipsByUserId.get(existing.id) : undefined;
      if (membership) {
        const message =
          membership.status === MembershipStatus.REVOKED
            ? 'Their invitation to this tenant was revoked; resend that invitation to invite them again'
            : 'Already a member of, or invited to, this tenant';
        failWith(index, { code: 'ALREADY_MEMBER', message });
        continue;
      }
      const roles = invite.roleIds.map((id) => lookups.rolesById.get(id.toLowerCase())!);
      if (namedRole && !roles.includes(namedRole)) roles.push(namedRole);
      plans.push({
        invite,
        existing,
        roles,
        groups: invite.groups.map((g) => ({ group: lookups.groupsById.get(g.groupId.toLowerCase())!, isPrimaryOrg: g.isPrimaryOrg })),
        positions: invite.positionIds.map((id) => lookups.positionsById.get(id.toLowerCase())!),
        manager,
      });
    }

    for (const [index, failure] of failures) {
      results[index] = { kind: 'failed', index, email: emailOf(index), ...failure };
    }
    for (const plan of plans) {
      const email = plan.existing?.email ?? plan.invite.email!;
      results[plan.invite.index] = {
        kind: 'invited',
        index: plan.invite.index,
        email,
        existingUser: plan.existing !== null,
        user: plan.existing ? userView(plan.existing) : null,
        invitation: null,
      };
    }
    return { lookups, plans, results: results as InviteResult[] };
  }

  private async lookup(em: EntityManager, tenantId: string, invites: NormalizedInvite[]): Promise<Lookups> {
    const ids = (pick: (invite: NormalizedInvite) => Array<string | null>) =>
      uniq(invites.flatMap(pick).filter(isUuid).map((id) => id.toLowerCase()));
    const emails = uniq(invites.map((i) => (i.existingUserId ? null : i.emailNormalized)).filter((e): e is string => !!e));
    const existingUserIds = ids((i) => [i.existingUserId]);
    const managerUserIds = ids((i) => [i.managerId]);
    const roleIds = ids((i) => i.roleIds);
    const roleNames = uniq(invites.map((i) => i.roleName?.toLowerCase()).filter((n): n is string => !!n));
    const groupIds = ids((i) => i.groups.map((g) => g.groupId));
    const positionIds = ids((i) => i.positionIds);

    const userWhere: FilterQuery<User>[] = [];
    if (emails.length) userWhere.push({ emailNormalized: { $in: emails } });
    if (existingUserIds.length) userWhere.push({ id: { $in: existingUserIds } });
    const roleWhere: FilterQuery<Role>[] = [];
    if (roleIds.length) roleWhere.push({ id: { $in: roleIds } });
    if (roleNames.length) roleWhere.push({ [sql.lower('name')]: { $in: roleNames } });

    // Independent lookups go out together; only the memberships need the users first.
    const [tenant, users, roles, groups, positions] = await Promise.all([
      em.findOne(Tenant, tenantId),
      userWhere.length ? em.find(User, { $or: userWhere }) : [],
      roleWhere.length ? em.find(Role, { $or: roleWhere }) : [],
      groupIds.length ? em.find(Group, { id: { $in: groupIds } }) : [],
      positionIds.length ? em.find(Position, { id: { $in: positionIds } }) : [],
    ]);
    if (!tenant) throw new DomainError('FORBIDDEN', 'The token’s tenant does not exist');
    const usersByEmail = new Map(users.map((u) => [u.emailNormalized, u]));
    const usersById = new Map(users.map((u) => [u.id, u]));

    // Members among the invitees, and the managers, in one query (tenant-filtered).
    const memberUserIds = uniq([...users.map((u) => u.id), ...managerUserIds]);
    const memberships = memberUserIds.length ? await em.find(Membership, { user: { $in: memberUserIds } }) : [];
    const membershipsByUserId = new Map(memberships.map((m) => [m.user.id, m]));

    // By id, a person who belongs only to other tenants is as unknown as a missing one (their email must not
    // leak); people of this tenant, and people on the platform in no tenant yet, can be named by id.
    if (existingUserIds.length) {
      const anywhere = await em.find(
        Membership,
        { user: { $in: existingUserIds } },
        { filters: { tenant: false }, fields: ['user'] },
      );
      const inSomeTenant = new Set(anywhere.map((m) => m.user.id));
      for (const id of existingUserIds) {
        if (inSomeTenant.has(id) && !membershipsByUserId.has(id)) usersById.delete(id);
      }
    }

    return {
      tenant,
      usersByEmail,
      usersById,
      membershipsByUserId,
      rolesById: new Map(roles.map((r) => [r.id, r])),
      rolesByName: new Map(roles.map((r) => [r.name.toLowerCase(), r])),
      groupsById: new Map(groups.map((g) => [g.id, g])),
      positionsById: new Map(positions.map((p) => [p.id, p])),
    };
  }

  /**
   * All rows of the request in one transaction: one set-based INSERT per table, then the email job.
   * Rows go in through `insertMany` (one unnest statement per table, no change tracking): the unit of work's bookkeeping
   * for ~60,000 new entities cost ~4 s of CPU on a 10,000-user request.
   */
  private async write(
    em: EntityManager,
    invitedBy: string,
    tenant: Tenant,
    command: BulkInviteCommand,
    plans: Plan[],
    results: InviteResult[],
    key: string | null,
    requestHash: string,
  ): Promise<BulkInviteOutcome> {
    const sendEmail = command.sendEmail !== false;
    const redirectUrl = command.redirectUrl || null;
    const message = command.message?.trim() || null;
    const now = new Date();
    const expiresAt = new Date(now.getTime() + this.config.invitationTtlDays * 24 * 60 * 60 * 1000);
    const emailStatus = sendEmail ? StoredEmailStatus.QUEUED : StoredEmailStatus.NOT_REQUESTED;
    const tenantId = tenant.id;

    const users: EntityRows<User> = [];
    const memberships: EntityRows<Membership> = [];
    const roleLinks: EntityRows<MembershipRole> = [];
    const groupLinks: EntityRows<MembershipGroup> = [];
    const positionLinks: EntityRows<MembershipPosition> = [];
    const invitations: EntityRows<Invitation> = [];

    const tokenHashes = placeholderTokenHashes(plans.length);
    const ids = randomUuids(plans.length * 3);
    let nextId = 0;
    for (const [i, plan] of plans.entries()) {
      const { invite } = plan;
      let user: UserView;
      if (plan.existing) {
        user = userView(plan.existing);
      } else {
        user = { id: ids[nextId++], email: invite.email!, firstName: invite.firstName, lastName: invite.lastName };
        users.push({ ...user, emailNormalized: invite.emailNormalized!, createdAt: now });
      }
      const membership = ids[nextId++];
      memberships.push({
        id: membership,
        tenant: tenantId,
        user: user.id,
        status: MembershipStatus.INVITED,
        nickName: invite.nickName,
        userType: invite.userType,
        ipi: invite.ipi,
        phone: invite.phone,
        country: invite.country,
        manager: plan.manager?.id ?? null,
        invitedBy,
        createdAt: now,
      });
      for (const role of plan.roles) roleLinks.push({ tenant: tenantId, membership, role: role.id });
      for (const { group, isPrimaryOrg } of plan.groups) groupLinks.push({ tenant: tenantId, membership, group: group.id, isPrimaryOrg });
      for (const position of plan.positions) positionLinks.push({ tenant: tenantId, membership, position: position.id });
      const invitation = {
        id: ids[nextId++],
        tenant: tenantId,
        membership,
        email: user.email,
        // The real token is minted by the email worker at send time, so no plaintext token is ever stored.
        tokenHash: tokenHashes[i],
        status: StoredInvitationStatus.PENDING,
        expiresAt,
        redirectUrl,
        message,
        invitedBy,
        emailStatus,
        emailAttempts: 0,
        emailNextAttemptAt: sendEmail ? now : null,
        emailError: null as string | null,
        createdAt: now,
      };
      invitations.push(invitation);
      const result = results[invite.index];
      if (result.kind === 'invited') {
        result.user = user;
        result.invitation = {
          id: invitation.id,
          email: invitation.email,
          status: InvitationStatus.PENDING,
          emailStatus: publicEmailStatus(emailStatus),
          emailError: null,
          expiresAt: expiresAt.toISOString(),
          createdAt: now.toISOString(),
          redirectUrl,
        };
      }
    }
    // Past the tenant's hourly email budget, invitations are still created, with emailStatus FAILED and the reason.
    const reservation = await this.emailQuota.reserve(em, tenantId, sendEmail ? invitations.length : 0);
    if (reservation.granted < (sendEmail ? invitations.length : 0)) {
      const reason = `Email cap reached: at most ${this.config.email.maxPerTenantPerHour} invitation emails per hour for this tenant; resend later`;
      for (let i = reservation.granted; i < invitations.length; i++) {
        Object.assign(invitations[i], { emailStatus: StoredEmailStatus.FAILED, emailError: reason, emailNextAttemptAt: null });
        const result = results[plans[i].invite.index];
        if (result.kind === 'invited' && result.invitation) {
          result.invitation = { ...result.invitation, emailStatus: EmailStatus.FAILED, emailError: reason };
        }
      }
    }
    const outcome = this.summarize(results, false);

    try {
      const idempotency = key ? { key, requestHash } : null;
      return await this.insertAll(em, tenantId, { users, memberships, roleLinks, groupLinks, positionLinks, invitations }, idempotency, outcome);
    } catch (error) {
      await reservation.refund();
      throw error;
    }
  }

  private async insertAll(
    em: EntityManager,
    tenantId: string,
    rows: {
      users: EntityRows<User>;
      memberships: EntityRows<Membership>;
      roleLinks: EntityRows<MembershipRole>;
      groupLinks: EntityRows<MembershipGroup>;
      positionLinks: EntityRows<MembershipPosition>;
      invitations: EntityRows<Invitation>;
    },
    idempotency: { key: string; requestHash: string } | null,
    outcome: BulkInviteOutcome,
  ): Promise<BulkInviteOutcome> {
    const { users, memberships, roleLinks, groupLinks, positionLinks, invitations } = rows;
    return em.transactional(async (tx) => {
      await tx.insertMany(User, users);
      await tx.insertMany(Membership, memberships);
      await tx.insertMany(MembershipRole, roleLinks);
      await tx.insertMany(MembershipGroup, groupLinks);
      await tx.insertMany(MembershipPosition, positionLinks);
      await tx.insertMany(Invitation, invitations);
      if (idempotency) {
        await tx.insertMany(IdempotencyRecord, [{ id: randomUUID(), tenant: tenantId, ...idempotency, outcome, createdAt: new Date() }]);
      }
      if (invitations.some((row) => row.emailStatus === StoredEmailStatus.QUEUED)) await this.emailQueue.enqueueInTransaction(tx);
      return outcome;
    });
  }

  private summarize(results: InviteResult[], dryRun: boolean): BulkInviteOutcome {
    const successful = results.filter((r) => r.kind === 'invited').length;
    return { total: results.length, successful, failed: results.length - successful, dryRun, results };
  }
}
