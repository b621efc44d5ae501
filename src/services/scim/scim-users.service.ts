import { randomUUID } from 'node:crypto';
import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { RequestContext } from '../../context';
import { isRetryableWriteConflict } from '../../db/errors';
import { reinviteMemberships } from '../../db/membership-writes';
import { pgArrayLiteral } from '../../db/pg-array';
import { confirmSeats } from '../../db/seats';
import { Membership, MembershipStatus, User } from '../../entities';
import { buildInviteRows } from '../bulk-invite/build-rows';
import type { InviteErrorCode } from '../bulk-invite/failures';
import { loadInviteLookups } from '../bulk-invite/lookups';
import { normalizeEmail, parseInvite, type ParsedInvite } from '../bulk-invite/parse-invite';
import { resolveInvites, type InvitePlan } from '../bulk-invite/resolve-invites';
import { UnreachableCaseError } from '../errors';
import { appendInvitationEvents, appendMemberEvents } from '../events';
import { canonicalId, isUuid } from '../ids';
import { MemberService } from '../member.service';
import type { BulkInviteGuard } from '../ports';
import { listFilter, type SqlCondition } from './filter';
import {
  listResponse,
  parsePaging,
  parseProjection,
  parseUserInput,
  project,
  shows,
  toScimUser,
  type ScimResourceJson,
  type ScimUserInput,
  type ScimUserRow,
  type Paging,
} from './mapping';
import { normalizeUserPatch, type UserChanges } from './patch';
import { SCHEMA } from './schemas';
import { ScimError, badRequest, conflict, notFound } from './scim-error';

const MAX_CONFLICT_RETRIES = 8;

/** A create's outcome, per input in order: the User, or why not. */
export type CreateOutcome = { ok: true; user: ScimResourceJson } | { ok: false; error: ScimError };

export interface ListQuery {
  filter?: unknown;
  startIndex?: unknown;
  count?: unknown;
  attributes?: unknown;
  excludedAttributes?: unknown;
}

/**
 * SCIM Users (contract section 10): the members of the token's tenant. REMOVED members are not SCIM users (they
 * answer 404, like ids of other tenants); INVITED ones are, and are `active`. Writes count people against the
 * tenant's bulk budgets (the same guard as bulk invites).
 *
 * State changes go through three functions, the ones that report member events: `createScimMembers` (set-based
 * creates, also for /Bulk), `updateScimMember` (PUT and PATCH) and `removeScimMember` (DELETE).
 */
export class ScimUserService {
  private readonly members = new MemberService();

  constructor(
    private readonly guard: BulkInviteGuard,
    /** Absolute base of `meta.location` and `$ref`: PUBLIC_URL + /scim/v2. */
    private readonly baseUrl: string,
  ) {}

  async list(ctx: RequestContext, query: ListQuery) {
    const tenantId = ctx.requireTenantPermission('tenant:admin');
    const paging = parsePaging(query);
    const projection = parseProjection(query, SCHEMA.user);
    const condition = listFilter(query.filter, 'User');
    const { countSql, pageSql, params, pageParams } = scimUserListSql(tenantId, condition, paging);
    const [[{ count }], rows] = await Promise.all([
      ctx.em.execute<Array<{ count: string }>>(countSql, params),
      paging.count === 0 ? Promise.resolve([]) : ctx.em.execute<Array<{ id: string }>>(pageSql, pageParams),
    ]);
    const users = await loadScimUsers(ctx.em, tenantId, rows.map((r) => r.id), { groups: shows(projection, 'groups') });
    return listResponse(users.map((u) => project(toScimUser(u, this.baseUrl), projection)), Number(count), paging);
  }

  async get(ctx: RequestContext, userId: string, query: ListQuery = {}): Promise<ScimResourceJson> {
    const tenantId = ctx.requireTenantPermission('tenant:admin');
    const projection = parseProjection(query, SCHEMA.user);
    const membershipId = await findMembershipId(ctx.em, tenantId, userId);
    const [user] = membershipId ? await loadScimUsers(ctx.em, tenantId, [membershipId], { groups: shows(projection, 'groups') }) : [];
    if (!user) throw notFound('User');
    return project(toScimUser(user, this.baseUrl), projection);
  }

  /** POST /Users: one create through the set-based path. */
  async create(ctx: RequestContext, body: unknown): Promise<ScimResourceJson> {
    const [outcome] = await this.createScimMembers(ctx, [body]);
    if (!outcome.ok) throw outcome.error;
    return outcome.user;
  }

  /**
   * Creates ACTIVE members (no invitation, no email) for every body, set-based: one lookup per kind and one
   * multi-row write per table, whatever the number (a /Bulk of 1,000 creates included). A person who left the
   * tenant (REMOVED) is brought back on their old membership row. Emits: member created / reactivated.
   */
  async createScimMembers(ctx: RequestContext, bodies: readonly unknown[]): Promise<CreateOutcome[]> {
    const tenantId = ctx.requireTenantPermission('tenant:admin');
    const outcomes: Array<CreateOutcome | null> = bodies.map(() => null);
    const inputs = new Map<number, ScimUserInput>();
    bodies.forEach((body, i) => {
      try {
        inputs.set(i, parseUserInput(body));
      } catch (error) {
        if (!(error instanceof ScimError)) throw error;
        outcomes[i] = { ok: false, error };
      }
    });
    // The invite's own checks of the email and the names (lengths, display controls).
    const people: ParsedInvite[] = [...inputs].map(([i, input]) =>
      parseInvite(i, {
        email: input.userName,
        firstName: input.givenName,
        lastName: input.familyName,
        nickName: input.nickName,
        userType: input.userType,
        managerId: input.managerId,
      }),
    );
    if (!people.length) return outcomes as CreateOutcome[];
    const release = await this.guard.check(tenantId, { owner: ctx.em, people: people.length });
    try {
      for (let attempt = 0; ; attempt++) {
        ctx.em.clear();
        try {
          const created = await this.decideAndWrite(ctx.em, tenantId, ctx.requireViewer().userId, people, inputs, outcomes);
          const users = await loadScimUsers(ctx.em, tenantId, [...created.values()], { groups: false });
          const byMembership = new Map(users.map((u) => [u.membershipId, u]));
          for (const [index, membershipId] of created) outcomes[index] = { ok: true, user: toScimUser(byMembership.get(membershipId)!, this.baseUrl) };
          return outcomes as CreateOutcome[];
        } catch (error) {
          if (!isRetryableWriteConflict(error) || attempt >= MAX_CONFLICT_RETRIES) throw error;
        }
      }
    } finally {
      release?.();
    }
  }

  /** Decides every person with the bulk invite's lookups and checks, then writes the accepted ones; returns index -> membership id. */
  private async decideAndWrite(
    em: EntityManager,
    tenantId: string,
    invitedBy: string,
    people: ParsedInvite[],
    inputs: Map<number, ScimUserInput>,
    outcomes: Array<CreateOutcome | null>,
  ): Promise<Map<number, string>> {
    const { lookups } = await loadInviteLookups(em, tenantId, people);
    const decisions = resolveInvites(people, lookups);
    // externalId is unique per tenant: one query for the ones current members hold, and the first of a batch wins.
    const externalIds = [...new Set([...inputs.values()].map((i) => i.externalId).filter((e): e is string => e !== null))];
    const held = externalIds.length
      ? await em.execute<Array<{ external_id: string; user_id: string }>>(
          "select external_id, user_id from membership where tenant_id = ? and external_id = any(?::text[]) and status <> 'REMOVED'",
          [tenantId, pgArrayLiteral(externalIds)],
        )
      : [];
    const externalIdHolder = new Map(held.map((h) => [h.external_id, h.user_id]));
    const plans: InvitePlan[] = [];
    for (const decision of decisions) {
      if (decision.kind === 'failed') {
        outcomes[decision.index] = { ok: false, error: createFailure(decision.failure.code, decision.failure.message) };
        continue;
      }
      const input = inputs.get(decision.plan.person.index)!;
      if (input.externalId !== null) {
        const holder = externalIdHolder.get(input.externalId);
        if (holder !== undefined && holder !== decision.plan.existingUser?.id) {
          outcomes[decision.plan.person.index] = { ok: false, error: conflict(`externalId ${input.externalId} is already used in this tenant`) };
          continue;
        }
        externalIdHolder.set(input.externalId, `batch:${decision.plan.person.index}`);
      }
      plans.push(decision.plan);
    }
    if (!plans.length) return new Map();

    const now = new Date();
    // The invite's rows (users, memberships, reused memberships, sorted for lock order). The invitation rows it
    // also builds are not written: SCIM members get no invitation, so the email options here are inert.
    const { rows, invited } = buildInviteRows(plans, {
      tenantId,
      invitedBy,
      now,
      expiresAt: now,
      sendEmail: false,
      emailsGranted: 0,
      overBudgetReason: '',
      redirectUrl: null,
      message: null,
      batchId: randomUUID(),
      acceptUrlBase: null,
    });
    // SCIM provisions: ACTIVE memberships without invitations; the identity provider's own fields beside.
    const membershipByUser = new Map<string, string>();
    for (const m of rows.memberships) membershipByUser.set(String(m.user), m.id!);
    for (const p of plans) if (p.previousMembership) membershipByUser.set(p.previousMembership.userId, p.previousMembership.id);
    const created = new Map<number, string>();
    const scimFields = invited.map((person) => {
      const input = inputs.get(person.index)!;
      const membershipId = membershipByUser.get(person.user.id)!;
      created.set(person.index, membershipId);
      return { membershipId, input };
    });
    const byMembership = new Map(scimFields.map((f) => [f.membershipId, f.input]));
    for (const m of rows.memberships) {
      const input = byMembership.get(m.id!)!;
      m.status = input.active === false ? MembershipStatus.SUSPENDED : MembershipStatus.ACTIVE;
      m.activatedAt = now;
      m.externalId = input.externalId;
      m.displayName = input.displayName;
    }
    await em.transactional(async (tx) => {
      await confirmSeats(tx, tenantId, { assumed: lookups.seats ?? { maxMembers: null, used: 0 }, taking: plans.length, refusedAny: decisions.some((d) => d.kind === 'failed' && d.failure.code === 'SEAT_LIMIT_REACHED') });
      await releaseRemovedExternalIds(tx, tenantId, plans.map((p) => inputs.get(p.person.index)!.externalId));
      if (rows.users.length) await tx.insertMany(User, rows.users);
      if (rows.memberships.length) await tx.insertMany(Membership, rows.memberships);
      if (rows.reinvitedMemberships.length) {
        await reinviteMemberships(tx, tenantId, rows.reinvitedMemberships, 'ACTIVE');
        const back = rows.reinvitedMemberships.map((r) => ({ id: r.id, input: byMembership.get(r.id)! }));
        await tx.execute(
          `update membership m set external_id = v.external_id, display_name = v.display_name,
             status = case when v.suspended then 'SUSPENDED' else m.status end
           from unnest(?::uuid[], ?::text[], ?::text[], ?::boolean[]) as v(id, external_id, display_name, suspended)
           where m.id = v.id and m.tenant_id = ?`,
          [
            pgArrayLiteral(back.map((b) => b.id)),
            pgArrayLiteral(back.map((b) => b.input.externalId)),
            pgArrayLiteral(back.map((b) => b.input.displayName)),
            pgArrayLiteral(back.map((b) => String(b.input.active === false))),
            tenantId,
          ],
          'run',
        );
      }
      // A member the identity provider created or brought back is a changed member for integrators.
      await appendMemberEvents(tx, 'member.updated', { tenantId, membershipIds: [...created.values()] });
    });
    return created;
  }

  /** PUT /Users/{id}: the body replaces the member's SCIM attributes (an absent one is cleared; absent `active` is kept). */
  async replace(ctx: RequestContext, userId: string, body: unknown): Promise<ScimResourceJson> {
    const input = parseUserInput(body);
    return this.updateScimMember(ctx, userId, {
      userName: input.userName,
      givenName: input.givenName,
      familyName: input.familyName,
      displayName: input.displayName,
      nickName: input.nickName,
      userType: input.userType,
      externalId: input.externalId,
      managerId: input.managerId,
      ...(input.active === null ? {} : { active: input.active }),
    });
  }

  /** PATCH /Users/{id}: normalised first (pure), then applied as one change set. */
  async patch(ctx: RequestContext, userId: string, body: unknown): Promise<ScimResourceJson> {
    ctx.requireTenantPermission('tenant:admin');
    return this.updateScimMember(ctx, userId, normalizeUserPatch(body, userId));
  }

  /**
   * Applies one change set to a member, in one transaction with the membership locked. `active: false` suspends
   * (an INVITED member's pending invitation is revoked too), `true` reactivates a SUSPENDED member. The email is
   * the platform-wide identity, shared with other tenants: a different userName is refused. Emits member.updated.
   */
  async updateScimMember(ctx: RequestContext, userId: string, changes: UserChanges): Promise<ScimResourceJson> {
    const tenantId = ctx.requireTenantPermission('tenant:admin');
    // The invite's checks of the names given (no email here: the person is named by id).
    const parsed = parseInvite(0, { firstName: changes.givenName, lastName: changes.familyName, nickName: changes.nickName, userType: changes.userType });
    const problem = parsed.problems.INVALID_INPUT;
    if (problem) throw badRequest('invalidValue', problem.message);
    const membershipId = await findMembershipId(ctx.em, tenantId, userId);
    if (!membershipId) throw notFound('User');
    const release = await this.guard.check(tenantId, { owner: ctx.em, people: 1 });
    try {
      await ctx.em.transactional(async (tx) => {
        const membership = await tx.findOne(Membership, { id: membershipId }, { populate: ['user'], lockMode: LockMode.PESSIMISTIC_WRITE });
        if (!membership || membership.status === MembershipStatus.REMOVED) throw notFound('User');
        for (const email of [changes.userName, changes.email]) {
          if (email !== undefined && normalizeEmail(email) !== membership.user.emailNormalized) {
            throw badRequest('mutability', 'userName and the work email are the person’s platform identity, shared with other tenants; they cannot be changed here');
          }
        }
        if (changes.givenName !== undefined) membership.firstName = parsed.firstName;
        if (changes.familyName !== undefined) membership.lastName = parsed.lastName;
        if (changes.nickName !== undefined) membership.nickName = parsed.nickName;
        if (changes.userType !== undefined) membership.userType = parsed.userType;
        if (changes.managerId !== undefined) membership.manager = changes.managerId === null ? null : tx.getReference(Membership, await managerMembershipId(tx, tenantId, changes.managerId, membership.user.id));
        if (changes.displayName !== undefined) membership.displayName = changes.displayName;
        if (changes.externalId !== undefined) {
          await releaseRemovedExternalIds(tx, tenantId, [changes.externalId]);
          membership.externalId = changes.externalId;
        }
        let revokeInvitations = false;
        if (changes.active === false && membership.status !== MembershipStatus.SUSPENDED) {
          revokeInvitations = membership.status === MembershipStatus.INVITED;
          membership.status = MembershipStatus.SUSPENDED;
        } else if (changes.active === true && membership.status === MembershipStatus.SUSPENDED) {
          membership.status = MembershipStatus.ACTIVE;
          membership.activatedAt ??= new Date();
        }
        await tx.flush();
        if (revokeInvitations) {
          const revoked = await tx.execute<Array<{ id: string }>>(
            `update invitation set status = 'REVOKED', revoked_at = now(),
               email_status = case when email_status = 'QUEUED' then 'NOT_REQUESTED' else email_status end
             where tenant_id = ? and membership_id = ? and status = 'PENDING' returning id`,
            [tenantId, membership.id],
          );
          await appendInvitationEvents(tx, 'invitation.revoked', { tenantId, ids: revoked.map((r) => r.id) });
        }
        await appendMemberEvents(tx, 'member.updated', { tenantId, membershipIds: [membership.id] });
      });
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) throw conflict(`externalId ${changes.externalId} is already used in this tenant`);
      throw error;
    } finally {
      release?.();
    }
    ctx.em.clear();
    const [user] = await loadScimUsers(ctx.em, tenantId, [membershipId], { groups: true });
    return toScimUser(user, this.baseUrl);
  }

  /**
   * DELETE /Users/{id}: the member becomes REMOVED (the platform user stays), through the management API's
   * removal (a pending invitation is revoked); the externalId is released. Emits member.removed.
   */
  async removeScimMember(ctx: RequestContext, userId: string): Promise<void> {
    const tenantId = ctx.requireTenantPermission('tenant:admin');
    const membershipId = await findMembershipId(ctx.em, tenantId, userId);
    if (!membershipId) throw notFound('User');
    const release = await this.guard.check(tenantId, { owner: ctx.em, people: 1 });
    try {
      await this.members.remove(ctx, userId);
      await ctx.em.execute('update membership set external_id = null where tenant_id = ? and id = ?', [tenantId, membershipId], 'run');
    } finally {
      release?.();
    }
  }
}

/**
 * The two statements of a Users page (its total and its membership ids), with `?` placeholders; shared with the
 * test that checks their plans on a 100,000-member tenant (the filters' comparisons are answered by indexes).
 */
export function scimUserListSql(tenantId: string, condition: SqlCondition, paging: Paging) {
  const from = `from membership m join users u on u.id = m.user_id where m.tenant_id = ? and m.status <> 'REMOVED' and ${condition.sql}`;
  const params = [tenantId, ...condition.params];
  return {
    countSql: `select count(*) as count ${from}`,
    pageSql: `select m.id ${from} order by m.created_at, m.id limit ? offset ?`,
    params,
    pageParams: [...params, paging.count, paging.startIndex - 1],
  };
}

function createFailure(code: InviteErrorCode, message: string): ScimError {
  switch (code) {
    case 'ALREADY_MEMBER':
      return conflict('A user with this userName already exists in this tenant');
    case 'DUPLICATE_IN_BATCH':
      return conflict(`The same userName is created earlier in this request (${message})`);
    case 'INVALID_EMAIL':
      return badRequest('invalidValue', 'userName must be an email address');
    case 'INVALID_INPUT':
    case 'INVALID_PHONE':
    case 'INVALID_COUNTRY':
    case 'INVALID_IPI':
    case 'DOMAIN_NOT_ALLOWED':
      return badRequest('invalidValue', message);
    case 'SEAT_LIMIT_REACHED':
      return new ScimError(403, message);
    // SCIM creates name no existing user, role, group, position or manager.
    case 'UNKNOWN_USER':
    case 'UNKNOWN_ROLE':
    case 'UNKNOWN_GROUP':
    case 'UNKNOWN_POSITION':
    case 'UNKNOWN_MANAGER':
      return badRequest('invalidValue', message);
    default:
      throw new UnreachableCaseError(code);
  }
}

/**
 * A member removed outside SCIM (removeMember, a revoked invitation) keeps their externalId, yet is no SCIM user:
 * the identity provider cannot find them. A user taking that externalId releases it, in the same transaction.
 */
async function releaseRemovedExternalIds(tx: EntityManager, tenantId: string, externalIds: ReadonlyArray<string | null>): Promise<void> {
  const taken = [...new Set(externalIds.filter((e): e is string => e !== null))];
  if (!taken.length) return;
  await tx.execute(
    "update membership set external_id = null where tenant_id = ? and status = 'REMOVED' and external_id = any(?::text[])",
    [tenantId, pgArrayLiteral(taken)],
    'run',
  );
}

/** The membership of a manager named by user id: a current member of this tenant, not the member themself. */
async function managerMembershipId(em: EntityManager, tenantId: string, managerUserId: string, memberUserId: string): Promise<string> {
  if (managerUserId === memberUserId) throw badRequest('invalidValue', 'A member cannot be their own manager');
  const id = await findMembershipId(em, tenantId, managerUserId);
  if (!id) throw badRequest('invalidValue', `manager ${managerUserId} is not a member of this tenant`);
  return id;
}

/** The membership of a SCIM user id in this tenant, unless REMOVED; null for ids of other tenants or none. */
export async function findMembershipId(em: EntityManager, tenantId: string, userId: string): Promise<string | null> {
  if (!isUuid(userId)) return null;
  const [row] = await em.execute<Array<{ id: string }>>(
    "select id from membership where tenant_id = ? and user_id = ? and status <> 'REMOVED'",
    [tenantId, canonicalId(userId)],
  );
  return row?.id ?? null;
}

/** Members as SCIM rows, in the order given: one query, and one more for their groups when shown. */
export async function loadScimUsers(em: EntityManager, tenantId: string, membershipIds: string[], options: { groups: boolean }): Promise<ScimUserRow[]> {
  if (!membershipIds.length) return [];
  const ids = pgArrayLiteral(membershipIds);
  const [rows, groupRows] = await Promise.all([
    em.execute<
      Array<{
        id: string;
        user_id: string;
        email: string;
        first_name: string | null;
        last_name: string | null;
        display_name: string | null;
        nick_name: string | null;
        user_type: string | null;
        external_id: string | null;
        manager_user_id: string | null;
        status: MembershipStatus;
        created_at: Date;
      }>
    >(
      // Each member by its primary key (lateral, `offset 0`), then checked against the tenant: with statistics
      // that predate this tenant's rows the planner would otherwise scan the tenant's whole range once per member.
      // The manager is reached by key too; the composite foreign key keeps it in the member's tenant.
      `select m.id, m.user_id, u.email, m.first_name, m.last_name, m.display_name, m.nick_name, m.user_type, m.external_id, mgr.user_id as manager_user_id, m.status, m.created_at
         from unnest(?::uuid[]) as selected(id)
         cross join lateral (select * from membership where id = selected.id offset 0) m
         join users u on u.id = m.user_id
         left join lateral (select user_id from membership where id = m.manager_id offset 0) mgr on true
        where m.tenant_id = ?`,
      [ids, tenantId],
    ),
    options.groups
      ? em.execute<Array<{ membership_id: string; id: string; name: string }>>(
          `select mg.membership_id, g.id, g.name from membership_group mg join tenant_group g on g.id = mg.group_id and g.tenant_id = mg.tenant_id
            where mg.tenant_id = ? and mg.membership_id = any(?::uuid[]) order by g.name`,
          [tenantId, ids],
        )
      : Promise.resolve([]),
  ]);
  const groups = new Map<string, Array<{ id: string; name: string }>>();
  for (const g of groupRows) groups.set(g.membership_id, [...(groups.get(g.membership_id) ?? []), { id: g.id, name: g.name }]);
  const byId = new Map(rows.map((r) => [r.id, r]));
  return membershipIds
    .map((id) => byId.get(id))
    .filter((r) => r !== undefined)
    .map((r) => ({
      membershipId: r.id,
      userId: r.user_id,
      email: r.email,
      givenName: r.first_name,
      familyName: r.last_name,
      displayName: r.display_name,
      nickName: r.nick_name,
      userType: r.user_type,
      externalId: r.external_id,
      managerUserId: r.manager_user_id,
      status: r.status,
      createdAt: new Date(r.created_at),
      groups: options.groups ? (groups.get(r.id) ?? []) : undefined,
    }));
}
