import type { AppConfig } from '../config';

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export type RedirectPolicy = Pick<AppConfig, 'redirectUrlAllowlist' | 'isProduction'>;

/**
 * Where invitees may be sent after accepting: the allow-listed origins when REDIRECT_URL_ALLOWLIST is set,
 * otherwise any https: URL (and http://localhost outside production). The target is parsed with the WHATWG URL
 * parser and its `href` is what gets stored and sent, so what was checked is exactly what a browser follows.
 */
export function normalizeRedirectTarget(raw: string, policy: RedirectPolicy): { ok: true; href: string } | { ok: false; reason: string } {
  if (raw.length > 2048) return { ok: false, reason: 'longer than 2048 characters' };
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    return { ok: false, reason: 'not an absolute URL' };
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return { ok: false, reason: `${parsed.protocol} URLs are not allowed` };
  if (parsed.username || parsed.password) return { ok: false, reason: 'credentials in the URL' };
  if (policy.redirectUrlAllowlist) {
    return policy.redirectUrlAllowlist.includes(parsed.origin) ? { ok: true, href: parsed.href } : { ok: false, reason: 'origin not in the allow-list' };
  }
  if (parsed.protocol === 'https:') return { ok: true, href: parsed.href };
  if (!policy.isProduction && LOCAL_HOSTS.has(parsed.hostname)) return { ok: true, href: parsed.href };
  return { ok: false, reason: 'only https: (or http: to localhost outside production)' };
}

export function isRedirectAllowed(url: string, policy: RedirectPolicy): boolean {
  return normalizeRedirectTarget(url, policy).ok;
}
