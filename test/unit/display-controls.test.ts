import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { renderInvitationEmail } from '../../src/mail/invitation-email';
import { hasDisplayControl, stripDisplayControls } from '../../src/services/unsafe-text';

/** Every character the names must not hold, by code point. */
const DISPLAY_CONTROLS = [
  ...Array.from({ length: 0x20 }, (_, i) => i),
  ...Array.from({ length: 0x21 }, (_, i) => 0x7f + i), // DEL and C1, U+0085 included
  0x061c, 0x200e, 0x200f, 0x2028, 0x2029, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069,
].map((code) => String.fromCodePoint(code));

describe('display controls', () => {
  it('are each detected, and ordinary text (accents, CJK, emoji with joiners) is not', () => {
    for (const c of DISPLAY_CONTROLS) assert.ok(hasDisplayControl(`Acme${c}Corp`), `U+${c.codePointAt(0)!.toString(16)}`);
    for (const ok of ['Acme Corp', 'Zoë & Co.', '株式会社アクメ', 'שלום', 'Team 👩‍💻']) assert.equal(hasDisplayControl(ok), false, ok);
  });

  it('are stripped from any text, leaving none behind (fuzzed)', () => {
    const withControls = fc.array(fc.oneof(fc.string({ unit: 'grapheme' }), fc.constantFrom(...DISPLAY_CONTROLS)), { maxLength: 20 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(withControls, (text) => {
        assert.equal(hasDisplayControl(stripDisplayControls(text)), false);
      }),
    );
  });

  it('are stripped from the tenant name in the subject and both bodies of the invitation email', () => {
    const email = renderInvitationEmail({
      tenantName: 'Acme\u202egnp.exe\u2028Bcc: x@evil.test\r\n\u0085\u2066Corp\u2069\u200f',
      message: null,
      acceptUrl: 'https://app.example.com/accept?token=abc',
      expiresAt: new Date('2030-01-01T00:00:00Z'),
    });
    assert.equal(email.subject, "You're invited to join Acme gnp.exe Bcc: x@evil.test Corp");
    for (const part of [email.subject, email.text.split('\n')[0], email.html]) {
      for (const c of DISPLAY_CONTROLS.filter((c) => c !== '\n')) assert.ok(!part.includes(c), `U+${c.codePointAt(0)!.toString(16)} in ${JSON.stringify(part)}`);
    }
    assert.equal(email.text.split('\n')[0], 'You have been invited to join Acme gnp.exe Bcc: x@evil.test Corp.');
  });
});
