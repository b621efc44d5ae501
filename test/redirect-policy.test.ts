import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isRedirectAllowed, normalizeRedirectTarget, type RedirectPolicy } from '../src/services/redirect-policy';

const open: RedirectPolicy = { redirectUrlAllowlist: undefined, isProduction: false };
const production: RedirectPolicy = { redirectUrlAllowlist: undefined, isProduction: true };
// As config.ts stores it: each entry already `new URL(entry).origin`.
const listed: RedirectPolicy = {
  redirectUrlAllowlist: ['https://app.example.com', 'https://xn--bcher-kva.example', 'https://app.example.com:8443', 'http://localhost:3000'],
  isProduction: false,
};

/** [input, policy, expected href or null when refused] */
const cases: Array<[string, RedirectPolicy, string | null]> = [
  // plain and normalised
  ['https://app.example.com/welcome', listed, 'https://app.example.com/welcome'],
  ['https://app.example.com', listed, 'https://app.example.com/'],
  ['HTTPS://APP.EXAMPLE.COM/Welcome', listed, 'https://app.example.com/Welcome'],
  ['https://app.example.com:443/x', listed, 'https://app.example.com/x'],
  ['https://app.example.com/€', listed, 'https://app.example.com/%E2%82%AC'],
  ['https://app.example.com/a b?q=ü#frag', listed, 'https://app.example.com/a%20b?q=%C3%BC#frag'],
  ['  https://app.example.com/trimmed  ', listed, 'https://app.example.com/trimmed'],
  ['https://%61pp.example.com/', listed, 'https://app.example.com/'],
  // ideographic full stops are dots to IDNA
  ['https://app。example。com/', listed, 'https://app.example.com/'],
  // IDN: compared and returned in punycode
  ['https://bücher.example/kaufen', listed, 'https://xn--bcher-kva.example/kaufen'],
  ['https://BÜCHER.example/', listed, 'https://xn--bcher-kva.example/'],
  ['https://xn--bcher-kva.example/', listed, 'https://xn--bcher-kva.example/'],
  // backslash is a path separator for https: the host stays app.example.com
  ['https://app.example.com\\@evil.com', listed, 'https://app.example.com/@evil.com'],
  ['https://app.example.com\\evil.com/', listed, 'https://app.example.com/evil.com/'],
  // userinfo tricks and credentials
  ['https://app.example.com@evil.com/', listed, null],
  ['https://user:pw@app.example.com/', listed, null],
  ['https://user@app.example.com/', open, null],
  // ports are part of the origin
  ['https://app.example.com:8443/in', listed, 'https://app.example.com:8443/in'],
  ['https://app.example.com:9443/in', listed, null],
  ['http://localhost:3000/dev', listed, 'http://localhost:3000/dev'],
  ['http://localhost:3001/dev', listed, null],
  // a trailing dot is another origin to the parser: refused when an allow-list names the dotless one
  ['https://app.example.com./', listed, null],
  ['https://app.example.com./', open, 'https://app.example.com./'],
  // look-alikes and other hosts
  ['https://app.example.com.evil.com/', listed, null],
  ['https://evil.com/?https://app.example.com', listed, null],
  ['https://evil.com/', listed, null],
  // schemes that are never a place to send anyone, even with an allowed origin inside
  ['blob:https://app.example.com/6f1e', listed, null],
  ['data:text/html,<script>alert(1)</script>', open, null],
  ['javascript:alert(1)', open, null],
  ['JavaScript:alert(1)', open, null],
  ['file:///etc/passwd', open, null],
  ['ftp://app.example.com/', open, null],
  ['wss://app.example.com/', open, null],
  // not absolute, or not a URL
  ['/welcome', open, null],
  ['//evil.com/', open, null],
  ['app.example.com/welcome', open, null],
  ['', open, null],
  ['https://', open, null],
  ['https://exa mple.com/', open, null],
  // no allow-list: any https:, http: only to loopback and only outside production
  ['https://anywhere.example/', open, 'https://anywhere.example/'],
  ['https://anywhere.example/', production, 'https://anywhere.example/'],
  ['http://localhost:5173/x', open, 'http://localhost:5173/x'],
  ['http://127.0.0.1:8080/', open, 'http://127.0.0.1:8080/'],
  ['HTTP://LOCALHOST/', open, 'http://localhost/'],
  ['http://[::1]:3000/', open, 'http://[::1]:3000/'],
  ['http://localhost:5173/x', production, null],
  ['http://127.0.0.1/', production, null],
  ['http://example.com/', open, null],
  ['http://localhost.evil.com/', open, null],
  ['http://127.0.0.1.evil.com/', open, null],
  // too long
  [`https://app.example.com/${'a'.repeat(2100)}`, listed, null],
];

describe('normalizeRedirectTarget', () => {
  for (const [input, policy, expected] of cases) {
    const policyName = policy === listed ? 'allow-list' : policy === production ? 'production' : 'open';
    it(`${JSON.stringify(input.length > 60 ? `${input.slice(0, 60)}…` : input)} (${policyName}) → ${expected ?? 'refused'}`, () => {
      const outcome = normalizeRedirectTarget(input, policy);
      if (expected === null) {
        assert.equal(outcome.ok, false, JSON.stringify(outcome));
        assert.ok(!outcome.ok && outcome.reason.length > 0);
      } else {
        assert.deepEqual(outcome, { ok: true, href: expected });
      }
      assert.equal(isRedirectAllowed(input, policy), expected !== null);
    });
  }

  it('is idempotent: an href it returned is returned unchanged', () => {
    for (const [input, policy, expected] of cases) {
      if (expected === null) continue;
      assert.deepEqual(normalizeRedirectTarget(expected, policy), { ok: true, href: expected }, input);
    }
  });

  it('returns only ASCII without control characters or spaces, so the href is always a valid Location header', () => {
    for (const [input, policy] of cases) {
      const outcome = normalizeRedirectTarget(input, policy);
      if (outcome.ok) assert.match(outcome.href, /^[\x21-\x7e]+$/, input);
    }
  });

  it('says why it refused', () => {
    assert.deepEqual(normalizeRedirectTarget('https://evil.com/', listed), { ok: false, reason: 'origin https://evil.com is not allow-listed' });
    assert.deepEqual(normalizeRedirectTarget('javascript:alert(1)', open), { ok: false, reason: 'javascript: URLs are not allowed' });
  });
});
