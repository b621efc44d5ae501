import type { AppConfig } from '../config';

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Whether invitees may be sent to `url` after accepting: the allow-listed origins when
 * REDIRECT_URL_ALLOWLIST is set, otherwise any https: URL (and http://localhost outside production).
 */
export function isRedirectAllowed(url: string, config: Pick<AppConfig, 'redirectUrlAllowlist' | 'isProduction'>): boolean {
  if (url.length > 2048) return false;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.username || parsed.password) return false;
  if (config.redirectUrlAllowlist) return config.redirectUrlAllowlist.includes(parsed.origin);
  if (parsed.protocol === 'https:') return true;
  return !config.isProduction && parsed.protocol === 'http:' && LOCAL_HOSTS.has(parsed.hostname);
}
