import type { FastifyReply } from 'fastify';
import { escapeHtml } from '../mail/invitation-email';

export { escapeHtml };

export interface PageOptions {
  /**
   * Origins (besides this one) a form on the page may lead to. Browsers apply form-action to every redirect that
   * follows a submission, so a form whose answer is a 303 to another origin needs that exact origin here.
   */
  formActionOrigins?: string[];
}

/** Pages are self-contained: no scripts, inline styles only, never framed, never leak the URL (it holds a token). */
export function sendPage(reply: FastifyReply, status: number, title: string, body: string, options: PageOptions = {}) {
  const formAction = ["'self'", ...(options.formActionOrigins ?? [])].join(' ');
  return reply
    .code(status)
    .header('content-security-policy', `default-src 'none'; style-src 'unsafe-inline'; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`)
    .header('referrer-policy', 'no-referrer')
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;line-height:1.5;color:#222}
button{font-size:1rem;padding:.6rem 1.2rem;background:#2d6cdf;color:#fff;border:0;border-radius:4px;cursor:pointer}
blockquote{margin:1rem 0;padding:.5rem 1rem;border-left:3px solid #ccc;white-space:pre-wrap}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eee}</style>
</head><body>${body}</body></html>`);
}
