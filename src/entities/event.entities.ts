import { randomUUID } from 'node:crypto';
import { Entity, Enum, Index, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import type { Opt } from '@mikro-orm/core';
import { TenantScoped } from './tenant-scoped';

/**
 * One change, as integrators see it (contract section 8). Written only through src/services/events (set-based,
 * in the transaction of the change). `seq` is a database sequence: it orders a tenant's events for the
 * `events` query's cursor and the per-endpoint delivery order, which timestamps of concurrent transactions cannot.
 */
@Entity({ tableName: 'event' })
@Unique({ name: 'event_tenant_id_id_unique', properties: ['tenant', 'id'] })
@Index({ name: 'event_tenant_seq_idx', properties: ['tenant', 'seq'] })
@Index({ name: 'event_tenant_type_seq_idx', properties: ['tenant', 'type', 'seq'] })
export class EventRecord extends TenantScoped {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'bigint', columnType: 'bigserial', autoincrement: true })
  seq!: Opt<string>;

  @Property({ type: 'text' })
  type!: string;

  @Property({ type: 'datetime' })
  occurredAt!: Date;

  @Property({ type: 'jsonb' })
  data!: Record<string, unknown>;

  /** Deliveries of events with the same key (an invitation, a member) go out in event order; null: no constraint. */
  @Property({ type: 'text', nullable: true })
  orderingKey?: string | null;
}

/** A tenant's receiver of events. The secret signs deliveries (src/services/webhooks/secrets.ts stores it). */
@Entity({ tableName: 'webhook_endpoint' })
@Unique({ name: 'webhook_endpoint_tenant_id_id_unique', properties: ['tenant', 'id'] })
@Index({ name: 'webhook_endpoint_tenant_created_idx', properties: ['tenant', 'createdAt', 'id'] })
export class WebhookEndpoint extends TenantScoped {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'text' })
  url!: string;

  /** Empty: every event type. */
  @Property({ type: 'text[]' })
  eventTypes!: string[];

  @Property({ type: 'text', nullable: true })
  description?: string | null;

  @Property({ type: 'boolean' })
  enabled: Opt<boolean> = true;

  /** Why the service disabled the endpoint (410, five days of failures); null when enabled or disabled by the tenant. */
  @Property({ type: 'text', nullable: true })
  disabledReason?: string | null;

  /** The signing secret, sealed (src/services/webhooks/secrets.ts). */
  @Property({ type: 'text' })
  secret!: string;

  /** The secret before the last rotation, still signing until `previousSecretExpiresAt`. */
  @Property({ type: 'text', nullable: true })
  previousSecret?: string | null;

  @Property({ type: 'datetime', nullable: true })
  previousSecretExpiresAt?: Date | null;

  /** The first failed attempt since the last success; null while the endpoint answers. */
  @Property({ type: 'datetime', nullable: true })
  failingSince?: Date | null;

  @Property({ type: 'datetime' })
  createdAt: Opt<Date> = new Date();
}

export enum WebhookDeliveryStatus {
  PENDING = 'PENDING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
}

/** One event for one endpoint: filled set-based when the event is appended, drained in `event_seq` order. */
@Entity({ tableName: 'webhook_delivery' })
@Unique({ name: 'webhook_delivery_endpoint_event_unique', properties: ['endpoint', 'event'] })
@Index({
  name: 'webhook_delivery_pending_idx',
  expression: `create index "webhook_delivery_pending_idx" on "webhook_delivery" ("endpoint_id", "event_seq") where "status" = 'PENDING'`,
})
@Index({
  name: 'webhook_delivery_pending_key_idx',
  expression: `create index "webhook_delivery_pending_key_idx" on "webhook_delivery" ("endpoint_id", "ordering_key", "event_seq") where "status" = 'PENDING'`,
})
export class WebhookDelivery extends TenantScoped {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @ManyToOne(() => WebhookEndpoint, { deleteRule: 'cascade' })
  endpoint!: WebhookEndpoint;

  @ManyToOne(() => EventRecord, { deleteRule: 'cascade' })
  event!: EventRecord;

  @Property({ type: 'bigint' })
  eventSeq!: string;

  /** Deliveries with the same key (an invitation, a member) go out in event order. */
  @Property({ type: 'text', nullable: true })
  orderingKey?: string | null;

  @Enum({ items: () => WebhookDeliveryStatus, type: 'text' })
  status: Opt<WebhookDeliveryStatus> = WebhookDeliveryStatus.PENDING;

  @Property({ type: 'integer' })
  attempts: Opt<number> = 0;

  @Property({ type: 'datetime' })
  nextAttemptAt!: Date;

  @Property({ type: 'integer', nullable: true })
  lastResponseStatus?: number | null;

  @Property({ type: 'text', nullable: true })
  lastError?: string | null;

  @Property({ type: 'datetime', nullable: true })
  deliveredAt?: Date | null;

  @Property({ type: 'datetime' })
  createdAt: Opt<Date> = new Date();
}
