import { ForeignKeyConstraintViolationException, LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { RequestContext } from '../context';
import {
  CURRENT_MEMBERSHIP_STATUSES,
  Group,
  Invitation,
  Membership,
  MembershipGroup,
  MembershipPosition,
  MembershipRole,
  MembershipStatus,
  Position,
  Role,
  StoredEmailStatus,
  StoredInvitationStatus,
} from '../entities';
import { parseInvite } from './bulk-invite/parse-invite';
import { DomainError } from './errors';
import { appendInvitationEvents, appendMemberEvents } from './events';
import { canonicalId, isUuid } from './ids';
import { type InvitationView, type UserView, toInvitationView } from './invitation-view';
import { MAX_PAGE_SIZE, decodeCursor, encodeCursor } from './invitation.service';
import { hashToken, newSecretToken } from './tokens';

export interface MemberView {
  user: UserView;
  status: MembershipStatus;
  roles: Array<{ id: string; name: string }>;
  groups: Array<{ group: { id: string; name: string }; isPrimaryOrg: boolean }>;
  positions: Array<{ id: string; title: string }>;
  manager: UserView | null;
  nickName: string | null;
  userType: string | null;
  phone: string | null;
  country: string | null;
  /** InviteUserInput.metadata as stored on the member. */
  metadata: Record<string, unknown> | null;
  createdAt: string;
  activatedAt: string | null;
  /** The member's most recent invitation. */
  invitation: InvitationView | null;
}

export interface MemberPage {
  totalCount: number;
  nodes: MemberView[];
  hasNextPage: boolean;
  endCursor: string | null;
}

export interface MemberListArgs {
  status?: MembershipStatus | null;
  search?: string | null;
  roleId?: string | null;
  groupId?: string | null;
  first?: number | null;
  after?: string | null;
}

/** Fields of UpdateMemberInput: a field left out is kept; null clears it; lists replace the member's. */
export interface UpdateMemberCommand {
  firstName?: string | null;
  lastName?: string | null;
  nickName?: string | null;
  userType?: string | null;
  phone?: string | null;
  country?: string | null;
  roleIds?: string[] | null;
  groups?: Array<{ groupId: string; isPrimaryOrg?: boolean | null }> | null;
  positionIds?: string[] | null;
  managerId?: string | null;
  /** ACTIVE ↔ SUSPENDED only; removal is removeMember. */
  status?: MembershipStatus | null;
}

const MAX_SEARCH_LENGTH = 254;

/** A LIKE prefix pattern matching `text` literally (its %, _ and \ escaped). */
function prefixPattern(text: string): string {
  return `${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * The two statements of a members page (its total and its rows), with `?` placeholders. Shared with
 * scripts/explain-management.ts, which prints their plans on a 100,000-member tenant. Each condition is one an
 * index answers: status and the newest-first order (membership_tenant_status_created_idx or
 * membership_tenant_created_idx), the search as a union of three prefix scans (first name, last name, email on
 * users; an OR would leave them to a filter), the role and group through their link indexes.
 */
export function memberListSql(
  tenantId: string,
  args: { status: string | null; search: string; roleId: string | null; groupId: string | null; cursor: { createdAt: Date; id: string } | null; limit: number },
) {
  const conditions = ['m.tenant_id = ?'];
  const params: unknown[] = [tenantId];
  if (args.status) {
    conditions.push('m.status = ?');
    params.push(args.status);
  }
  if (args.search) {
    const pattern = prefixPattern(args.search);
    conditions.push(
      `m.id in (select s.id from membership s where s.tenant_id = ? and lower(s.first_name) like ?
        union all select s.id from membership s where s.tenant_id = ? and lower(s.last_name) like ?
        union all select s.id from membership s join users u on u.id = s.user_id where s.tenant_id = ? and u.email_normalized like ?)`,
    );
    params.push(tenantId, pattern, tenantId, pattern, tenantId, pattern);
  }
  if (args.roleId) {
    conditions.push('exists (select 1 from membership_role r where r.tenant_id = m.tenant_id and r.role_id = ? and r.membership_id = m.id)');
    params.push(args.roleId);
  }
  if (args.groupId) {
    conditions.push('exists (select 1 from membership_group g where g.tenant_id = m.tenant_id and g.group_id = ? and g.membership_id = m.id)');
    params.push(args.groupId);
  }
  const where = conditions.join(' and ');
  const pageWhere = args.cursor ? `${where} and (m.created_at, m.id) < (?, ?)` : where;
  return {
    countSql: `select count(*) as count from membership m where ${where}`,
    pageSql: `select m.id, m.created_at from membership m where ${pageWhere} order by m.created_at desc, m.id desc limit ?`,
    params,
    pageParams: [...params, ...(args.cursor ? [args.cursor.createdAt, args.cursor.id] : []), args.limit],
  };
}

function userView(membership: Membership): UserView {
  return {
    id: membership.user.id,
    email: membership.user.email,
    firstName: membership.firstName ?? null,
    lastName: membership.lastName ?? null,
  };
}

/**
 * The members of the token's tenant: a page answered from the membership indexes (status, newest first, name
 * prefixes; email prefixes on users), then each page's details with one query per kind, whatever its size.
 */
export class MemberService {
  async list(ctx: RequestContext, args: MemberListArgs): Promise<MemberPage> {
    const tenantId = ctx.requireTenantPermission('users:read');
    const first = args.first ?? 50;
    if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) {
      throw new DomainError('BAD_USER_INPUT', `first must be between 0 and ${MAX_PAGE_SIZE}`);
    }
    const search = args.search?.trim().toLowerCase() ?? '';
    if (search.length > MAX_SEARCH_LENGTH) throw new DomainError('BAD_USER_INPUT', `search takes at most ${MAX_SEARCH_LENGTH} characters`);
    const cursor = args.after ? decodeCursor(args.after) : null;
    // An id that is not a UUID cannot exist (like another tenant's id): nobody holds it.
    for (const id of [args.roleId, args.groupId]) {
      if (id !== null && id !== undefined && !isUuid(id)) return { totalCount: 0, nodes: [], hasNextPage: false, endCursor: null };
    }

    const { countSql, pageSql, params, pageParams } = memberListSql(tenantId, {
      status: args.status ?? null,
      search,
      roleId: args.roleId ? canonicalId(args.roleId) : null,
      groupId: args.groupId ? canonicalId(args.groupId) : null,
      cursor,
      limit: first + 1,
    });
    const [[{ count }], rows] = await Promise.all([
      ctx.em.execute<Array<{ count: string }>>(countSql, params),
      ctx.em.execute<Array<{ id: string; created_at: Date }>>(pageSql, pageParams),
    ]);
    const page = rows.slice(0, first);
    const last = page[page.length - 1];
    return {
      totalCount: Number(count),
      nodes: await loadMembers(ctx.em, page.map((r) => r.id)),
      hasNextPage: rows.length > first,
      endCursor: last ? encodeCursor({ createdAt: new Date(last.created_at), id: last.id }) : null,
    };
  }

  /** Null when the person is not a member of this tenant (whatever their status), like an id that does not exist. */
  async get(ctx: RequestContext, userId: string): Promise<MemberView | null> {
    ctx.requireTenantPermission('users:read');
    if (!isUuid(userId)) return null;
    const membership = await ctx.em.findOne(Membership, { user: canonicalId(userId) }, { fields: ['id'] });
    if (!membership) return null;
    const [member] = await loadMembers(ctx.em, [membership.id]);
    return member ?? null;
  }

  async update(ctx: RequestContext, userId: string, input: UpdateMemberCommand): Promise<MemberView> {
    const tenantId = ctx.requireTenantPermission('tenant:admin');
    // The invite's own checks for each field given (lengths, controls, phone, country, ids, one primary group).
    const parsed = parseInvite(0, {
      existingUserId: userId,
      firstName: input.firstName,
      lastName: input.lastName,
      nickName: input.nickName,
      userType: input.userType,
      phone: input.phone,
      country: input.country,
      roleIds: input.roleIds ?? undefined,
      groups: input.groups?.map((g) => ({ groupId: g.groupId, isPrimaryOrg: g.isPrimaryOrg ?? false })) ?? undefined,
      positionIds: input.positionIds ?? undefined,
      managerId: input.managerId,
    });
    const problem = Object.values(parsed.problems)[0];
    if (problem) throw new DomainError('BAD_USER_INPUT', problem.message);
    if (!isUuid(userId)) throw new DomainError('NOT_FOUND', 'Member not found');
    const memberUserId = canonicalId(userId);
    if (parsed.managerId !== null && parsed.managerId === memberUserId) {
      throw new DomainError('BAD_USER_INPUT', 'A member cannot be their own manager');
    }

    const membershipId = await ctx.em.transactional(async (tx) => {
      const membership = await tx.findOne(Membership, { user: memberUserId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!membership) throw new DomainError('NOT_FOUND', 'Member not found');
      if (membership.status === MembershipStatus.REMOVED) {
        throw new DomainError('BAD_USER_INPUT', 'This member has been removed; invite them again instead');
      }
      const managerMembershipId = await this.checkReferences(tx, parsed);
      if (input.status) applyStatusChange(membership, input.status);

      for (const field of ['firstName', 'lastName', 'nickName', 'userType'] as const) {
        if (input[field] !== undefined) membership[field] = parsed[field];
      }
      if (input.phone !== undefined) membership.phone = parsed.phone;
      if (input.country !== undefined) membership.country = parsed.country;
      if (input.managerId !== undefined) {
        membership.manager = managerMembershipId ? tx.getReference(Membership, managerMembershipId) : null;
      }
      await tx.flush();

      // Lists given replace the member's: one delete and one insert per list.
      const replace = async (entity: typeof MembershipRole | typeof MembershipGroup | typeof MembershipPosition, rows: never[]) => {
        await tx.nativeDelete(entity, { membership: membership.id });
        if (rows.length) await tx.insertMany(entity, rows);
      };
      if (input.roleIds !== undefined) {
        await replace(MembershipRole, parsed.roleIds.map((role) => ({ tenant: tenantId, membership: membership.id, role }) as never));
      }
      if (input.groups !== undefined) {
        await replace(
          MembershipGroup,
          parsed.groups.map((g) => ({ tenant: tenantId, membership: membership.id, group: g.groupId, isPrimaryOrg: g.isPrimaryOrg }) as never),
        );
      }
      if (input.positionIds !== undefined) {
        await replace(MembershipPosition, parsed.positionIds.map((position) => ({ tenant: tenantId, membership: membership.id, position }) as never));
      }
      await appendMemberEvents(tx, 'member.updated', { tenantId, membershipIds: [membership.id] });
      return membership.id;
    }).catch((error: unknown) => {
      // A role, group or position deleted between the check and the insert of its link.
      if (error instanceof ForeignKeyConstraintViolationException) {
        throw new DomainError('BAD_USER_INPUT', 'A role, group, position or manager named was deleted meanwhile; try again');
      }
      throw error;
    });
    ctx.em.clear();
    const [member] = await loadMembers(ctx.em, [membershipId]);
    return member;
  }

  /** Unknown ids (missing, or another tenant's) are named; a manager must be a current member. */
  private async checkReferences(tx: EntityManager, parsed: ReturnType<typeof parseInvite>): Promise<string | null> {
    const groupIds = parsed.groups.map((g) => g.groupId);
    const valid = (ids: string[]) => ids.filter(isUuid);
    const [roles, groups, positions, manager] = await Promise.all([
      valid(parsed.roleIds).length ? tx.find(Role, { id: { $in: valid(parsed.roleIds) } }, { fields: ['id'] }) : [],
      valid(groupIds).length ? tx.find(Group, { id: { $in: valid(groupIds) } }, { fields: ['id'] }) : [],
      valid(parsed.positionIds).length ? tx.find(Position, { id: { $in: valid(parsed.positionIds) } }, { fields: ['id'] }) : [],
      parsed.managerId && isUuid(parsed.managerId) ? tx.findOne(Membership, { user: parsed.managerId }, { fields: ['id', 'status'] }) : null,
    ]);
    const unknown = (label: string, wanted: string[], found: Array<{ id: string }>) => {
      const known = new Set(found.map((f) => f.id));
      const missing = wanted.filter((id) => !known.has(id));
      if (missing.length) throw new DomainError('BAD_USER_INPUT', `Unknown ${label}: ${missing.join(', ')}`);
    };
    unknown('role ids', parsed.roleIds, roles);
    unknown('group ids', groupIds, groups);
    unknown('position ids', parsed.positionIds, positions);
    if (parsed.managerId && (!manager || !CURRENT_MEMBERSHIP_STATUSES.has(manager.status))) {
      throw new DomainError('BAD_USER_INPUT', `Unknown manager: ${parsed.managerId} is not a current member of this tenant`);
    }
    return manager?.id ?? null;
  }

  /**
   * Status REMOVED; a pending invitation is revoked (its link stops working, a queued email is not sent). Locks
   * the pending invitation and then the membership, the order of every invitation writer. Removing a removed
   * member changes nothing.
   */
  async remove(ctx: RequestContext, userId: string): Promise<MemberView> {
    const tenantId = ctx.requireTenantPermission('tenant:admin');
    const found = isUuid(userId) ? await ctx.em.findOne(Membership, { user: canonicalId(userId) }, { fields: ['id'] }) : null;
    if (!found) throw new DomainError('NOT_FOUND', 'Member not found');
    await ctx.em.transactional(async (tx) => {
      const pending = await tx.find(
        Invitation,
        { membership: found.id, status: StoredInvitationStatus.PENDING },
        { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { id: 'asc' } },
      );
      const membership = await tx.findOneOrFail(Membership, found.id, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (membership.status === MembershipStatus.REMOVED && !pending.length) return;
      const now = new Date();
      membership.status = MembershipStatus.REMOVED;
      for (const invitation of pending) {
        invitation.status = StoredInvitationStatus.REVOKED;
        invitation.revokedAt = now;
        invitation.tokenHash = hashToken(newSecretToken());
        if (invitation.emailStatus === StoredEmailStatus.QUEUED) invitation.emailStatus = StoredEmailStatus.NOT_REQUESTED;
      }
      await tx.flush();
      await appendInvitationEvents(tx, 'invitation.revoked', { tenantId, ids: pending.map((i) => i.id) });
      await appendMemberEvents(tx, 'member.removed', { tenantId, membershipIds: [membership.id] });
    });
    ctx.em.clear();
    const [member] = await loadMembers(ctx.em, [found.id]);
    return member;
  }
}

function applyStatusChange(membership: Membership, wanted: MembershipStatus): void {
  if (wanted === membership.status) return;
  if (wanted === MembershipStatus.SUSPENDED && membership.status === MembershipStatus.ACTIVE) {
    membership.status = MembershipStatus.SUSPENDED;
  } else if (wanted === MembershipStatus.ACTIVE && membership.status === MembershipStatus.SUSPENDED) {
    membership.status = MembershipStatus.ACTIVE;
  } else {
    throw new DomainError(
      'BAD_USER_INPUT',
      `status can go from ACTIVE to SUSPENDED and back; not from ${membership.status} to ${wanted} (removal is removeMember)`,
    );
  }
}

/** Members by membership id, in the order given: one query per kind of detail, whatever the number. */
export async function loadMembers(em: EntityManager, membershipIds: string[]): Promise<MemberView[]> {
  if (!membershipIds.length) return [];
  const [memberships, roleLinks, groupLinks, positionLinks, invitations] = await Promise.all([
    em.find(Membership, { id: { $in: membershipIds } }, { populate: ['user'] }),
    em.find(MembershipRole, { membership: { $in: membershipIds } }, { populate: ['role'], orderBy: { role: { name: 'asc' } } }),
    em.find(MembershipGroup, { membership: { $in: membershipIds } }, { populate: ['group'], orderBy: { group: { name: 'asc' } } }),
    em.find(MembershipPosition, { membership: { $in: membershipIds } }, { populate: ['position'], orderBy: { position: { title: 'asc' } } }),
    em.find(Invitation, { membership: { $in: membershipIds } }, { orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
  ]);
  const managerIds = [...new Set(memberships.map((m) => m.manager?.id).filter((id): id is string => !!id))];
  const managers = managerIds.length ? await em.find(Membership, { id: { $in: managerIds } }, { populate: ['user'] }) : [];
  const managersById = new Map(managers.map((m) => [m.id, userView(m)]));
  const group = <T, V>(rows: T[], key: (row: T) => string, value: (row: T) => V) => {
    const map = new Map<string, V[]>();
    for (const row of rows) map.set(key(row), [...(map.get(key(row)) ?? []), value(row)]);
    return map;
  };
  const roles = group(roleLinks, (l) => l.membership.id, (l) => ({ id: l.role.id, name: l.role.name }));
  const groups = group(groupLinks, (l) => l.membership.id, (l) => ({ group: { id: l.group.id, name: l.group.name }, isPrimaryOrg: l.isPrimaryOrg }));
  const positions = group(positionLinks, (l) => l.membership.id, (l) => ({ id: l.position.id, title: l.position.title }));
  const latestInvitation = new Map<string, Invitation>();
  for (const invitation of invitations) if (!latestInvitation.has(invitation.membership.id)) latestInvitation.set(invitation.membership.id, invitation);
  const byId = new Map(memberships.map((m) => [m.id, m]));
  return membershipIds
    .map((id) => byId.get(id))
    .filter((m): m is Membership => !!m)
    .map((m) => {
      const invitation = latestInvitation.get(m.id);
      return {
        user: userView(m),
        status: m.status,
        roles: roles.get(m.id) ?? [],
        groups: groups.get(m.id) ?? [],
        positions: positions.get(m.id) ?? [],
        manager: m.manager ? (managersById.get(m.manager.id) ?? null) : null,
        nickName: m.nickName ?? null,
        userType: m.userType ?? null,
        phone: m.phone ?? null,
        country: m.country ?? null,
        metadata: m.metadata ?? null,
        createdAt: m.createdAt.toISOString(),
        activatedAt: m.activatedAt?.toISOString() ?? null,
        invitation: invitation ? toInvitationView(invitation) : null,
      };
    });
}
