/** One DNS label of a host name as the WHATWG URL parser leaves it (lower-case ASCII, punycode for IDNs). */
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * A domain of `allowedEmailDomains` in the form emails are compared in: lower-cased, an internationalised name
 * as punycode (the WHATWG URL parser's host), or null when it is not a plain domain name. Wildcards, ports,
 * paths, user info, IP addresses and a trailing dot are refused: a listed domain already allows its subdomains.
 */
export function normalizeDomain(input: string): string | null {
  const trimmed = input.trim();
  if (trimmed === '' || trimmed.length > 253 || /[\s*/:@?#\\[\]%]/.test(trimmed) || trimmed.endsWith('.')) return null;
  let host: string;
  try {
    host = new URL(`http://${trimmed}`).hostname;
  } catch {
    return null;
  }
  const labels = host.split('.');
  if (host.length > 253 || labels.length < 2 || !labels.every((label) => LABEL.test(label))) return null;
  // The parser reads "1.2.3.4" (and "0x1.2") as an IPv4 address: a top-level label that is all digits is no domain.
  if (/^[0-9]+$/.test(labels[labels.length - 1]) || /^0x/i.test(labels[labels.length - 1])) return null;
  return host;
}

/** The domain of an email in the form `normalizeDomain` gives; null when it has none the parser accepts. */
export function emailDomain(email: string): string | null {
  const at = email.lastIndexOf('@');
  if (at < 0) return null;
  try {
    return new URL(`http://${email.slice(at + 1).trim()}`).hostname || null;
  } catch {
    return null;
  }
}

/** Whether `domain` is one of `allowed` or a subdomain of one. An empty list allows every domain. */
export function isDomainAllowed(domain: string | null, allowed: readonly string[]): boolean {
  if (!allowed.length) return true;
  if (!domain) return false;
  return allowed.some((d) => domain === d || domain.endsWith(`.${d}`));
}
