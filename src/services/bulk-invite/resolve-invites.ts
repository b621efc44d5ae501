import { emailDomain, isDomainAllowed } from '../email-domains';
import type { ParsedInvite } from './parse-invite';
import type { InvalidInputCode, InviteErrorCode, InviteFailure } from './failures';

/** What the database said about the people and references of a request (see `lookups.ts`). Plain data. */
export interface InviteLookups {
  /** Platform users by lower-cased email. */
  usersByEmail: ReadonlyMap<string, KnownUser>;
  /** Platform users this tenant may name by id: its own people and people in no tenant yet. */
  usersById: ReadonlyMap<string, KnownUser>;
  /** This tenant's memberships of the invitees and of the named managers, by user id. */
  membershipsByUserId: ReadonlyMap<string, KnownMembership>;
  roleIds: ReadonlySet<string>;
  /** Lower-cased role name -> role id. */
  roleIdsByName: ReadonlyMap<string, string>;
  groupIds: ReadonlySet<string>;
  positionIds: ReadonlySet<string>;
  /** The tenant's allowed email domains (normalised); absent or empty allows every domain. */
  allowedEmailDomains?: readonly string[];
  /** The tenant's seat limit and the seats held now; absent or a null limit is unlimited. */
  seats?: { maxMembers: number | null; used: number };
}

export interface KnownUser {
  id: string;
  email: string;
  emailNormalized: string;
}

export interface KnownMembership {
  id: string;
  userId: string;
  /** Whether the person holds a seat in the tenant (invited, active or suspended): such a person is ALREADY_MEMBER. */
  current: boolean;
  /** Whether the person can be somebody's manager. */
  canManage: boolean;
  firstName: string | null;
  lastName: string | null;
}

/** A person who passed every check, with references resolved to ids. */
export interface InvitePlan {
  person: ParsedInvite;
  existingUser: KnownUser | null;
  /** This tenant's earlier membership of the person (revoked or removed): invited again, it is reused. */
  previousMembership: KnownMembership | null;
  roleIds: string[];
  groups: Array<{ groupId: string; isPrimaryOrg: boolean }>;
  positionIds: string[];
  managerMembershipId: string | null;
}

export type InviteDecision =
  | { kind: 'accepted'; plan: InvitePlan }
  | { kind: 'failed'; index: number; email: string | null; failure: InviteFailure };

/** State carried from one person to the next, in input order. */
interface Resolution {
  lookups: InviteLookups;
  /** Person keys (`email:…`, `user:…`) claimed by earlier entries, with the index of the entry that claimed them. */
  claims: Map<string, number>;
  /** Seats still free for the people after this one (input order); null when unlimited. */
  seatsLeft: number | null;
}

/** The failure shape that carries `code` (several codes share a shape). */
type FailureOf<C extends InviteErrorCode> = InviteFailure extends infer F ? (F extends { code: infer K } ? (C extends K ? Omit<F, 'code'> & { code: C } : never) : never) : never;

/** One row of the priority table: the check that yields `code`. */
export interface InviteCheck {
  code: InviteErrorCode;
  run(person: ParsedInvite, state: Resolution): InviteFailure | null;
}

const check = <C extends InviteErrorCode>(code: C, run: (person: ParsedInvite, state: Resolution) => FailureOf<NoInfer<C>> | null): InviteCheck => ({
  code,
  run,
});

function existingUserOf(person: ParsedInvite, lookups: InviteLookups): KnownUser | null {
  if (person.existingUserId) return lookups.usersById.get(person.existingUserId) ?? null;
  return person.emailNormalized ? (lookups.usersByEmail.get(person.emailNormalized) ?? null) : null;
}

/**
 * The keys under which a person is claimed (`email:…`, `user:…`): two entries sharing a key name the same person.
 * An import loads the claims of earlier chunks by these keys.
 */
export function claimKeysOf(p: ParsedInvite, lookups: InviteLookups): Set<string> {
  const keys = new Set<string>();
  if (p.emailNormalized) keys.add(`email:${p.emailNormalized}`);
  // An id this tenant may not name stays its own key: it must not match the person it would name elsewhere.
  if (p.existingUserId) keys.add(lookups.usersById.has(p.existingUserId) ? `user:${p.existingUserId}` : `unresolved:${p.existingUserId}`);
  const user = existingUserOf(p, lookups);
  if (user) keys.add(`user:${user.id}`).add(`email:${user.emailNormalized}`);
  return keys;
}

function invalid<C extends InvalidInputCode>(person: ParsedInvite, code: C): FailureOf<C> | null {
  const problem = person.problems[code];
  return problem ? ({ code, message: problem.message, field: problem.field } as FailureOf<C>) : null;
}

function unknown<C extends 'UNKNOWN_ROLE' | 'UNKNOWN_GROUP' | 'UNKNOWN_POSITION'>(code: C, what: string, field: string, missing: string[]) {
  return missing.length ? ({ code, message: `Unknown ${what}: ${missing.join(', ')}`, field, unknown: missing } as FailureOf<C>) : null;
}

/**
 * The contract's priority order as one table: a person gets the failure of the first check that fails.
 * Checks above DUPLICATE_IN_BATCH need only the input (and, for a mismatched `existingUserId`, the lookups);
 * an entry that passes them claims its person, so a later entry naming the same person (by email, by id, or
 * by the email of the user an id names) is DUPLICATE_IN_BATCH naming the first entry, whatever happens to it next.
 */
export const INVITE_CHECKS: readonly InviteCheck[] = [
  check('INVALID_EMAIL', (p) => invalid(p, 'INVALID_EMAIL')),
  check('INVALID_INPUT', (p, { lookups }) => {
    const problem = invalid(p, 'INVALID_INPUT');
    if (problem) return problem;
    const byId = p.existingUserId ? lookups.usersById.get(p.existingUserId) : undefined;
    if (byId && p.emailNormalized && byId.emailNormalized !== p.emailNormalized) {
      return { code: 'INVALID_INPUT', message: 'email does not match existingUserId', field: 'email' };
    }
    return null;
  }),
  check('INVALID_PHONE', (p) => invalid(p, 'INVALID_PHONE')),
  check('INVALID_COUNTRY', (p) => invalid(p, 'INVALID_COUNTRY')),
  check('INVALID_IPI', (p) => invalid(p, 'INVALID_IPI')),
  check('DOMAIN_NOT_ALLOWED', (p, { lookups }) => {
    const allowed = lookups.allowedEmailDomains ?? [];
    if (!allowed.length) return null;
    // Invited by id, the person's registered email is the one that counts; an id this tenant may not name is
    // left to UNKNOWN_USER.
    const email = p.existingUserId ? lookups.usersById.get(p.existingUserId)?.email : p.email;
    if (!email) return null;
    const domain = emailDomain(email);
    if (isDomainAllowed(domain, allowed)) return null;
    return { code: 'DOMAIN_NOT_ALLOWED', message: `Email domain not allowed in this tenant: ${domain ?? ''}`, domain: domain ?? '' };
  }),
  check('DUPLICATE_IN_BATCH', (p, { lookups, claims }) => {
    const keys = claimKeysOf(p, lookups);
    let first: number | undefined;
    for (const key of keys) {
      const claimedBy = claims.get(key);
      if (claimedBy !== undefined && (first === undefined || claimedBy < first)) first = claimedBy;
    }
    if (first !== undefined) return { code: 'DUPLICATE_IN_BATCH', message: `Same person as users[${first}]`, firstIndex: first };
    for (const key of keys) claims.set(key, p.index);
    return null;
  }),
  check('UNKNOWN_USER', (p, { lookups }) =>
    p.existingUserId && !lookups.usersById.has(p.existingUserId)
      ? { code: 'UNKNOWN_USER', message: 'No such user', field: 'existingUserId', unknown: [p.existingUserId] }
      : null,
  ),
  check('UNKNOWN_ROLE', (p, { lookups }) => {
    const missing = p.roleIds.filter((id) => !lookups.roleIds.has(id));
    if (p.roleName && !lookups.roleIdsByName.has(p.roleName.toLowerCase())) missing.push(p.roleName);
    return unknown('UNKNOWN_ROLE', 'role', 'roles', missing);
  }),
  check('UNKNOWN_GROUP', (p, { lookups }) => unknown('UNKNOWN_GROUP', 'group', 'groups', p.groups.map((g) => g.groupId).filter((id) => !lookups.groupIds.has(id)))),
  check('UNKNOWN_POSITION', (p, { lookups }) => unknown('UNKNOWN_POSITION', 'position', 'positionIds', p.positionIds.filter((id) => !lookups.positionIds.has(id)))),
  check('UNKNOWN_MANAGER', (p, { lookups }) => {
    if (!p.managerId || lookups.membershipsByUserId.get(p.managerId)?.canManage) return null;
    return { code: 'UNKNOWN_MANAGER', message: 'The manager is not a member of this tenant', field: 'managerId', unknown: [p.managerId] };
  }),
  check('ALREADY_MEMBER', (p, { lookups }) => {
    const user = existingUserOf(p, lookups);
    const membership = user ? lookups.membershipsByUserId.get(user.id) : undefined;
    return membership?.current ? { code: 'ALREADY_MEMBER', message: 'Already a member of, or invited to, this tenant' } : null;
  }),
  // Last, so that only people who would otherwise be invited take a seat: the first ones in input order get them.
  check('SEAT_LIMIT_REACHED', (_p, state) => {
    if (state.seatsLeft === null) return null;
    if (state.seatsLeft <= 0) {
      const maxMembers = state.lookups.seats?.maxMembers ?? 0;
      return { code: 'SEAT_LIMIT_REACHED', message: `Seat limit reached: this tenant allows at most ${maxMembers} members`, maxMembers };
    }
    state.seatsLeft--;
    return null;
  }),
];

/**
 * Decides every person of a request, in input order: pure, no I/O. `claims` carries the people already
 * claimed by earlier entries (an import passes the same map from one chunk to the next).
 */
export function resolveInvites(
  people: readonly ParsedInvite[],
  lookups: InviteLookups,
  claims: Map<string, number> = new Map(),
): InviteDecision[] {
  const { seats } = lookups;
  const seatsLeft = seats && seats.maxMembers !== null ? Math.max(0, seats.maxMembers - seats.used) : null;
  const state: Resolution = { lookups, claims, seatsLeft };
  return people.map((person): InviteDecision => {
    for (const { run } of INVITE_CHECKS) {
      const failure = run(person, state);
      if (failure) return { kind: 'failed', index: person.index, email: person.email, failure };
    }
    const existingUser = existingUserOf(person, lookups);
    const roleIds = [...person.roleIds];
    const named = person.roleName ? lookups.roleIdsByName.get(person.roleName.toLowerCase()) : undefined;
    if (named && !roleIds.includes(named)) roleIds.push(named);
    return {
      kind: 'accepted',
      plan: {
        person,
        existingUser,
        previousMembership: existingUser ? (lookups.membershipsByUserId.get(existingUser.id) ?? null) : null,
        roleIds,
        groups: person.groups,
        positionIds: person.positionIds,
        managerMembershipId: person.managerId ? lookups.membershipsByUserId.get(person.managerId)!.id : null,
      },
    };
  });
}
