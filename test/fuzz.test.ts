import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { BULK_INVITE, type SeededTenant, type TestApp, createTestApp } from './helpers/harness';

/** Bodies per entry point; three entry points. Bounded, deterministic (fixed seed), loopback only (inject). */
const RUNS_PER_ENTRY = Number(process.env.FUZZ_RUNS ?? 3400);

const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', '\u0000', '\u202e', '💥@example.com', "'; drop table users; --", '__proto__', 'constructor', 'a@b.co', 'x'.repeat(3000)),
  fc.emailAddress(),
  fc.uuid(),
);
const scalar = fc.oneof(hostileString, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const nested = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(hostileString, tie('value'), { maxKeys: 3 })),
})).value;
const pollution = fc.constantFrom('__proto__', 'constructor', 'prototype');

function userArbitrary(fields: string[]) {
  return fc.oneof(
    fc.record(Object.fromEntries(fields.map((f) => [f, fc.oneof(scalar, nested)])), { requiredKeys: [] }),
    fc.record(Object.fromEntries(fields.map((f) => [f, hostileString])), { requiredKeys: [] }),
    nested,
  );
}

function bodyArbitrary(fields: string[], topLevel: Record<string, fc.Arbitrary<unknown>>) {
  const users = fc.oneof(fc.array(userArbitrary(fields), { maxLength: 4 }), nested);
  return fc.oneof(
    fc.record({ users, ...topLevel }, { requiredKeys: [] }),
    nested,
    fc.tuple(pollution, nested).map(([key, value]) => `{"users": [], "${key}": ${JSON.stringify(value) ?? 'null'}}`),
    fc.tuple(pollution, nested).map(([key, value]) => `{"users": [{"${key}": {"isAdmin": true}, "email": ${JSON.stringify(value) ?? 'null'}}]}`),
    fc.string({ maxLength: 60 }),
    fc.integer({ min: 1, max: 60 }).map((depth) => `${'{"users":['.repeat(depth)}${']}'.repeat(depth)}`),
  );
}

const APTLYDONE_FIELDS = ['firstName', 'lastName', 'email', 'mobilePhone', 'roleIds', 'groups', 'managerId', 'positionIds', 'existingUser'];
const ROYALTI_FIELDS = ['firstName', 'lastName', 'nickName', 'userType', 'email', 'ipi', 'role', 'phone', 'country'];
const GRAPHQL_FIELDS = [...new Set([...APTLYDONE_FIELDS.filter((f) => f !== 'mobilePhone' && f !== 'existingUser'), ...ROYALTI_FIELDS, 'existingUserId'])];

describe('fuzzing the three entry points', () => {
  let t: TestApp;
  let a: SeededTenant;
  const figures = { bodies: 0, fiveHundreds: 0, refused: 0, answered: 0 };

  const rowCounts = async () =>
    (await t.sql('select (select count(*) from users)::int as u, (select count(*) from membership)::int as m, (select count(*) from invitation)::int as i'))[0];

  before(async () => {
    t = await createTestApp({ BULK_INVITE_MAX_USERS: '3' });
    a = await t.seedTenant('Fuzz');
  });
  after(async () => {
    console.log(
      `# fuzz: ${figures.bodies} bodies, ${figures.answered} answered per user, ${figures.refused} refused whole, ${figures.fiveHundreds} 5xx`,
    );
    await t.close();
  });

  async function send(url: string, payload: unknown): Promise<{ status: number; body: any }> {
    const response = await t.app.server.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${a.token}` },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
    figures.bodies++;
    let body: any;
    try {
      body = response.json();
    } catch {
      assert.fail(`${url} answered something that is not JSON (${response.statusCode}): ${response.body.slice(0, 200)}`);
    }
    if (response.statusCode >= 500) figures.fiveHundreds++;
    return { status: response.statusCode, body };
  }

  async function checkRefusalWroteNothing(run: () => Promise<{ refused: boolean }>) {
    const before = await rowCounts();
    const { refused } = await run();
    if (refused) {
      figures.refused++;
      assert.deepEqual(await rowCounts(), before, 'a refused request wrote nothing');
    } else {
      figures.answered++;
    }
  }

  it('never answers 5xx on /auth/v1/user/bulk-invite, always in its documented shape', async () => {
    await fc.assert(
      fc.asyncProperty(bodyArbitrary(APTLYDONE_FIELDS, { tenantId: fc.oneof(scalar, fc.constant(a.tenantId)) }), async (body) =>
        checkRefusalWroteNothing(async () => {
          const { status, body: answer } = await send('/auth/v1/user/bulk-invite', body);
          assert.ok(status < 500, `status ${status}: ${JSON.stringify(answer)}`);
          if (status === 200) {
            assert.deepEqual(Object.keys(answer).sort(), ['data', 'message', 'statusCode', 'timestamp']);
            const { total, successful, failed, results } = answer.data;
            assert.equal(total, results.length);
            assert.equal(successful + failed, total);
            for (const r of results) assert.deepEqual(Object.keys(r).sort(), ['email', 'message', 'success']);
            return { refused: false };
          }
          assert.deepEqual(Object.keys(answer).sort(), ['message', 'statusCode', 'timestamp']);
          assert.equal(answer.statusCode, status);
          assert.ok([400, 403, 409, 413].includes(status), `status ${status}`);
          return { refused: true };
        }),
      ),
      { numRuns: RUNS_PER_ENTRY, seed: 20261121 },
    );
  });

  it('never answers 5xx on /user/bulk, always in its documented shape', async () => {
    await fc.assert(
      fc.asyncProperty(
        bodyArbitrary(ROYALTI_FIELDS, { sendEmail: fc.oneof(fc.boolean(), scalar), redirect_url: scalar, message: scalar }),
        async (body) =>
          checkRefusalWroteNothing(async () => {
            const { status, body: answer } = await send('/user/bulk', body);
            assert.ok(status < 500, `status ${status}: ${JSON.stringify(answer)}`);
            if (status === 200) {
              assert.deepEqual(Object.keys(answer).sort(), ['createdUsers', 'errors', 'message', 'processedCount']);
              assert.ok(answer.createdUsers.every((n: unknown) => typeof n === 'string'));
              assert.ok(answer.errors.every((n: unknown) => typeof n === 'string'));
              return { refused: false };
            }
            assert.deepEqual(Object.keys(answer), ['message']);
            assert.ok([400, 409, 413].includes(status), `status ${status}`);
            return { refused: true };
          }),
      ),
      { numRuns: RUNS_PER_ENTRY, seed: 20261122 },
    );
  });

  it('never answers 5xx to bulkInviteUsers variables, always a payload or a GraphQL error', async () => {
    await fc.assert(
      fc.asyncProperty(
        bodyArbitrary(GRAPHQL_FIELDS, { sendEmail: scalar, redirectUrl: scalar, message: scalar, dryRun: scalar, idempotencyKey: scalar }),
        async (input) =>
          checkRefusalWroteNothing(async () => {
            const { status, body } = await send('/graphql', { query: BULK_INVITE, variables: { input } });
            assert.ok(status < 500, `status ${status}: ${JSON.stringify(body)}`);
            if (body.data?.bulkInviteUsers) {
              const payload = body.data.bulkInviteUsers;
              assert.equal(payload.total, payload.results.length);
              assert.equal(payload.successful + payload.failed, payload.total);
              return { refused: false };
            }
            assert.ok(body.errors?.length, JSON.stringify(body));
            for (const error of body.errors) {
              assert.ok(['BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED'].includes(error.extensions?.code), JSON.stringify(error));
            }
            return { refused: true };
          }),
      ),
      { numRuns: RUNS_PER_ENTRY, seed: 20261123 },
    );
    assert.equal(figures.fiveHundreds, 0);
    assert.ok(figures.bodies >= 10_000 || RUNS_PER_ENTRY < 3334, `fuzzed ${figures.bodies} bodies`);
    assert.equal(({} as Record<string, unknown>).isAdmin, undefined, 'Object.prototype untouched');
  });
});
