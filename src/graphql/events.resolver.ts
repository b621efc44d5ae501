import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { RequestContext } from '../context';
import type { EventLogService } from '../services/events';
import type { WebhookEndpointService } from '../services/webhooks/webhook-endpoint.service';
import { CreateWebhookEndpointInput, EventConnection, UpdateWebhookEndpointInput, WebhookEndpointType, WebhookEndpointWithSecret } from './events.types';

/** The event log and the webhook endpoints (contract section 8); all tenant:admin. */
@Resolver()
export class EventsResolver {
  constructor(
    private readonly eventLog: EventLogService,
    private readonly endpoints: WebhookEndpointService,
  ) {}

  @Query(() => EventConnection, { description: "Requires tenant:admin. The tenant's events, oldest first; first <= 500." })
  async events(
    @Ctx() ctx: RequestContext,
    @Arg('types', () => [String], { nullable: true, description: 'Only these event types; all when omitted or empty.' }) types: string[] | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50, description: 'Page size, 0 to 500.' }) first: number,
    @Arg('after', () => String, { nullable: true, description: "The previous page's pageInfo.endCursor; omit for the oldest events." }) after: string | null,
  ): Promise<EventConnection> {
    const page = await this.eventLog.list(ctx, { types, first, after });
    return { nodes: page.nodes, pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor } };
  }

  @Query(() => [WebhookEndpointType], { description: "Requires tenant:admin. The tenant's webhook endpoints, oldest first (secrets are never shown)." })
  webhookEndpoints(@Ctx() ctx: RequestContext) {
    return this.endpoints.list(ctx);
  }

  @Mutation(() => WebhookEndpointWithSecret, { description: 'Requires tenant:admin. The secret is returned only here.' })
  createWebhookEndpoint(@Ctx() ctx: RequestContext, @Arg('input', () => CreateWebhookEndpointInput, { description: 'The endpoint.' }) input: CreateWebhookEndpointInput) {
    return this.endpoints.create(ctx, input);
  }

  @Mutation(() => WebhookEndpointType, { description: 'Requires tenant:admin. url, eventTypes, enabled, description.' })
  updateWebhookEndpoint(
    @Ctx() ctx: RequestContext,
    @Arg('id', () => ID, { description: 'The endpoint id; another tenant\'s id is not found.' }) id: string,
    @Arg('input', () => UpdateWebhookEndpointInput, { description: 'The changes.' }) input: UpdateWebhookEndpointInput,
  ) {
    return this.endpoints.update(ctx, id, input);
  }

  @Mutation(() => Boolean, { description: 'Requires tenant:admin. Deletes the endpoint and its pending deliveries.' })
  deleteWebhookEndpoint(@Ctx() ctx: RequestContext, @Arg('id', () => ID, { description: 'The endpoint id.' }) id: string) {
    return this.endpoints.delete(ctx, id);
  }

  @Mutation(() => WebhookEndpointWithSecret, {
    description: 'Requires tenant:admin. A new secret, returned only here; for 24 hours deliveries carry signatures with both the old and the new secret.',
  })
  rotateWebhookSecret(@Ctx() ctx: RequestContext, @Arg('id', () => ID, { description: 'The endpoint id.' }) id: string) {
    return this.endpoints.rotate(ctx, id);
  }
}
