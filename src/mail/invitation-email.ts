import { stripDisplayControls } from '../services/unsafe-text';

export interface InvitationEmailInput {
  tenantName: string;
  message: string | null;
  acceptUrl: string;
  expiresAt: Date;
  /** Who invited: the inviting token's `name` claim, else its `sub`; null when unknown. */
  inviterName?: string | null;
  /** BCP 47; the html's `lang` (English text either way). */
  locale?: string | null;
}

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

export function renderInvitationEmail(input: InvitationEmailInput): RenderedEmail {
  // Names are refused with such characters at creation; rows written before that rule are cleaned here, so a
  // stored name can neither break the Subject header nor reverse what the recipient reads.
  const tenant = stripDisplayControls(input.tenantName);
  const inviter = input.inviterName ? stripDisplayControls(input.inviterName) : '';
  const expires = input.expiresAt.toUTCString();
  const subject = `You're invited to join ${tenant}`;
  const lang = input.locale && /^[A-Za-z0-9-]{1,35}$/.test(input.locale) ? input.locale : 'en';
  const invitedLine = inviter ? `${inviter} invited you to join` : 'You have been invited to join';
  const note = input.message
    ? `<blockquote style="margin:16px 0;padding:8px 16px;border-left:3px solid #ccc;white-space:pre-wrap">${escapeHtml(input.message)}</blockquote>`
    : '';
  const html = `<!doctype html>
<html lang="${escapeHtml(lang)}"><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head>
<body style="font-family:system-ui,sans-serif;line-height:1.5;color:#222">
<h1 style="font-size:20px">Join ${escapeHtml(tenant)}</h1>
<p>${escapeHtml(invitedLine)} <strong>${escapeHtml(tenant)}</strong>.</p>
${note}
<p><a href="${escapeHtml(input.acceptUrl)}" style="display:inline-block;padding:10px 18px;background:#2d6cdf;color:#fff;text-decoration:none;border-radius:4px">Accept invitation</a></p>
<p style="color:#666;font-size:13px">This invitation expires on ${escapeHtml(expires)}. If you did not expect it, ignore this email.</p>
</body></html>`;
  const text = [
    `${invitedLine} ${tenant}.`,
    ...(input.message ? ['', input.message] : []),
    '',
    `Accept the invitation: ${input.acceptUrl}`,
    '',
    `This invitation expires on ${expires}. If you did not expect it, ignore this email.`,
  ].join('\n');
  return { subject, html, text };
}
