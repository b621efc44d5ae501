import { sql, type FilterQuery } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { CURRENT_MEMBERSHIP_STATUSES, Group, Membership, Position, Role, Tenant, User } from '../../entities';
import { countSeats } from '../../db/seats';
import { DomainError } from '../errors';
import { isUuid } from '../ids';
import { pgArrayLiteral } from '../../db/pg-array';
import type { ParsedInvite } from './parse-invite';
import type { InviteLookups, KnownMembership } from './resolve-invites';

function uniq(values: Iterable<string>): string[] {
  return [...new Set(values)];
}

/** Memberships that hold a seat (INVITED, ACTIVE, SUSPENDED): such a person is ALREADY_MEMBER; a REMOVED one can be invited again. */
const CURRENT = CURRENT_MEMBERSHIP_STATUSES;

/**
 * Everything the checks need to know from the database, with one query per kind of lookup (tenant, users,
 * memberships, roles by id or name, groups, positions), whatever the number of people. Ids that are not
 * UUIDs cannot exist and are not sent.
 */
export async function loadInviteLookups(em: EntityManager, tenantId: string, people: readonly ParsedInvite[]): Promise<{ tenant: Tenant; lookups: InviteLookups }> {
  const ids = (pick: (person: ParsedInvite) => ReadonlyArray<string | null>) => uniq(people.flatMap(pick).filter(isUuid));
  const emails = uniq(people.map((p) => p.emailNormalized).filter((e): e is string => e !== null));
  const existingUserIds = ids((p) => [p.existingUserId]);
  const managerUserIds = ids((p) => [p.managerId]);
  const roleIds = ids((p) => p.roleIds);
  const roleNames = uniq(people.map((p) => p.roleName?.toLowerCase()).filter((n): n is string => !!n));
  const groupIds = ids((p) => p.groups.map((g) => g.groupId));
  const positionIds = ids((p) => p.positionIds);

  // Thousands of emails travel as one array parameter (`= any(?)`), not as an IN list of literals.
  const userWhere: string[] = [];
  const userParams: string[] = [];
  if (emails.length) {
    userWhere.push('email_normalized = any(?::text[])');
    userParams.push(pgArrayLiteral(emails));
  }
  if (existingUserIds.length) {
    userWhere.push('id = any(?::uuid[])');
    userParams.push(pgArrayLiteral(existingUserIds));
  }
  const roleWhere: FilterQuery<Role>[] = [];
  if (roleIds.length) roleWhere.push({ id: { $in: roleIds } });
  if (roleNames.length) roleWhere.push({ [sql.lower('name')]: { $in: roleNames } });

  // Independent lookups go out together; only the memberships need the users first.
  const [tenant, users, roles, groups, positions] = await Promise.all([
    em.findOne(Tenant, tenantId),
    userWhere.length ? em.createQueryBuilder(User).select('*').where(userWhere.join(' or '), userParams).getResultList() : [],
    roleWhere.length ? em.find(Role, { $or: roleWhere }) : [],
    groupIds.length ? em.find(Group, { id: { $in: groupIds } }) : [],
    positionIds.length ? em.find(Position, { id: { $in: positionIds } }) : [],
  ]);
  if (!tenant) throw new DomainError('UNAUTHENTICATED', 'The token’s tenant does not exist');

  // This tenant's memberships of the invitees and the managers (tenant-filtered), and for people named by id,
  // whether they belong to any tenant at all: one query.
  const memberUserIds = uniq([...users.map((u) => u.id), ...managerUserIds]);
  const membershipWhere: FilterQuery<Membership>[] = [];
  if (memberUserIds.length) membershipWhere.push({ tenant: tenantId, user: { $in: memberUserIds } });
  if (existingUserIds.length) membershipWhere.push({ user: { $in: existingUserIds } });
  const maxMembers = tenant.maxMembers ?? null;
  const [memberships, seatsUsed] = await Promise.all([
    membershipWhere.length
      ? em.find(Membership, { $or: membershipWhere }, { filters: { tenant: false }, fields: ['id', 'user', 'tenant', 'status', 'firstName', 'lastName'] })
      : [],
    // Counted only when there is a limit to count against; the write re-counts under the tenant's row lock.
    maxMembers === null ? 0 : countSeats(em, tenantId),
  ]);
  const membershipsByUserId = new Map<string, KnownMembership>();
  const inSomeTenant = new Set<string>();
  for (const m of memberships) {
    inSomeTenant.add(m.user.id);
    if (m.tenant.id !== tenantId) continue;
    membershipsByUserId.set(m.user.id, {
      id: m.id,
      userId: m.user.id,
      current: CURRENT.has(m.status),
      canManage: CURRENT.has(m.status),
      firstName: m.firstName ?? null,
      lastName: m.lastName ?? null,
    });
  }

  const known = (u: User) => ({ id: u.id, email: u.email, emailNormalized: u.emailNormalized });
  const usersById = new Map<string, ReturnType<typeof known>>();
  // By id, a person who belongs only to other tenants is as unknown as a missing id (their email must not leak);
  // people of this tenant, and people on the platform in no tenant yet, can be named by id.
  for (const user of users) {
    if (membershipsByUserId.has(user.id) || !inSomeTenant.has(user.id)) usersById.set(user.id, known(user));
  }
  return {
    tenant,
    lookups: {
      usersByEmail: new Map(users.map((u) => [u.emailNormalized, known(u)])),
      usersById,
      membershipsByUserId,
      roleIds: new Set(roles.map((r) => r.id)),
      roleIdsByName: new Map(roles.map((r) => [r.name.toLowerCase(), r.id])),
      groupIds: new Set(groups.map((g) => g.id)),
      positionIds: new Set(positions.map((p) => p.id)),
      allowedEmailDomains: tenant.allowedEmailDomains ?? [],
      seats: { maxMembers, used: seatsUsed },
    },
  };
}
