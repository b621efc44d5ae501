import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { PageInfo } from './invitation.types';

@ObjectType('Event', { description: 'One change in the tenant, as webhooks deliver it. The list is the audit log: `events`.' })
export class EventType {
  @Field(() => ID, { description: 'The event id; webhook deliveries carry it as `webhook-id`, the same on every retry.' }) id!: string;
  @Field(() => String, { description: 'invitation.created, invitation.sent, invitation.delivered, invitation.bounced, invitation.accepted, invitation.revoked, invitation.expired, member.updated, member.removed or import.completed.' })
  type!: string;
  @Field(() => DateTimeResolver, { description: 'When the change committed.' }) occurredAt!: string;
  @Field(() => JSONResolver, { description: 'What changed; for invitation.* events the invitation (never its token or accept link). See docs/api.md.' })
  data!: Record<string, unknown>;
}

@ObjectType({ description: "One page of the tenant's events, oldest first." })
export class EventConnection {
  @Field(() => [EventType], { description: 'The events of this page.' }) nodes!: EventType[];
  @Field(() => PageInfo, { description: 'Pass endCursor as `after` for the next page; new events appear after the last one.' }) pageInfo!: PageInfo;
}

@ObjectType('WebhookEndpoint', { description: 'Where the tenant receives its events, signed following Standard Webhooks.' })
export class WebhookEndpointType {
  @Field(() => ID, { description: 'The endpoint id.' }) id!: string;
  @Field(() => String, { description: 'The URL events are POSTed to.' }) url!: string;
  @Field(() => [String], { description: 'The event types sent; empty means all.' }) eventTypes!: string[];
  @Field(() => Boolean, { description: 'Whether events are delivered. The service disables an endpoint that answers 410 or fails every attempt for 5 days.' })
  enabled!: boolean;
  @Field(() => String, { nullable: true, description: 'Your note about the endpoint.' }) description!: string | null;
  @Field(() => String, { nullable: true, description: 'Why the service disabled the endpoint; null otherwise.' }) disabledReason!: string | null;
  @Field(() => DateTimeResolver, { description: 'When the endpoint was created.' }) createdAt!: string;
}

@ObjectType({ description: 'An endpoint with its signing secret, returned only when the secret is made (create, rotate).' })
export class WebhookEndpointWithSecret {
  @Field(() => WebhookEndpointType, { description: 'The endpoint.' }) endpoint!: WebhookEndpointType;
  @Field(() => String, { description: '"whsec_" + base64: the key to verify `webhook-signature` with. Shown only here; store it.' }) secret!: string;
}

@InputType({ description: 'A new webhook endpoint.' })
export class CreateWebhookEndpointInput {
  @Field(() => String, { description: 'https: URL (http: allowed outside production) resolving to a public address.' }) url!: string;
  @Field(() => [String], { nullable: true, description: 'Event types to send; null or empty: all.' }) eventTypes?: string[] | null;
  @Field(() => String, { nullable: true, description: 'Your note about the endpoint, at most 500 characters.' }) description?: string | null;
}

@InputType({ description: 'Changes to a webhook endpoint; fields left out are kept.' })
export class UpdateWebhookEndpointInput {
  @Field(() => String, { nullable: true, description: 'A new URL, checked like at creation.' }) url?: string | null;
  @Field(() => [String], { nullable: true, description: 'Event types to send; empty: all.' }) eventTypes?: string[] | null;
  @Field(() => Boolean, { nullable: true, description: 'Disable, or enable again (which also clears the failure history).' }) enabled?: boolean | null;
  @Field(() => String, { nullable: true, description: 'Your note; empty clears it.' }) description?: string | null;
}
