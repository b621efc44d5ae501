import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BulkAdmission } from '../src/http/admission';
import { mapInSlices, parseInvitesInSlices, resolveInvitesInSlices } from '../src/services/bulk-invite/slices';
import { parseInvite } from '../src/services/bulk-invite/parse-invite';
import { resolveInvites, type InviteLookups } from '../src/services/bulk-invite/resolve-invites';
import { BULK_INVITE, type SeededTenant, type TestApp, createTestApp } from './helpers/harness';

const people = (n: number, label: string) => Array.from({ length: n }, (_, i) => ({ email: `${label}-${i}@example.com` }));

describe('admission of heavy bulk work (people in flight)', () => {
  let t: TestApp;
  let a: SeededTenant;
  let b: SeededTenant;

  before(async () => {
    // Small budgets: 10 people make a request heavy; 20 per tenant and 30 in the process may be in flight.
    t = await createTestApp({ BULK_INVITE_HEAVY_USERS: '10', BULK_INVITE_TENANT_USERS_IN_FLIGHT: '20', BULK_INVITE_PROCESS_USERS_IN_FLIGHT: '30' });
    a = await t.seedTenant('A');
    b = await t.seedTenant('B');
  });
  after(() => t.close());

  const countUsers = async (label: string) => (await t.sql(`select count(*)::int as n from users where email_normalized like $1`, [`${label}-%`]))[0].n as number;

  it('refuses heavy requests over budget with 429/503 and Retry-After, writes nothing, and still serves another tenant’s small request', async () => {
    const admission = t.app.services.admission;
    // A heavy request of tenant A in flight, holding the whole process budget (as a request alone may).
    const inFlight = {};
    admission.admit(inFlight, a.tenantId, 30);
    try {
      // Tenant A again, by exact count once parsed (the body is small): its own budget is spent -> 429.
      const tenantOver = await t.post('/graphql', { query: BULK_INVITE, variables: { input: { users: people(12, 'a-over') } } }, a.token);
      assert.equal(tenantOver.status, 429);
      assert.ok(Number(tenantOver.headers['retry-after']) >= 1);
      assert.equal(tenantOver.body.errors[0].extensions.code, 'RATE_LIMITED');
      assert.equal(tenantOver.body.errors[0].extensions.retryAfterSeconds, Number(tenantOver.headers['retry-after']));
      assert.equal(await countUsers('a-over'), 0);

      // Tenant B's heavy request: its own budget is free but the process is busy -> 503 (GraphQL code RATE_LIMITED).
      const busy = await t.post('/graphql', { query: BULK_INVITE, variables: { input: { users: people(12, 'b-busy') } } }, b.token);
      assert.equal(busy.status, 503);
      assert.ok(Number(busy.headers['retry-after']) >= 1);
      assert.equal(busy.body.errors[0].extensions.code, 'RATE_LIMITED');
      const royalti = await t.post('/user/bulk', { users: people(12, 'b-busy') }, b.token);
      assert.equal(royalti.status, 503);
      assert.ok(Number(royalti.headers['retry-after']) >= 1);
      assert.deepEqual(Object.keys(royalti.body), ['message']);
      const aptlydone = await t.post('/auth/v1/user/bulk-invite', { users: people(12, 'b-busy') }, b.token);
      assert.equal(aptlydone.status, 503);
      assert.equal(aptlydone.body.statusCode, 503);
      assert.equal(await countUsers('b-busy'), 0);

      // Refused by Content-Length before the body is parsed: 40 KiB of body weighs 40 people.
      const padded = people(12, 'b-big').map((p) => ({ ...p, firstName: 'x'.repeat(90), lastName: 'y'.repeat(90) }));
      const big = JSON.stringify({ users: [...padded, ...Array.from({ length: 200 }, (_, i) => ({ email: `b-big-pad-${i}@example.com`, firstName: 'z'.repeat(90) }))] });
      assert.ok(big.length > 10 * 1024);
      const early = await t.post('/user/bulk', big, b.token);
      assert.equal(early.status, 503);
      assert.ok(Number(early.headers['retry-after']) >= 1);
      assert.equal(await countUsers('b-big'), 0);

      // Tenant B's small request is light: it completes while the heavy budget is exhausted.
      const small = await t.post('/graphql', { query: BULK_INVITE, variables: { input: { users: people(1, 'b-small') } } }, b.token);
      assert.equal(small.status, 200, JSON.stringify(small.body));
      assert.equal(small.body.data.bulkInviteUsers.successful, 1);
      assert.equal(await countUsers('b-small'), 1);
    } finally {
      admission.close(inFlight);
    }

    // Nothing is left held by the refused or finished requests: the heavy requests now run.
    assert.equal(admission.inFlight(), 0);
    const later = await t.post('/graphql', { query: BULK_INVITE, variables: { input: { users: people(12, 'b-busy') } } }, b.token);
    assert.equal(later.status, 200);
    assert.equal(later.body.data.bulkInviteUsers.successful, 12);
    // Admitted by Content-Length (12 KiB) and then by count (25): one ticket grown, not two, so it runs alone.
    const bodyHeavy = people(25, 'b-heavy').map((p) => ({ ...p, firstName: 'x'.repeat(95), lastName: 'y'.repeat(95), nickName: 'z'.repeat(95), userType: 'w'.repeat(95) }));
    const heavy = await t.post('/graphql', { query: BULK_INVITE, variables: { input: { users: bodyHeavy, dryRun: true } } }, a.token);
    assert.equal(heavy.status, 200, JSON.stringify(heavy.body).slice(0, 300));
    assert.equal(heavy.body.data.bulkInviteUsers.successful, 25);
    assert.equal(admission.inFlight(), 0);
  });

  it('lets one heavy request run alone even above the budget, and counts the tenant across id spellings', () => {
    const admission = new BulkAdmission({ heavyThreshold: 10, perTenant: 20, perProcess: 30 });
    const first = {};
    admission.admit(first, a.tenantId, 50); // alone: admitted although larger than both budgets
    assert.throws(() => admission.admit({}, a.tenantId.toUpperCase(), 10), { kind: 'RATE_LIMITED' });
    assert.throws(() => admission.admit({}, b.tenantId, 10), { kind: 'OVERLOADED' });
    admission.admit({}, b.tenantId, 5); // light
    admission.close(first);
    assert.equal(admission.inFlight(), 0);
    // Growing a ticket (Content-Length first, exact count later) counts the difference only.
    const grown = {};
    admission.open(grown);
    admission.admit(grown, a.tenantId, 12);
    admission.admit(grown, a.tenantId, 20);
    assert.equal(admission.inFlight(a.tenantId), 20);
    assert.throws(() => admission.admit({}, a.tenantId, 10), { kind: 'RATE_LIMITED' });
    admission.close(grown);
    assert.equal(admission.inFlight(a.tenantId), 0);
  });
});

describe('sliced stages decide exactly as one pass', () => {
  it('parses, resolves and maps in slices with the same outcome per person', async () => {
    const role = '11111111-1111-4111-8111-111111111111';
    const inputs = Array.from({ length: 1_234 }, (_, i) => ({
      // Duplicates across slice boundaries, bad emails and unknown roles, so the shared claims matter.
      email: i % 7 === 0 ? 'not-an-email' : `p${i % 600}@example.com`,
      roleIds: i % 5 === 0 ? [role.toUpperCase(), role] : ['22222222-2222-4222-8222-222222222222'],
    }));
    const lookups: InviteLookups = {
      usersByEmail: new Map(),
      usersById: new Map(),
      membershipsByUserId: new Map(),
      roleIds: new Set([role]),
      roleIdsByName: new Map(),
      groupIds: new Set(),
      positionIds: new Set(),
    };
    const sliced = await parseInvitesInSlices(inputs);
    const whole = inputs.map((input, index) => parseInvite(index, input));
    assert.deepEqual(sliced, whole);
    const decided = await resolveInvitesInSlices(sliced, lookups, 100);
    assert.deepEqual(decided, resolveInvites(whole, lookups));
    assert.ok(decided.some((d) => d.kind === 'failed' && d.failure.code === 'DUPLICATE_IN_BATCH' && d.index >= 600));
    assert.deepEqual(await mapInSlices([1, 2, 3, 4, 5], (x, i) => x * 10 + i, 2), [10, 21, 32, 43, 54]);
  });
});
