import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderInvitationEmail } from '../../src/mail/invitation-email';

const acceptUrl = 'https://invites.example.com/invitations/accept?token=abc_DEF-123&x=1';
const expiresAt = new Date('2030-01-02T03:04:05Z');
const base = { tenantName: 'Acme Music', message: null, acceptUrl, expiresAt };

/** Every href in the html, with the HTML entities of an attribute value undone. */
const hrefs = (html: string) => [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1].replace(/&amp;/g, '&'));

describe('renderInvitationEmail', () => {
  it('escapes the tenant name and the message in html and keeps them plain in text', () => {
    const email = renderInvitationEmail({
      ...base,
      tenantName: `Tom & Jerry's <b>"Band"</b>`,
      message: 'Welcome <script>alert(1)</script> & "enjoy"',
    });
    assert.equal(email.subject, `You're invited to join Tom & Jerry's <b>"Band"</b>`);
    assert.match(email.html, /Tom &amp; Jerry&#39;s &lt;b&gt;&quot;Band&quot;&lt;\/b&gt;/);
    assert.match(email.html, /Welcome &lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; &quot;enjoy&quot;/);
    assert.doesNotMatch(email.html, /<script>|<b>/);
    assert.match(email.text, /You have been invited to join Tom & Jerry's <b>"Band"<\/b>\./);
    assert.ok(email.text.includes('Welcome <script>alert(1)</script> & "enjoy"'));
    assert.doesNotMatch(email.text, /&amp;|&lt;/);
  });

  it('carries exactly one accept link, the same in html and text', () => {
    const email = renderInvitationEmail({ ...base, message: 'see https://elsewhere.example.com' });
    assert.deepEqual(hrefs(email.html), [acceptUrl]);
    assert.ok(email.html.includes('token=abc_DEF-123&amp;x=1'), 'the link is attribute-escaped');
    const textLinks = email.text.match(/https:\/\/invites\.example\.com\/\S+/g);
    assert.deepEqual(textLinks, [acceptUrl]);
    assert.ok(email.text.includes(expiresAt.toUTCString()) && email.html.includes(expiresAt.toUTCString()));
  });

  it('strips display-control characters from the subject (no header break, no reversed text)', () => {
    const email = renderInvitationEmail({ ...base, tenantName: 'Acme\r\nBcc: evil@example.com\u202Emoc.live\u0000' });
    assert.equal(email.subject, "You're invited to join Acme Bcc: evil@example.com moc.live");
    assert.doesNotMatch(email.subject, /[\r\n\u0000\u202e]/);
    assert.doesNotMatch(email.html, /\u202e/);
    assert.doesNotMatch(email.text, /\u202e|\r/);
  });

  it('has no blockquote and no note without a message, and one blockquote with one', () => {
    for (const message of [null, '']) {
      const email = renderInvitationEmail({ ...base, message });
      assert.doesNotMatch(email.html, /<blockquote/);
      assert.equal(email.text, [
        'You have been invited to join Acme Music.',
        '',
        `Accept the invitation: ${acceptUrl}`,
        '',
        `This invitation expires on ${expiresAt.toUTCString()}. If you did not expect it, ignore this email.`,
      ].join('\n'));
    }
    const withNote = renderInvitationEmail({ ...base, message: 'Hello' });
    assert.equal(withNote.html.match(/<blockquote/g)?.length, 1);
    assert.match(withNote.html, /<blockquote[^>]*>Hello<\/blockquote>/);
    assert.match(withNote.text, /\n\nHello\n\n/);
  });
});
