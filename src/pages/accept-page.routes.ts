import { randomBytes, timingSafeEqual } from 'node:crypto';
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppConfig } from '../config';
import { DomainError } from '../services/errors';
import type { InvitationService } from '../services/invitation.service';
import { isRedirectAllowed } from '../services/redirect-policy';
import { escapeHtml, sendPage } from './html';

const CSRF_COOKIE = 'invite_csrf';

function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

function sameSecret(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

function gonePage(message: string) {
  return `<h1>This invitation can no longer be used</h1><p>${escapeHtml(message)}.</p>
<p>Ask the person who invited you to send a new invitation.</p>`;
}

/** GET shows the invitation; POST (a form, works without JavaScript) accepts it. */
export async function acceptPageRoutes(
  app: FastifyInstance,
  opts: { config: AppConfig; invitations: InvitationService },
) {
  await app.register(formbody, { bodyLimit: 4096 });
  const secureCookie = opts.config.publicUrl.startsWith('https:') ? '; Secure' : '';

  app.get<{ Querystring: { token?: string } }>('/invitations/accept', async (request, reply) => {
    const token = typeof request.query.token === 'string' ? request.query.token : '';
    try {
      const view = await opts.invitations.inspectToken(request.ctx, token);
      const csrf = randomBytes(24).toString('base64url');
      reply.header('set-cookie', `${CSRF_COOKIE}=${csrf}; Path=/invitations; HttpOnly; SameSite=Strict; Max-Age=3600${secureCookie}`);
      const note = view.message ? `<blockquote>${escapeHtml(view.message)}</blockquote>` : '';
      return sendPage(
        reply,
        200,
        `Join ${view.tenantName}`,
        `<h1>Join ${escapeHtml(view.tenantName)}</h1>
<p>You have been invited to join <strong>${escapeHtml(view.tenantName)}</strong> as ${escapeHtml(view.invitation.email)}.</p>
${note}
<form method="post" action="/invitations/accept">
<input type="hidden" name="token" value="${escapeHtml(token)}">
<input type="hidden" name="csrf" value="${csrf}">
<button type="submit">Accept invitation</button>
</form>`,
      );
    } catch (error) {
      if (error instanceof DomainError && error.kind === 'GONE') return sendPage(reply, 410, 'Invitation unavailable', gonePage(error.message));
      throw error;
    }
  });

  app.post<{ Body: { token?: string; csrf?: string } }>('/invitations/accept', async (request, reply) => {
    const origin = request.headers.origin;
    const allowedOrigins = new Set([new URL(opts.config.publicUrl).origin, `${request.protocol}://${request.headers.host}`]);
    const body = (request.body ?? {}) as { token?: string; csrf?: string };
    if ((origin && origin !== 'null' && !allowedOrigins.has(origin)) || !sameSecret(body.csrf, readCookie(request, CSRF_COOKIE))) {
      return sendPage(reply, 403, 'Request refused', '<h1>Request refused</h1><p>Open the link from your invitation email again and press the button there.</p>');
    }
    try {
      const outcome = await opts.invitations.accept(request.ctx, String(body.token ?? ''));
      reply.header('set-cookie', `${CSRF_COOKIE}=; Path=/invitations; HttpOnly; SameSite=Strict; Max-Age=0${secureCookie}`);
      // Re-checked now: an allow-list tightened since the invite never lets the page redirect elsewhere.
      if (outcome.redirectUrl && isRedirectAllowed(outcome.redirectUrl, opts.config)) {
        return reply.code(303).header('location', outcome.redirectUrl).header('referrer-policy', 'no-referrer').send();
      }
      return sendPage(
        reply,
        200,
        'Invitation accepted',
        `<h1>Welcome to ${escapeHtml(outcome.tenantName)}</h1><p>Your invitation is accepted. You can close this page.</p>`,
      );
    } catch (error) {
      if (error instanceof DomainError && error.kind === 'GONE') return sendPage(reply, 410, 'Invitation unavailable', gonePage(error.message));
      throw error;
    }
  });
}
