import type { MikroORM } from '@mikro-orm/postgresql';
import type { FastifyInstance } from 'fastify';
import { isUuid } from '../services/ids';
import { DevMail } from '../entities';
import { escapeHtml, sendPage } from '../pages/html';

/** Development only: the emails the service would have sent, newest first, each viewable as rendered HTML. */
export async function devMailboxRoutes(app: FastifyInstance, opts: { orm: MikroORM }) {
  app.get('/dev/mailbox', async (_request, reply) => {
    const mails = await opts.orm.em.fork().find(DevMail, {}, { orderBy: { createdAt: 'desc' }, limit: 200 });
    const rows = mails
      .map(
        (mail) => `<tr><td>${escapeHtml(mail.createdAt.toISOString().replace('T', ' ').slice(0, 19))}</td>
<td>${escapeHtml(mail.to)}</td><td><a href="/dev/mailbox/${mail.id}">${escapeHtml(mail.subject)}</a></td></tr>`,
      )
      .join('\n');
    return sendPage(
      reply,
      200,
      'Dev mailbox',
      `<h1>Dev mailbox</h1><p>Emails kept instead of sent (no POSTMARK_SERVER_TOKEN). Newest first.</p>
<table><thead><tr><th>When (UTC)</th><th>To</th><th>Subject</th></tr></thead><tbody>${rows || '<tr><td colspan="3">No emails yet.</td></tr>'}</tbody></table>`,
    );
  });

  app.get<{ Params: { id: string } }>('/dev/mailbox/:id', async (request, reply) => {
    const mail = isUuid(request.params.id) ? await opts.orm.em.fork().findOne(DevMail, request.params.id) : null;
    if (!mail) return sendPage(reply, 404, 'Not found', '<h1>No such email</h1><p><a href="/dev/mailbox">Back to the mailbox</a></p>');
    return reply
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
      .header('x-content-type-options', 'nosniff')
      .type('text/html; charset=utf-8')
      .send(
        `<div style="font-family:monospace;background:#f4f4f4;padding:8px;border-bottom:1px solid #ccc">` +
          `<a href="/dev/mailbox">&larr; mailbox</a> &middot; From: ${escapeHtml(mail.from)} &middot; To: ${escapeHtml(mail.to)} &middot; Subject: ${escapeHtml(mail.subject)}</div>` +
          mail.html +
          // The text part, as a client without HTML shows it.
          `<hr><div style="font-family:monospace;background:#f4f4f4;padding:8px">Text part:</div><pre style="white-space:pre-wrap;padding:8px">${escapeHtml(mail.text)}</pre>`,
      );
  });
}
