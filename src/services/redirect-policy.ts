import type { AppConfig } from '../config';

/** What decides where invitees may be sent: the allow-listed origins (already `new URL(entry).origin`) and the environment. */
export type RedirectPolicy = Pick<AppConfig, 'redirectUrlAllowlist' | 'isProduction'>;

export type RedirectTarget = { ok: true; href: string } | { ok: false; reason: string };

/** Longer targets are refused: browsers and proxies cut long Location headers, and the column is bounded. */
export const MAX_REDIRECT_URL_LENGTH = 2048;

/** Hostnames (as the WHATWG parser spells them) that plain http: may name outside production. */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Where an invitee may be sent after accepting, as the WHATWG URL parser reads `raw` (the parser browsers use,
 * so what is checked is what a browser would follow). Only https: (and http: to loopback outside production);
 * no credentials; with REDIRECT_URL_ALLOWLIST set, only its origins, compared on the parsed URL's `origin`.
 * The returned `href` is what to store and send in Location: ASCII, percent-encoded, IDN in punycode.
 * Pure: no I/O, the same answer for the same input and policy.
 */
export function normalizeRedirectTarget(raw: string, policy: RedirectPolicy): RedirectTarget {
  if (typeof raw !== 'string' || raw.length === 0) return { ok: false, reason: 'empty' };
  if (raw.length > MAX_REDIRECT_URL_LENGTH) return { ok: false, reason: `longer than ${MAX_REDIRECT_URL_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'not an absolute URL' };
  }
  // Scheme first: blob:https://allowed.example/… reports the allowed origin, yet is not a place to send anyone.
  if (url.protocol === 'http:') {
    if (policy.isProduction) return { ok: false, reason: 'http: is not allowed in production' };
    if (!LOOPBACK_HOSTS.has(url.hostname)) return { ok: false, reason: 'http: is only allowed to localhost' };
  } else if (url.protocol !== 'https:') {
    return { ok: false, reason: `${url.protocol} URLs are not allowed` };
  }
  if (url.username || url.password) return { ok: false, reason: 'credentials in the URL are not allowed' };
  if (policy.redirectUrlAllowlist && !policy.redirectUrlAllowlist.includes(url.origin)) {
    return { ok: false, reason: `origin ${url.origin} is not allow-listed` };
  }
  if (url.href.length > MAX_REDIRECT_URL_LENGTH) return { ok: false, reason: `longer than ${MAX_REDIRECT_URL_LENGTH} characters` };
  return { ok: true, href: url.href };
}

/** @deprecated Use normalizeRedirectTarget and store its `href`; kept while callers move over. */
export function isRedirectAllowed(url: string, config: RedirectPolicy): boolean {
  return normalizeRedirectTarget(url, config).ok;
}
