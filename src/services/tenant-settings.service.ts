import { LockMode } from '@mikro-orm/core';
import type { RequestContext } from '../context';
import { Tenant } from '../entities';
import { normalizeDomain } from './email-domains';
import { DomainError } from './errors';

export interface TenantSettingsView {
  /** Null: unlimited. */
  maxMembers: number | null;
  allowedEmailDomains: string[];
}

export interface TenantSettingsUpdate {
  /** Absent: unchanged; null: unlimited. */
  maxMembers?: number | null;
  /** Absent or null: unchanged; empty: every domain allowed. */
  allowedEmailDomains?: readonly string[] | null;
}

export const MAX_ALLOWED_DOMAINS = 1000;
/** Far above any real tenant, and inside PostgreSQL's integer. */
export const MAX_SEATS = 10_000_000;

function view(tenant: Tenant): TenantSettingsView {
  return { maxMembers: tenant.maxMembers ?? null, allowedEmailDomains: [...(tenant.allowedEmailDomains ?? [])] };
}

export async function getTenantSettings(ctx: RequestContext): Promise<TenantSettingsView> {
  const tenantId = ctx.requireTenantPermission('tenant:admin');
  const tenant = await ctx.em.findOne(Tenant, tenantId);
  if (!tenant) throw new DomainError('UNAUTHENTICATED', 'The token’s tenant does not exist');
  return view(tenant);
}

/** Domains as emails are compared against them: lower case, punycode, each once, in the order given. */
export function normalizeDomains(domains: readonly string[]): string[] {
  if (domains.length > MAX_ALLOWED_DOMAINS) throw new DomainError('BAD_USER_INPUT', `allowedEmailDomains takes at most ${MAX_ALLOWED_DOMAINS} domains`);
  const normalized = new Set<string>();
  for (const raw of domains) {
    const domain = typeof raw === 'string' ? normalizeDomain(raw) : null;
    if (!domain) {
      throw new DomainError('BAD_USER_INPUT', `Not a domain name: "${String(raw).slice(0, 100)}" (a plain domain such as example.com; no wildcards: subdomains are allowed already)`);
    }
    normalized.add(domain);
  }
  return [...normalized];
}

/**
 * Changes the given settings. The tenant's row is locked while it changes, so a bulk invite deciding against
 * the old settings notices at write time and decides again (src/db/seats.ts). Lowering maxMembers below the
 * seats in use removes nobody; new invites are refused until members leave.
 */
export async function updateTenantSettings(ctx: RequestContext, input: TenantSettingsUpdate): Promise<TenantSettingsView> {
  const tenantId = ctx.requireTenantPermission('tenant:admin');
  const { maxMembers } = input;
  if (maxMembers !== undefined && maxMembers !== null && (!Number.isInteger(maxMembers) || maxMembers < 0 || maxMembers > MAX_SEATS)) {
    throw new DomainError('BAD_USER_INPUT', `maxMembers must be an integer from 0 to ${MAX_SEATS}, or null for unlimited`);
  }
  const domains = input.allowedEmailDomains != null ? normalizeDomains(input.allowedEmailDomains) : undefined;
  return ctx.em.transactional(async (tx) => {
    const tenant = await tx.findOne(Tenant, tenantId, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!tenant) throw new DomainError('UNAUTHENTICATED', 'The token’s tenant does not exist');
    if (maxMembers !== undefined) tenant.maxMembers = maxMembers;
    if (domains !== undefined) tenant.allowedEmailDomains = domains;
    await tx.flush();
    return view(tenant);
  });
}
