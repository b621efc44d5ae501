import { lookup as dnsLookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

/**
 * The SSRF guard of webhook targets. A target must resolve only to public unicast addresses: loopback, private
 * (RFC 1918), carrier-grade NAT, link-local (the cloud metadata address 169.254.169.254 included), unique-local,
 * multicast, unspecified, reserved and the IPv6 forms that embed an IPv4 address (mapped, NAT64, 6to4, Teredo)
 * are refused. Checked when an endpoint is created or changed and again before every attempt; the attempt then
 * connects to the very address that was checked, so a DNS answer that changes in between (rebinding) cannot
 * redirect it.
 */
export interface TargetPolicy {
  /** Production: only https: URLs. */
  httpsOnly: boolean;
  /** Development and tests: private and loopback targets allowed (WEBHOOK_ALLOW_PRIVATE_TARGETS=true). */
  allowPrivate: boolean;
}

/** https only in production; private targets only when WEBHOOK_ALLOW_PRIVATE_TARGETS=true. */
export function targetPolicy(config: { isProduction: boolean; webhooks: { allowPrivateTargets: boolean } }): TargetPolicy {
  return { httpsOnly: config.isProduction, allowPrivate: config.webhooks.allowPrivateTargets };
}

export interface ResolvedTarget {
  url: URL;
  /** The checked address to connect to. */
  address: string;
  family: 4 | 6;
}

export class TargetRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetRefused';
  }
}

export type Lookup = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

const systemLookup: Lookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** Why an address may not be a webhook target, or null when it is public unicast. */
export function refusedAddressReason(address: string): string | null {
  if (!ipaddr.isValid(address)) return 'not an IP address';
  let parsed = ipaddr.parse(address);
  // ::ffff:10.0.0.1 reaches 10.0.0.1: judge the IPv4 address it carries.
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  const range = parsed.range();
  // ::/96, the deprecated IPv4-compatible form (::127.0.0.1): ipaddr.js calls it unicast, yet it carries an IPv4 address.
  if (range === 'unicast' && parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).parts.slice(0, 6).every((part) => part === 0)) return 'an IPv4-compatible address';
  // The range only, not the address: a tenant must not learn what an internal host name resolves to.
  return range === 'unicast' ? null : `a ${range} address`;
}

/** Parses and checks a URL's form (scheme, no credentials); does not resolve it. */
export function checkTargetUrl(raw: string, policy: TargetPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TargetRefused('url is not a valid URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TargetRefused('url must be an https: URL');
  if (policy.httpsOnly && url.protocol !== 'https:') throw new TargetRefused('url must be an https: URL');
  if (url.username || url.password) throw new TargetRefused('url must not carry credentials');
  if (raw.length > 2048) throw new TargetRefused('url is longer than 2048 characters');
  return url;
}

/**
 * Resolves the URL's host and checks every address it resolves to (one bad address refuses the target: a
 * client may connect to any of them). Returns the first address, which the caller must connect to.
 */
export async function resolveTarget(raw: string, policy: TargetPolicy, lookup: Lookup = systemLookup): Promise<ResolvedTarget> {
  const url = checkTargetUrl(raw, policy);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  let addresses: Array<{ address: string; family: number }>;
  if (ipaddr.isValid(host)) {
    addresses = [{ address: host, family: host.includes(':') ? 6 : 4 }];
  } else {
    try {
      addresses = await lookup(host);
    } catch {
      throw new TargetRefused(`the host ${host} does not resolve`);
    }
    if (!addresses.length) throw new TargetRefused(`the host ${host} does not resolve`);
  }
  if (!policy.allowPrivate) {
    for (const { address } of addresses) {
      const reason = refusedAddressReason(address);
      if (reason) throw new TargetRefused(`url resolves to a non-public address (${reason})`);
    }
  }
  const first = addresses[0];
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}
