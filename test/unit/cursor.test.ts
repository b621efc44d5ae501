import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DomainError } from '../../src/services/errors';
import { decodeCursor, encodeCursor } from '../../src/services/invitation.service';

const b64 = (text: string) => Buffer.from(text).toString('base64url');
/** PostgreSQL's timestamptz holds years 4713 BC to 294276 AD; a cursor must decode inside what it can compare. */
const storable = (date: Date) => date.getUTCFullYear() >= 1 && date.getUTCFullYear() <= 9999;
const UUID = '3f1e2d4c-5b6a-4789-9abc-def012345678';

/** Either a cursor PostgreSQL can use, or BAD_USER_INPUT; never another error. */
function decodeOrRefuse(cursor: string): { createdAt: Date; id: string } | 'refused' {
  try {
    return decodeCursor(cursor);
  } catch (error) {
    assert.ok(error instanceof DomainError, `not a DomainError: ${String(error)}`);
    assert.equal(error.kind, 'BAD_USER_INPUT');
    return 'refused';
  }
}

function assertUsable(result: ReturnType<typeof decodeOrRefuse>) {
  if (result === 'refused') return;
  assert.ok(storable(result.createdAt), `unstorable date ${result.createdAt.toISOString()}`);
  assert.match(result.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
}

describe('invitation cursor parsing', () => {
  it('decodes what it encodes, with the id in canonical (lower) case', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }), fc.uuid(), (createdAt, id) => {
        const decoded = decodeCursor(encodeCursor({ createdAt, id: id.toUpperCase() }));
        assert.equal(decoded.createdAt.getTime(), createdAt.getTime());
        assert.equal(decoded.id, id.toLowerCase());
      }),
    );
  });

  it('refuses crafted cursors as BAD_USER_INPUT', () => {
    const crafted = [
      b64(`+275760-09-14T00:00:00.001Z|${UUID}`),
      b64(`+275760-09-13T00:00:00.000Z|${UUID}`),
      b64(`-271821-04-20T00:00:00.000Z|${UUID}`),
      b64(`99999|${UUID}`),
      b64(`+099999-01-01T00:00:00.000Z|${UUID}`),
      b64(`0000-01-01T00:00:00.000Z|${UUID}`),
      b64(`2024-02-30T00:00:00.000Z|${UUID}`),
      b64(`2024-01-01|${UUID}`),
      b64(`2024-01-01T00:00:00.000Z|${UUID}|extra`),
      b64(`2024-01-01T00:00:00.000Z|not-a-uuid`),
      b64(`2024-01-01T00:00:00.000Z`),
      'bm90LWEtY3Vyc29y',
      '!!!!',
      '',
      'A'.repeat(1_000_000),
      b64(`2024-01-01T00:00:00.000Z|${UUID}`) + '\u0000',
    ];
    for (const cursor of crafted) assert.equal(decodeOrRefuse(cursor), 'refused', JSON.stringify(cursor.slice(0, 80)));
  });

  it('never throws anything but BAD_USER_INPUT, nor returns a date PostgreSQL cannot store (fuzzed)', () => {
    const anyDate = fc.date({ noInvalidDate: false }).map((d) => (Number.isNaN(d.getTime()) ? 'Invalid Date' : d.toISOString()));
    const isoLike = fc.tuple(fc.integer({ min: -300_000, max: 300_000 }), fc.integer({ min: -1, max: 14 }), fc.integer({ min: -1, max: 33 })).map(
      ([y, m, d]) => `${y < 0 ? '-' : y > 9999 ? '+' : ''}${String(Math.abs(y)).padStart(y > 9999 || y < 0 ? 6 : 4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}T00:00:00.000Z`,
    );
    const idPart = fc.oneof(fc.uuid(), fc.uuid().map((u) => u.toUpperCase()), fc.string(), fc.constant(''));
    const payload = fc.oneof(
      fc.tuple(fc.oneof(anyDate, isoLike, fc.string()), idPart).map(([date, id]) => `${date}|${id}`),
      fc.string({ unit: 'grapheme' }),
      fc.string({ unit: 'binary' }),
    );
    const cursor = fc.oneof(payload.map(b64), fc.string(), fc.string({ unit: 'binary', maxLength: 400 }), fc.base64String());
    fc.assert(fc.property(cursor, (value) => assertUsable(decodeOrRefuse(value))), { numRuns: 2000 });
  });
});
