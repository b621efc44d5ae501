import type { RequestContext } from '../../context';
import { WebhookEndpoint } from '../../entities';
import { DomainError } from '../errors';
import { DELIVER_WEBHOOKS_TASK, EVENT_TYPES, endpointJobKey } from '../events';
import { canonicalId, isUuid } from '../ids';
import { hasDisplayControl } from '../unsafe-text';
import { newWebhookSecret, type SecretBox } from './secrets';
import { type Lookup, type TargetPolicy, TargetRefused, resolveTarget } from './target-guard';

/** How long the secret before a rotation keeps signing deliveries beside the new one. */
export const ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;
/** Endpoints per tenant: each one multiplies the deliveries of every event. */
export const MAX_ENDPOINTS_PER_TENANT = 20;
const MAX_DESCRIPTION = 500;

export interface WebhookEndpointView {
  id: string;
  url: string;
  eventTypes: string[];
  enabled: boolean;
  description: string | null;
  disabledReason: string | null;
  createdAt: string;
}

export interface WebhookEndpointWithSecretView {
  endpoint: WebhookEndpointView;
  /** Shown only here: after creation and after a rotation. */
  secret: string;
}

export interface CreateWebhookEndpointCommand {
  url: string;
  eventTypes?: readonly string[] | null;
  description?: string | null;
}

export interface UpdateWebhookEndpointCommand {
  url?: string | null;
  eventTypes?: readonly string[] | null;
  enabled?: boolean | null;
  description?: string | null;
}

function view(endpoint: WebhookEndpoint): WebhookEndpointView {
  return {
    id: endpoint.id,
    url: endpoint.url,
    eventTypes: [...endpoint.eventTypes],
    enabled: endpoint.enabled,
    description: endpoint.description ?? null,
    disabledReason: endpoint.disabledReason ?? null,
    createdAt: endpoint.createdAt.toISOString(),
  };
}

/** Webhook endpoints of the caller's tenant (tenant:admin). Another tenant's endpoint id is NOT_FOUND. */
export class WebhookEndpointService {
  constructor(
    private readonly policy: TargetPolicy,
    private readonly secrets: SecretBox,
    private readonly lookup?: Lookup,
  ) {}

  async list(ctx: RequestContext): Promise<WebhookEndpointView[]> {
    ctx.requireTenantPermission('tenant:admin');
    const rows = await ctx.em.find(WebhookEndpoint, {}, { orderBy: { createdAt: 'asc', id: 'asc' } });
    return rows.map(view);
  }

  async create(ctx: RequestContext, input: CreateWebhookEndpointCommand): Promise<WebhookEndpointWithSecretView> {
    const tenantId = ctx.requireTenantPermission('tenant:admin');
    const url = await this.checkUrl(input.url);
    const eventTypes = checkEventTypes(input.eventTypes);
    const description = checkDescription(input.description);
    const count = await ctx.em.count(WebhookEndpoint, {});
    if (count >= MAX_ENDPOINTS_PER_TENANT) throw new DomainError('BAD_USER_INPUT', `At most ${MAX_ENDPOINTS_PER_TENANT} webhook endpoints per tenant`);
    const secret = newWebhookSecret();
    const endpoint = ctx.em.create(WebhookEndpoint, { tenant: tenantId, url, eventTypes, description, secret: this.secrets.seal(secret) });
    await ctx.em.flush();
    return { endpoint: view(endpoint), secret };
  }

  async update(ctx: RequestContext, id: string, input: UpdateWebhookEndpointCommand): Promise<WebhookEndpointView> {
    ctx.requireTenantPermission('tenant:admin');
    const endpoint = await this.find(ctx, id);
    if (input.url !== undefined && input.url !== null) endpoint.url = await this.checkUrl(input.url);
    if (input.eventTypes !== undefined) endpoint.eventTypes = checkEventTypes(input.eventTypes);
    if (input.description !== undefined) endpoint.description = checkDescription(input.description);
    const enabling = input.enabled === true && !endpoint.enabled;
    if (input.enabled !== undefined && input.enabled !== null) {
      endpoint.enabled = input.enabled;
      // Enabled again by the tenant: its failure history starts over.
      if (input.enabled) Object.assign(endpoint, { disabledReason: null, failingSince: null });
    }
    await ctx.em.flush();
    // Deliveries it kept while disabled go out now rather than at the next sweep (which would find them too).
    if (enabling) {
      await ctx.em.execute(`select graphile_worker.add_job(?, json_build_object('endpointId', ?::text), job_key := ?, job_key_mode := 'replace')`, [
        DELIVER_WEBHOOKS_TASK,
        endpoint.id,
        endpointJobKey(endpoint.id),
      ]);
    }
    return view(endpoint);
  }

  async delete(ctx: RequestContext, id: string): Promise<boolean> {
    ctx.requireTenantPermission('tenant:admin');
    const endpoint = await this.find(ctx, id);
    // Its deliveries go with it (foreign key cascade); a job already waiting finds no endpoint and ends.
    await ctx.em.remove(endpoint).flush();
    return true;
  }

  /** A new secret; the old one keeps signing, beside the new, for ROTATION_OVERLAP_MS. */
  async rotate(ctx: RequestContext, id: string): Promise<WebhookEndpointWithSecretView> {
    ctx.requireTenantPermission('tenant:admin');
    const endpoint = await this.find(ctx, id);
    const secret = newWebhookSecret();
    endpoint.previousSecret = endpoint.secret;
    endpoint.previousSecretExpiresAt = new Date(Date.now() + ROTATION_OVERLAP_MS);
    endpoint.secret = this.secrets.seal(secret);
    await ctx.em.flush();
    return { endpoint: view(endpoint), secret };
  }

  private async find(ctx: RequestContext, id: string): Promise<WebhookEndpoint> {
    const endpoint = isUuid(id) ? await ctx.em.findOne(WebhookEndpoint, { id: canonicalId(id) }) : null;
    if (!endpoint) throw new DomainError('NOT_FOUND', 'Webhook endpoint not found');
    return endpoint;
  }

  private async checkUrl(raw: string): Promise<string> {
    try {
      return (await resolveTarget(raw, this.policy, this.lookup)).url.href;
    } catch (error) {
      if (error instanceof TargetRefused) throw new DomainError('BAD_USER_INPUT', error.message);
      throw error;
    }
  }
}

function checkEventTypes(types: readonly string[] | null | undefined): string[] {
  if (!types?.length) return [];
  const unique = [...new Set(types)];
  const unknown = unique.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t));
  if (unknown.length) throw new DomainError('BAD_USER_INPUT', `Unknown event types: ${unknown.slice(0, 5).join(', ')}; known: ${EVENT_TYPES.join(', ')}`);
  return unique;
}

function checkDescription(description: string | null | undefined): string | null {
  if (description === undefined || description === null || description.trim() === '') return null;
  if (description.length > MAX_DESCRIPTION) throw new DomainError('BAD_USER_INPUT', `description is longer than ${MAX_DESCRIPTION} characters`);
  if (hasDisplayControl(description)) throw new DomainError('BAD_USER_INPUT', 'description contains control characters');
  return description;
}
