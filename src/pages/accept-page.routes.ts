import cookie from '@fastify/cookie';
import csrfProtection from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppConfig } from '../config';
import { DomainError } from '../services/errors';
import type { AcceptOutcome, InvitationService } from '../services/invitation.service';
import { normalizeRedirectTarget, type RedirectPolicy } from '../services/redirect-policy';
import { escapeHtml, sendPage } from './html';

const CSRF_COOKIE = 'invite_csrf';
/** What @fastify/csrf mints (18 random bytes, base64url); anything else in the cookie is replaced, never reused as a secret. */
const WELL_FORMED_SECRET = /^[\w-]{24}$/;
/** How long a second press of the button (double click, reload, back-and-press) is answered like the first. */
const REPEAT_PRESS_WINDOW_MS = 60 * 60 * 1000;
/** An origin as CSP's host-source grammar can name it: no IPv6 literal, no underscore, no trailing dot. */
const CSP_NAMEABLE_ORIGIN = /^https?:\/\/[a-z0-9-]+(\.[a-z0-9-]+)*(:\d+)?$/;

interface RedirectTarget {
  href: string;
  /** Set when a 303 after the form post can reach it: the page's form-action names this origin. */
  formActionOrigin: string | null;
}

/**
 * Where to send the person, re-checked now (an allow-list tightened since the invite never lets the page redirect
 * elsewhere) and only as the URL parser's href, which is always a valid Location header value.
 */
function redirectTargetOf(stored: string | null | undefined, policy: RedirectPolicy): RedirectTarget | null {
  if (!stored) return null;
  const target = normalizeRedirectTarget(stored, policy);
  if (!target.ok || !/^[\x21-\x7e]+$/.test(target.href)) return null;
  const origin = new URL(target.href).origin;
  return { href: target.href, formActionOrigin: CSP_NAMEABLE_ORIGIN.test(origin) ? origin : null };
}

function gonePage(message: string) {
  return `<h1>This invitation can no longer be used</h1><p>${escapeHtml(message)}.</p>
<p>Ask the person who invited you to send a new invitation.</p>`;
}

function continueLink(target: RedirectTarget | null) {
  return target ? `<p><a href="${escapeHtml(target.href)}" rel="noreferrer">Continue</a></p>` : '';
}

function refusedPage(reply: FastifyReply) {
  return sendPage(reply, 403, 'Request refused', '<h1>Request refused</h1><p>Open the link from your invitation email again and press the button there.</p>');
}

/** GET shows the invitation; POST (a form, works without JavaScript) accepts it. */
export async function acceptPageRoutes(app: FastifyInstance, opts: { config: AppConfig; invitations: InvitationService }) {
  const { config, invitations } = opts;
  await app.register(formbody, { bodyLimit: 4096 });
  // Both are registered inside this plugin only: no other route reads cookies.
  await app.register(cookie);
  await app.register(csrfProtection, {
    cookieKey: CSRF_COOKIE,
    // A session cookie: it must still be there when the person comes back to press the button.
    cookieOpts: { path: '/invitations', httpOnly: true, sameSite: 'strict', secure: config.publicUrl.startsWith('https:') },
    getToken: (request) => {
      const token = (request.body as { csrf?: unknown } | undefined)?.csrf;
      return typeof token === 'string' ? token : '';
    },
  });

  // Hostile input (malformed bodies, cookies or tokens) is a 4xx page here, never a 500.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.code?.startsWith('FST_CSRF_')) return refusedPage(reply);
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error({ err: error }, 'unexpected error on the accept page');
    return sendPage(
      reply,
      status,
      status === 500 ? 'Something went wrong' : 'Request refused',
      status === 500
        ? '<h1>Something went wrong</h1><p>Please try again in a moment.</p>'
        : '<h1>Request refused</h1><p>Open the link from your invitation email again and press the button there.</p>',
    );
  });

  /** An invitation this token already accepted: a clear page (410, as for any used link) that still lets the person go on. */
  const alreadyAcceptedPage = (reply: FastifyReply, outcome: AcceptOutcome) =>
    sendPage(
      reply,
      410,
      'Invitation already accepted',
      `<h1>You have already accepted this invitation</h1>
<p>This invitation has already been used: you are a member of <strong>${escapeHtml(outcome.tenantName)}</strong>.</p>
${continueLink(redirectTargetOf(outcome.redirectUrl, config))}`,
    );

  app.get<{ Querystring: { token?: string } }>('/invitations/accept', async (request, reply) => {
    const token = typeof request.query.token === 'string' ? request.query.token : '';
    try {
      const view = await invitations.inspectToken(request.ctx, token);
      const target = redirectTargetOf(view.invitation.redirectUrl, config);
      if (request.cookies[CSRF_COOKIE] !== undefined && !WELL_FORMED_SECRET.test(request.cookies[CSRF_COOKIE] ?? '')) {
        delete request.cookies[CSRF_COOKIE];
      }
      const csrf = reply.generateCsrf();
      const note = view.message ? `<blockquote>${escapeHtml(view.message)}</blockquote>` : '';
      return sendPage(
        reply,
        200,
        `Join ${view.tenantName}`,
        `<h1>Join ${escapeHtml(view.tenantName)}</h1>
<p>${view.inviterName ? `${escapeHtml(view.inviterName)} invited you` : 'You have been invited'} to join <strong>${escapeHtml(view.tenantName)}</strong> as ${escapeHtml(view.invitation.email)}.</p>
${note}
<form method="post" action="/invitations/accept">
<input type="hidden" name="token" value="${escapeHtml(token)}">
<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">
<button type="submit">Accept invitation</button>
</form>`,
        { formActionOrigins: target?.formActionOrigin ? [target.formActionOrigin] : [] },
      );
    } catch (error) {
      if (!(error instanceof DomainError && error.kind === 'GONE')) throw error;
      const earlier = await invitations.recentAcceptance(request.ctx, token, REPEAT_PRESS_WINDOW_MS);
      if (earlier) return alreadyAcceptedPage(reply, earlier);
      return sendPage(reply, 410, 'Invitation unavailable', gonePage(error.message));
    }
  });

  /** Browsers send Origin on form posts (`null` under no-referrer); another site's form is refused before the CSRF check. */
  const refuseForeignOrigin = async (request: FastifyRequest, reply: FastifyReply) => {
    const origin = request.headers.origin;
    if (!origin || origin === 'null') return;
    const allowed = new Set([new URL(config.publicUrl).origin, `${request.protocol}://${request.headers.host}`]);
    if (!allowed.has(origin)) return refusedPage(reply);
  };

  app.post<{ Body: { token?: string; csrf?: string } }>(
    '/invitations/accept',
    { preHandler: [refuseForeignOrigin, app.csrfProtection] },
    async (request, reply) => {
      const body = (request.body ?? {}) as { token?: unknown };
      const token = typeof body.token === 'string' ? body.token : '';
      let outcome: AcceptOutcome;
      try {
        outcome = await invitations.accept(request.ctx, token);
      } catch (error) {
        if (!(error instanceof DomainError && error.kind === 'GONE')) throw error;
        // A second press with the same token (double click, a reload that re-posts) answers like the first.
        const earlier = await invitations.recentAcceptance(request.ctx, token, REPEAT_PRESS_WINDOW_MS);
        if (!earlier) return sendPage(reply, 410, 'Invitation unavailable', gonePage(error.message));
        outcome = earlier;
      }
      const target = redirectTargetOf(outcome.redirectUrl, config);
      if (target?.formActionOrigin) {
        return reply.code(303).header('location', target.href).header('referrer-policy', 'no-referrer').header('cache-control', 'no-store').send();
      }
      return sendPage(
        reply,
        200,
        'Invitation accepted',
        `<h1>Welcome to ${escapeHtml(outcome.tenantName)}</h1><p>Your invitation is accepted.${target ? '' : ' You can close this page.'}</p>
${continueLink(target)}`,
      );
    },
  );
}
