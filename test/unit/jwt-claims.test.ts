import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import { createTokenVerifier } from '../../src/auth/jwt';
import { loadConfig } from '../../src/config';
import { DomainError } from '../../src/services/errors';

const SECRET = 'unit-test-secret-that-is-at-least-32-bytes';
const TENANT = '3f1e2d4c-5b6a-4789-9abc-def012345678';
const now = () => Math.floor(Date.now() / 1000);

/** Signs the payload text as given, so claims JSON.stringify cannot write (1e400) can be tried. */
function signRaw(payloadJson: string): string {
  const input = `${Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')}.${Buffer.from(payloadJson).toString('base64url')}`;
  return `Bearer ${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
}
const bearer = (payload: Record<string, unknown>) => signRaw(JSON.stringify(payload));
const valid = (extra: Record<string, unknown> = {}) => ({ sub: 'u1', tenantId: TENANT, permissions: ['users:read'], iat: now(), exp: now() + 600, ...extra });

function refusal(verify: () => unknown): string {
  try {
    verify();
  } catch (error) {
    assert.ok(error instanceof DomainError, String(error));
    assert.equal(error.kind, 'UNAUTHENTICATED');
    return error.message;
  }
  assert.fail('the token was accepted');
}

describe('token claims', () => {
  const verifier = createTokenVerifier({ secret: SECRET });

  it('accepts a plain token, an iat within a minute of skew, and a sub of 255 characters (controls)', () => {
    assert.equal(verifier.verify(bearer(valid()))?.userId, 'u1');
    assert.equal(verifier.verify(bearer(valid({ iat: now() + 30 })))?.tenantId, TENANT);
    assert.equal(verifier.verify(bearer(valid({ sub: 'x'.repeat(255) })))?.userId.length, 255);
    assert.equal(verifier.verify(bearer(valid({ sub: 'Zoë 山田 user@example.com' })))?.userId, 'Zoë 山田 user@example.com');
  });

  const refused: Array<[string, string]> = [
    ['iat two minutes in the future', JSON.stringify(valid({ iat: now() + 120 }))],
    ['iat a string', JSON.stringify(valid({ iat: String(now()) }))],
    ['iat null', JSON.stringify(valid({ iat: null }))],
    ['exp a string', JSON.stringify(valid({ exp: String(now() + 600) }))],
    ['exp Infinity (1e400)', JSON.stringify(valid()).replace(/"exp":\d+/, '"exp":1e400')],
    ['exp missing', JSON.stringify({ ...valid(), exp: undefined })],
    ['nbf a string', JSON.stringify(valid({ nbf: 'yesterday' }))],
    ['nbf an array', JSON.stringify(valid({ nbf: [1] }))],
    ['sub with NUL', JSON.stringify(valid({ sub: 'u\u00001' }))],
    ['sub with a newline', JSON.stringify(valid({ sub: 'u1\nadmin' }))],
    ['sub with U+0085', JSON.stringify(valid({ sub: 'u1\u0085' }))],
    ['sub with a bidi override', JSON.stringify(valid({ sub: 'u1\u202e' }))],
    ['sub of 256 characters', JSON.stringify(valid({ sub: 'x'.repeat(256) }))],
    ['sub a number', JSON.stringify(valid({ sub: 42 }))],
    ['sub an object', JSON.stringify(valid({ sub: { id: 'u1' } }))],
    ['sub empty', JSON.stringify(valid({ sub: '' }))],
    ['tenantId not a UUID', JSON.stringify(valid({ tenantId: 'acme' }))],
    ['tenantId a number', JSON.stringify(valid({ tenantId: 7 }))],
  ];
  for (const [what, payload] of refused) {
    it(`refuses ${what}`, () => {
      refusal(() => verifier.verify(signRaw(payload)));
    });
  }

  it('normalises an upper-case tenantId to the canonical lower case', () => {
    assert.equal(verifier.verify(bearer(valid({ tenantId: TENANT.toUpperCase() })))?.tenantId, TENANT);
  });
});

describe('JWT_MAX_AGE_SECONDS', () => {
  it('is unset by default: a token valid for decades is accepted', () => {
    const config = loadConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET });
    assert.equal(config.jwt.maxAgeSeconds, undefined);
    const verifier = createTokenVerifier(config.jwt);
    assert.ok(verifier.verify(bearer(valid({ exp: now() + 30 * 365 * 86400 }))));
  });

  it('refuses a token whose lifetime (exp - iat, or exp - now without iat) exceeds it', () => {
    const config = loadConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET, JWT_MAX_AGE_SECONDS: '3600' });
    assert.equal(config.jwt.maxAgeSeconds, 3600);
    const verifier = createTokenVerifier(config.jwt);
    assert.ok(verifier.verify(bearer(valid({ exp: now() + 3600 }))), 'exactly the maximum is fine');
    assert.ok(verifier.verify(bearer({ ...valid({ exp: now() + 600 }), iat: undefined })), 'no iat, short exp');
    assert.match(refusal(() => verifier.verify(bearer(valid({ exp: 1e15 })))), /lifetime/);
    assert.match(refusal(() => verifier.verify(bearer(valid({ iat: now() - 10, exp: now() + 3600 })))), /lifetime/);
    assert.match(refusal(() => verifier.verify(bearer({ ...valid({ exp: now() + 7200 }), iat: undefined }))), /lifetime/);
    // An old iat does not stretch the window: exp - iat counts, not exp - now.
    assert.match(refusal(() => verifier.verify(bearer(valid({ iat: now() - 86400, exp: now() + 600 })))), /lifetime/);
  });

  it('must be a positive integer', () => {
    for (const bad of ['0', '-5', '1.5', 'soon']) {
      assert.throws(() => loadConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET, JWT_MAX_AGE_SECONDS: bad }), /JWT_MAX_AGE_SECONDS/);
    }
  });

  it('jsonwebtoken-minted tokens carry iat, so the limit applies to them as issued', () => {
    const verifier = createTokenVerifier({ secret: SECRET, maxAgeSeconds: 600 });
    const short = jwt.sign({ tenantId: TENANT, permissions: [] }, SECRET, { subject: 'u1', expiresIn: 600 });
    const long = jwt.sign({ tenantId: TENANT, permissions: [] }, SECRET, { subject: 'u1', expiresIn: 601 });
    assert.ok(verifier.verify(`Bearer ${short}`));
    refusal(() => verifier.verify(`Bearer ${long}`));
  });
});

describe('the name claim (the inviter named in emails)', () => {
  const verifier = createTokenVerifier({ secret: SECRET });

  it('keeps a printable display name and leaves out anything else without refusing the token', () => {
    assert.equal(verifier.verify(bearer(valid({ name: '  Grace Hopper ' })))?.name, 'Grace Hopper');
    for (const name of [42, '', '   ', 'a'.repeat(201), 'Eve\u202Eevil', 'Line\nbreak', ['x']]) {
      const viewer = verifier.verify(bearer(valid({ name })));
      assert.ok(viewer, JSON.stringify(name));
      assert.equal(viewer.name, undefined, JSON.stringify(name));
    }
  });
});
