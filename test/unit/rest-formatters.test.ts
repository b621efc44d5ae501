import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { INVITE_ERROR_CODES, type InviteErrorCode } from '../../src/services/bulk-invite';
import type { InviteFailure } from '../../src/services/bulk-invite/failures';
import { type BulkInviteOutcome, type InviteResult, summarize } from '../../src/services/bulk-invite/outcome';
import { toAptlydoneResponse } from '../../src/rest/aptlydone.routes';
import { toRoyaltiResponse } from '../../src/rest/royalti.routes';

/** The wording a REST client sees per code, written out here so that a change on either side is seen. */
const APTLYDONE_WORDING: Record<InviteErrorCode, string> = {
  INVALID_EMAIL: 'Invalid email format',
  INVALID_INPUT: 'firstName is longer than 100 characters', // its own message, not the generic sentence
  INVALID_PHONE: 'Invalid phone number',
  INVALID_COUNTRY: 'Invalid country code',
  INVALID_IPI: 'Invalid IPI number',
  DOMAIN_NOT_ALLOWED: 'Email domain not allowed',
  DUPLICATE_IN_BATCH: 'Duplicate email in this request',
  ALREADY_MEMBER: 'Email already exists',
  UNKNOWN_USER: 'User not found',
  UNKNOWN_ROLE: 'Role not found',
  UNKNOWN_GROUP: 'Group not found',
  UNKNOWN_POSITION: 'Position not found',
  UNKNOWN_MANAGER: 'Manager not found',
  SEAT_LIMIT_REACHED: 'Seat limit reached',
};

function failureFor(code: InviteErrorCode): InviteFailure {
  switch (code) {
    case 'INVALID_EMAIL':
    case 'INVALID_PHONE':
    case 'INVALID_COUNTRY':
    case 'INVALID_IPI':
      return { code, message: `service message for ${code}`, field: null };
    case 'INVALID_INPUT':
      return { code, message: 'firstName is longer than 100 characters', field: 'firstName' };
    case 'DUPLICATE_IN_BATCH':
      return { code, message: 'duplicate', firstIndex: 0 };
    case 'UNKNOWN_USER':
    case 'UNKNOWN_ROLE':
    case 'UNKNOWN_GROUP':
    case 'UNKNOWN_POSITION':
    case 'UNKNOWN_MANAGER':
      return { code, message: `service message for ${code}`, field: 'x', unknown: ['90000000-0000-4000-8000-000000000009'] };
    case 'ALREADY_MEMBER':
      return { code, message: 'already a member' };
    case 'DOMAIN_NOT_ALLOWED':
      return { code, message: 'domain', domain: 'example.org' };
    case 'SEAT_LIMIT_REACHED':
      return { code, message: 'seats', maxMembers: 10 };
  }
}

const invited = (index: number, email: string): InviteResult => ({
  kind: 'invited',
  index,
  email,
  existingUser: false,
  user: null,
  invitation: null,
});

/**
 * Request order: a success, then one failure per code (in the contract's order, interleaved with one more success
 * in the middle), so that the formatters are seen to keep the service's order rather than group by kind.
 */
const emailOf = (code: InviteErrorCode) => `${code.toLowerCase().replace(/_/g, '-')}@example.com`;
const failedResults: InviteResult[] = INVITE_ERROR_CODES.map((code) => ({
  kind: 'failed' as const,
  index: -1,
  email: code === 'INVALID_EMAIL' ? 'not-an-email' : emailOf(code),
  failure: failureFor(code),
}));
const ordered: InviteResult[] = [invited(0, 'first@example.com'), ...failedResults.slice(0, 6), invited(0, 'middle@example.com'), ...failedResults.slice(6)].map(
  (result, index) => ({ ...result, index }),
);
const outcome: BulkInviteOutcome = summarize(ordered, false);

/** Royalti users for the same request: names for every entry, one without any name (falls back to the email). */
const royaltiUsers = ordered.map((result, index) =>
  index === 3 ? { email: result.email } : { firstName: `First${index}`, lastName: `Last${index}`, email: result.email },
);

describe('REST formatters', () => {
  it('aptlydone: one result per person in request order, the wording per code, INVALID_INPUT with its own message', () => {
    const response = toAptlydoneResponse(outcome);
    assert.equal(response.statusCode, 200);
    assert.equal(response.message, 'Success');
    assert.ok(!Number.isNaN(Date.parse(response.timestamp)));
    const { data } = response;
    assert.equal(data.results.length, INVITE_ERROR_CODES.length + 2);
    assert.equal(data.total, data.results.length);
    assert.equal(data.successful, 2);
    assert.equal(data.failed, INVITE_ERROR_CODES.length);
    assert.equal(data.total, data.successful + data.failed);
    assert.deepEqual(
      data.results.map((r) => r.email),
      ordered.map((r) => r.email),
      'request order',
    );
    for (const [i, result] of ordered.entries()) {
      const shown = data.results[i];
      if (result.kind === 'invited') {
        assert.deepEqual(shown, { email: result.email, success: true, message: 'Invitation sent successfully' });
      } else {
        assert.deepEqual(shown, { email: result.email, success: false, message: APTLYDONE_WORDING[result.failure.code] }, result.failure.code);
      }
    }
  });

  it('aptlydone: a failure without an email shows an empty string, and an empty outcome is all zeros', () => {
    const noEmail = summarize([{ kind: 'failed', index: 0, email: null, failure: failureFor('INVALID_EMAIL') }], false);
    assert.deepEqual(toAptlydoneResponse(noEmail).data, {
      total: 1,
      successful: 0,
      failed: 1,
      results: [{ email: '', success: false, message: 'Invalid email format' }],
    });
    assert.deepEqual(toAptlydoneResponse(summarize([], false)).data, { total: 0, successful: 0, failed: 0, results: [] });
  });

  it('royalti: createdUsers by name, the two fixed wordings, "<reason> for <name>" for the rest, in request order', () => {
    const response = toRoyaltiResponse(royaltiUsers, outcome);
    assert.equal(response.message, 'Done.');
    assert.deepEqual(response.createdUsers, ['First0 Last0', 'First7 Last7']);
    const nameAt = (i: number) => (i === 3 ? String(ordered[3].email) : `First${i} Last${i}`);
    const expectedErrors = ordered.flatMap((result, i) => {
      if (result.kind === 'invited') return [];
      const code = result.failure.code;
      if (code === 'ALREADY_MEMBER') return [`User ${nameAt(i)} already associated with workspace!`];
      const reason = code === 'INVALID_INPUT' ? 'Invalid user data' : APTLYDONE_WORDING[code];
      return [`${reason} for ${nameAt(i)}`];
    });
    assert.deepEqual(response.errors, expectedErrors);
    // processedCount: the people now in the workspace, i.e. invited plus already members; refused ones do not count.
    assert.equal(response.processedCount, 2 + 1);
  });

  it('royalti: the two documented sentences, word for word', () => {
    const users = [
      { firstName: 'First', lastName: 'Last', email: 'member@example.com' },
      { firstName: 'First', lastName: 'Last', email: 'nope' },
    ];
    const twoFailures = summarize(
      [
        { kind: 'failed', index: 0, email: 'member@example.com', failure: failureFor('ALREADY_MEMBER') },
        { kind: 'failed', index: 1, email: 'nope', failure: failureFor('INVALID_EMAIL') },
      ],
      false,
    );
    assert.deepEqual(toRoyaltiResponse(users, twoFailures), {
      message: 'Done.',
      createdUsers: [],
      processedCount: 1,
      errors: ['User First Last already associated with workspace!', 'Invalid email format for First Last'],
    });
  });
});
