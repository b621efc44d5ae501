import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { INVITE_ERROR_CODES, type InviteErrorCode, type InviteUserCommand } from '../../src/services/bulk-invite';
import { parseInvite } from '../../src/services/bulk-invite/parse-invite';
import { INVITE_CHECKS, resolveInvites, type InviteDecision, type InviteLookups } from '../../src/services/bulk-invite/resolve-invites';

/** The contract's list (§3 and §7), written out here so that a change to either side is seen. */
const CONTRACT_ORDER = [
  'INVALID_EMAIL', 'INVALID_INPUT', 'INVALID_PHONE', 'INVALID_COUNTRY', 'INVALID_IPI', 'DOMAIN_NOT_ALLOWED',
  'DUPLICATE_IN_BATCH', 'UNKNOWN_USER', 'UNKNOWN_ROLE', 'UNKNOWN_GROUP', 'UNKNOWN_POSITION', 'UNKNOWN_MANAGER',
  'ALREADY_MEMBER', 'SEAT_LIMIT_REACHED',
];

const ROLE = '10000000-0000-4000-8000-000000000001';
const GROUP = '20000000-0000-4000-8000-000000000002';
const POSITION = '30000000-0000-4000-8000-000000000003';
const MEMBER = { id: '40000000-0000-4000-8000-000000000004', email: 'Member@Example.com', emailNormalized: 'member@example.com' };
const MANAGER = { id: '50000000-0000-4000-8000-000000000005', email: 'boss@example.com', emailNormalized: 'boss@example.com' };
const LONER = { id: '60000000-0000-4000-8000-000000000006', email: 'loner@example.com', emailNormalized: 'loner@example.com' };
const UNKNOWN = '90000000-0000-4000-8000-000000000009';

const lookups: InviteLookups = {
  usersByEmail: new Map([MEMBER, MANAGER, LONER].map((u) => [u.emailNormalized, u])),
  usersById: new Map([MEMBER, MANAGER, LONER].map((u) => [u.id, u])),
  membershipsByUserId: new Map([
    [MEMBER.id, { id: 'm-member', userId: MEMBER.id, current: true, canManage: true, firstName: 'Mem', lastName: 'Ber' }],
    [MANAGER.id, { id: 'm-manager', userId: MANAGER.id, current: true, canManage: true, firstName: null, lastName: null }],
  ]),
  roleIds: new Set([ROLE]),
  roleIdsByName: new Map([['editor', ROLE]]),
  groupIds: new Set([GROUP]),
  positionIds: new Set([POSITION]),
  // Every person of the base scenario is at an allowed domain, with seats to spare.
  allowedEmailDomains: ['example.com'],
  seats: { maxMembers: 10, used: 2 },
};

interface Scenario {
  before: InviteUserCommand[];
  person: InviteUserCommand;
  /** Tenant settings that differ from the base lookups. */
  tenant?: Pick<InviteLookups, 'allowedEmailDomains' | 'seats'>;
}

/** For each code, a change to a valid person that makes exactly that check fail. */
const trigger: Record<InviteErrorCode, (s: Scenario) => Scenario> = {
  INVALID_EMAIL: (s) => ({ ...s, person: { ...s.person, email: 'not-an-email' } }),
  INVALID_INPUT: (s) => ({ ...s, person: { ...s.person, firstName: 'x'.repeat(101) } }),
  INVALID_PHONE: (s) => ({ ...s, person: { ...s.person, phone: 'call me' } }),
  INVALID_COUNTRY: (s) => ({ ...s, person: { ...s.person, country: 'ZZ' } }),
  INVALID_IPI: (s) => ({ ...s, person: { ...s.person, ipi: '12' } }),
  DOMAIN_NOT_ALLOWED: (s) => ({ ...s, tenant: { ...s.tenant, allowedEmailDomains: ['elsewhere.org'] } }),
  DUPLICATE_IN_BATCH: (s) => ({ ...s, before: [...s.before, { email: String(s.person.email).toUpperCase() }] }),
  UNKNOWN_USER: (s) => ({ ...s, person: { ...s.person, existingUserId: UNKNOWN } }),
  UNKNOWN_ROLE: (s) => ({ ...s, person: { ...s.person, roleIds: [ROLE, UNKNOWN] } }),
  UNKNOWN_GROUP: (s) => ({ ...s, person: { ...s.person, groups: [{ groupId: UNKNOWN }] } }),
  UNKNOWN_POSITION: (s) => ({ ...s, person: { ...s.person, positionIds: [UNKNOWN] } }),
  UNKNOWN_MANAGER: (s) => ({ ...s, person: { ...s.person, managerId: UNKNOWN } }),
  ALREADY_MEMBER: (s) => ({ ...s, person: { ...s.person, email: MEMBER.email } }),
  SEAT_LIMIT_REACHED: (s) => ({ ...s, tenant: { ...s.tenant, seats: { maxMembers: 10, used: 10 } } }),
};

const valid = (): Scenario => ({
  before: [],
  person: { email: 'new@example.com', roleIds: [ROLE], groups: [{ groupId: GROUP, isPrimaryOrg: true }], positionIds: [POSITION], managerId: MANAGER.id },
});

function decide(users: InviteUserCommand[], tenant: Scenario['tenant'] = {}): InviteDecision[] {
  return resolveInvites(users.map((u, i) => parseInvite(i, u)), { ...lookups, ...tenant });
}

function lastCode(s: Scenario): InviteErrorCode | 'invited' {
  const decision = decide([...s.before, s.person], s.tenant).at(-1)!;
  return decision.kind === 'accepted' ? 'invited' : decision.failure.code;
}

describe('the priority table', () => {
  it('runs its checks in exactly the contract order', () => {
    assert.deepEqual([...INVITE_ERROR_CODES], CONTRACT_ORDER);
    assert.deepEqual(INVITE_CHECKS.map((c) => c.code), CONTRACT_ORDER);
  });

  it('gives the base person no failure, and each trigger alone its own code', () => {
    assert.equal(lastCode(valid()), 'invited');
    for (const code of INVITE_ERROR_CODES) assert.equal(lastCode(trigger[code](valid())), code, code);
  });

  it('gives a person with the problems of two adjacent codes the higher one', () => {
    for (let i = 0; i + 1 < INVITE_ERROR_CODES.length; i++) {
      const [higher, lower] = [INVITE_ERROR_CODES[i], INVITE_ERROR_CODES[i + 1]];
      assert.equal(lastCode(trigger[higher](trigger[lower](valid()))), higher, `${higher} over ${lower}`);
      assert.equal(lastCode(trigger[lower](trigger[higher](valid()))), higher, `${higher} over ${lower}, applied the other way`);
    }
  });
});

describe('duplicates in one request', () => {
  const codes = (users: InviteUserCommand[]) =>
    decide(users).map((d) => (d.kind === 'accepted' ? 'invited' : d.failure.code === 'DUPLICATE_IN_BATCH' ? `DUP:${d.failure.firstIndex}` : d.failure.code));

  it('names the entry that won, also over an unknown existingUserId (contract: DUPLICATE_IN_BATCH ranks higher)', () => {
    assert.deepEqual(codes([{ email: 'a@example.com' }, { email: 'a@example.com', existingUserId: UNKNOWN }, { email: 'A@example.com' }]), [
      'invited',
      'DUP:0',
      'DUP:0',
    ]);
  });

  it('sees the same person by email, by id in any case, and by the email of the user an id names', () => {
    assert.deepEqual(codes([{ existingUserId: LONER.id }, { email: 'LONER@example.com' }, { existingUserId: LONER.id.toUpperCase() }]), ['invited', 'DUP:0', 'DUP:0']);
    assert.deepEqual(codes([{ email: 'loner@example.com' }, { existingUserId: LONER.id }]), ['invited', 'DUP:0']);
  });

  it('lets an entry with invalid input claim nothing, and an entry that fails later still claim its person', () => {
    assert.deepEqual(codes([{ email: 'b@example.com', ipi: 'x' }, { email: 'b@example.com' }]), ['INVALID_IPI', 'invited']);
    assert.deepEqual(codes([{ email: 'c@example.com', roleIds: [UNKNOWN] }, { email: 'c@example.com' }]), ['UNKNOWN_ROLE', 'DUP:0']);
  });

  it('counts an id given twice in different case once', () => {
    const [decision] = decide([{ email: 'd@example.com', roleIds: [ROLE, ROLE.toUpperCase()], positionIds: [POSITION.toUpperCase(), POSITION], groups: [{ groupId: GROUP }, { groupId: GROUP.toUpperCase(), isPrimaryOrg: true }] }]);
    assert.equal(decision.kind, 'accepted');
    if (decision.kind !== 'accepted') return;
    assert.deepEqual(decision.plan.roleIds, [ROLE]);
    assert.deepEqual(decision.plan.positionIds, [POSITION]);
    assert.deepEqual(decision.plan.groups, [{ groupId: GROUP, isPrimaryOrg: true }]);
  });

  it('adds a role named by name once, even when its id is also given', () => {
    const [decision] = decide([{ email: 'e@example.com', role: 'EDITOR', roleIds: [ROLE] }]);
    assert.ok(decision.kind === 'accepted' && decision.plan.roleIds.length === 1);
  });

  it('carries claims across calls (an import passes them from one chunk to the next)', () => {
    const claims = new Map<string, number>();
    resolveInvites([parseInvite(0, { email: 'f@example.com' })], lookups, claims);
    const [later] = resolveInvites([parseInvite(7, { email: 'F@example.com' })], lookups, claims);
    assert.ok(later.kind === 'failed' && later.failure.code === 'DUPLICATE_IN_BATCH' && later.failure.firstIndex === 0);
  });
});

describe('tenant settings in the table', () => {
  const codes = (users: InviteUserCommand[], tenant: Scenario['tenant']) =>
    decide(users, tenant).map((d) => (d.kind === 'accepted' ? 'invited' : d.failure.code));

  it('fills the seats left in input order; people refused earlier take none', () => {
    const users = [{ email: 'a@example.com' }, { email: 'bad' }, { email: MEMBER.email }, { email: 'b@example.com' }, { email: 'c@example.com' }];
    assert.deepEqual(codes(users, { seats: { maxMembers: 4, used: 2 } }), ['invited', 'INVALID_EMAIL', 'ALREADY_MEMBER', 'invited', 'SEAT_LIMIT_REACHED']);
    assert.deepEqual(codes(users, { seats: { maxMembers: null, used: 99 } }), ['invited', 'INVALID_EMAIL', 'ALREADY_MEMBER', 'invited', 'invited']);
    assert.deepEqual(codes([{ email: 'a@example.com' }], { seats: { maxMembers: 1, used: 3 } }), ['SEAT_LIMIT_REACHED']);
  });

  it('allows listed domains and their subdomains, in any case, and nothing that merely ends alike', () => {
    const tenant = { allowedEmailDomains: ['example.com', 'xn--bcher-kva.de'] };
    assert.deepEqual(
      codes([{ email: 'a@EXAMPLE.com' }, { email: 'b@eu.Example.COM' }, { email: 'c@badexample.com' }, { email: 'd@example.com.evil.org' }, { email: 'e@xn--bcher-kva.de' }], tenant),
      ['invited', 'invited', 'DOMAIN_NOT_ALLOWED', 'DOMAIN_NOT_ALLOWED', 'invited'],
    );
  });

  it('checks the registered email of a person invited by id', () => {
    assert.deepEqual(codes([{ existingUserId: LONER.id }], { allowedEmailDomains: ['other.org'] }), ['DOMAIN_NOT_ALLOWED']);
    assert.deepEqual(codes([{ existingUserId: UNKNOWN }], { allowedEmailDomains: ['other.org'] }), ['UNKNOWN_USER']);
  });
});

describe('metadata and locale', () => {
  const problem = (input: InviteUserCommand) => parseInvite(0, { email: 'a@example.com', ...input }).problems.INVALID_INPUT?.field ?? null;

  it('takes a JSON object of at most 4 KiB and nothing else', () => {
    assert.equal(problem({ metadata: { team: 'blue', n: [1, 2] } }), null);
    assert.equal(problem({ metadata: { v: 'x'.repeat(4096 - 8) } }), null);
    assert.equal(problem({ metadata: { v: 'x'.repeat(4096 - 7) } }), 'metadata');
    // Bytes, not characters: four-byte characters count four.
    assert.equal(problem({ metadata: { v: '😀'.repeat(1023) } }), 'metadata');
    for (const metadata of [[1], 'text', 3, true]) assert.equal(problem({ metadata }), 'metadata', JSON.stringify(metadata));
    assert.equal(problem({ metadata: { v: 'a\u0000b' } }), 'metadata');
    assert.equal(problem({ metadata: { ['\ud800']: 1 } }), 'metadata');
  });

  it('takes a BCP 47 tag and keeps its canonical form', () => {
    assert.equal(parseInvite(0, { email: 'a@example.com', locale: 'de-ch' }).locale, 'de-CH');
    assert.equal(parseInvite(0, { email: 'a@example.com', locale: ' EN ' }).locale, 'en');
    for (const locale of ['en_US', 'x', '123', 'de-CH-'.repeat(30)]) assert.equal(problem({ locale }), 'locale', locale);
  });
});
