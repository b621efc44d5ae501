import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkBulkInvite, MAX_MESSAGE_LENGTH, type BulkInviteCommand } from '../../src/services/bulk-invite/command';
import { requestHash } from '../../src/services/bulk-invite/idempotency';
import { DomainError } from '../../src/services/errors';

const TENANT = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const config: { bulkInviteMaxUsers: number; redirectUrlAllowlist?: string[]; isProduction: boolean } = { bulkInviteMaxUsers: 3, isProduction: false };

function refusal(command: Partial<BulkInviteCommand>, cfg: typeof config = config): string {
  try {
    checkBulkInvite({ users: [], ...command } as BulkInviteCommand, TENANT, cfg);
  } catch (error) {
    assert.ok(error instanceof DomainError);
    return error.kind;
  }
  return 'accepted';
}

describe('request-level checks', () => {
  it('refuses a tenantId other than the token’s, and accepts the same one in upper case', () => {
    assert.equal(refusal({ tenantId: 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb' }), 'FORBIDDEN');
    assert.equal(refusal({ tenantId: TENANT.toUpperCase() }), 'accepted');
  });

  it('refuses more users than allowed, an over-long or control-character message, and bad idempotency keys', () => {
    assert.equal(refusal({ users: [{}, {}, {}, {}] }), 'TOO_MANY_USERS');
    assert.equal(refusal({ users: [{}, {}, {}] }), 'accepted');
    assert.equal(refusal({ message: 'x'.repeat(MAX_MESSAGE_LENGTH + 1) }), 'BAD_USER_INPUT');
    assert.equal(refusal({ message: 'x'.repeat(MAX_MESSAGE_LENGTH) }), 'accepted');
    assert.equal(refusal({ message: 'line one\nline two\ttabbed' }), 'accepted');
    assert.equal(refusal({ message: 'nul\u0000' }), 'BAD_USER_INPUT');
    assert.equal(refusal({ idempotencyKey: '' }), 'BAD_USER_INPUT');
    assert.equal(refusal({ idempotencyKey: 'k'.repeat(256) }), 'BAD_USER_INPUT');
    assert.equal(refusal({ idempotencyKey: 'a\nb' }), 'BAD_USER_INPUT');
  });

  it('stores the WHATWG href of an allowed redirect target and refuses others', () => {
    const checked = checkBulkInvite({ users: [], redirectUrl: 'HTTPS://App.Example.com/€' }, TENANT, config);
    assert.equal(checked.redirectUrl, 'https://app.example.com/%E2%82%AC');
    assert.equal(refusal({ redirectUrl: 'blob:https://app.example.com/x' }), 'BAD_USER_INPUT');
    assert.equal(refusal({ redirectUrl: 'javascript:alert(1)' }), 'BAD_USER_INPUT');
    const allow = { ...config, redirectUrlAllowlist: ['https://app.example.com'] };
    assert.equal(refusal({ redirectUrl: 'https://evil.example.com/' }, allow), 'BAD_USER_INPUT');
    const tricky = checkBulkInvite({ users: [], redirectUrl: 'https://app.example.com\\@evil.com' }, TENANT, allow);
    assert.equal(new URL(tricky.redirectUrl!).host, 'app.example.com', 'what is stored is what was checked');
  });

  it('keeps the idempotency key of a dry run (it reports a stored outcome) and defaults sendEmail to true', () => {
    const checked = checkBulkInvite({ users: [], dryRun: true, idempotencyKey: 'k' }, TENANT, config);
    assert.equal(checked.idempotencyKey, 'k');
    assert.equal(checked.sendEmail, true);
    assert.equal(checkBulkInvite({ users: [], sendEmail: false }, TENANT, config).sendEmail, false);
  });
});

describe('idempotency request hash (RFC 8785 canonical JSON)', () => {
  const base = checkBulkInvite({ users: [{ email: 'a@example.com', firstName: 'A' }], message: 'hi' }, TENANT, config);
  it('is the same for the same request in another key order or with nulls for absent fields', () => {
    const reordered = checkBulkInvite({ message: 'hi', users: [{ firstName: 'A', email: 'a@example.com', lastName: null }] }, TENANT, config);
    assert.equal(requestHash(reordered), requestHash(base));
  });
  it('differs when anything that changes the outcome differs', () => {
    for (const other of [
      { users: [{ email: 'b@example.com', firstName: 'A' }], message: 'hi' },
      { users: [{ email: 'a@example.com', firstName: 'A' }], message: 'hello' },
      { users: [{ email: 'a@example.com', firstName: 'A' }], message: 'hi', sendEmail: false },
    ]) {
      assert.notEqual(requestHash(checkBulkInvite(other, TENANT, config)), requestHash(base));
    }
  });
});
