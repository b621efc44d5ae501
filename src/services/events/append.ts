/**
 * The event log's write side: the only way events are written. Call these INSIDE the transaction of the change an
 * event describes (an event exists if and only if its change committed), after the change is written.
 *
 * - `appendEvents(db, events: NewEvent[])`: any type, `data` built by the caller (`import.completed`, or
 *   `member.*` from code that has the data at hand). `NewEvent` = { tenantId, type, data, orderingKey?,
 *   occurredAt? }; `data.occurredAt` is added. Deliveries with the same `orderingKey` go out in event order.
 * - `appendInvitationEvents(db, type, { tenantId?, ids } | { tenantId, batchId }, extra?)`: one `invitation.*`
 *   event per invitation, `data` read from the invitation row (contract section 8: invitationId, tenantId, userId,
 *   email, status, emailStatus, batchId, invitedBy, metadata, occurredAt, plus acceptedAt on accepted; `extra` is
 *   merged, e.g. `{ bounceType }`). Never the token or the accept URL. Ordered per invitation.
 * - `appendMemberEvents(db, 'member.updated' | 'member.removed', { tenantId, membershipIds })`: `data` read from the
 *   membership (userId, tenantId, email, status, firstName, lastName, metadata, occurredAt). Ordered per user.
 *
 * `db` is a MikroORM EntityManager inside `transactional` (services) or a pg client inside `begin` (workers).
 * Each call is two statements whatever the number of events (10,000 invitations: two): the tenant's event-order
 * lock (see `lockTenants`), then one statement that inserts the
 * events, fans them out to the tenant's enabled, subscribed webhook endpoints (`webhook_delivery` rows) and wakes one
 * delivery job per endpoint touched (graphile-worker job key `webhook:<endpointId>`, taken in endpoint id order so
 * that concurrent appends cannot deadlock on them).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { pgArrayLiteral } from '../../db/pg-array';
import { DELIVER_WEBHOOKS_TASK, endpointJobKeySql } from './names';

export const EVENT_TYPES = [
  'invitation.created',
  'invitation.sent',
  'invitation.delivered',
  'invitation.bounced',
  'invitation.accepted',
  'invitation.revoked',
  'invitation.expired',
  'member.updated',
  'member.removed',
  'import.completed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];
export type InvitationEventType = Extract<EventType, `invitation.${string}`>;
export type MemberEventType = Extract<EventType, `member.${string}`>;

export interface NewEvent {
  tenantId: string;
  type: EventType;
  data: Record<string, unknown>;
  /** Deliveries with the same key go out in event order (an import id, a user id…); null: no ordering constraint. */
  orderingKey?: string | null;
  occurredAt?: Date;
}

/** A MikroORM EntityManager (`execute`, `?` placeholders) or a pg client (`query`, `$n` placeholders). */
export type EventSql = Pick<EntityManager, 'execute'> | { query(text: string, params: unknown[]): Promise<unknown> };

async function run(db: EventSql, text: string, params: unknown[]): Promise<void> {
  if ('execute' in db) {
    await db.execute(text, params, 'run');
    return;
  }
  let n = 0;
  await db.query(text.replace(/\?/g, () => `$${++n}`), params);
}

/**
 * The statement proper. `source` selects (id, tenant_id, type, occurred_at, data, ordering_key). The deliveries are
 * made from what the insert returns (not by joining `source` again: a join of two CTEs has no statistics, and
 * PostgreSQL would nest-loop 10,000 x 10,000 rows).
 */
function fanOut(source: string): string {
  return `with new_event as (
      insert into event (id, tenant_id, type, occurred_at, data, ordering_key)
      select id, tenant_id, type, occurred_at, data, ordering_key from (${source}) source
      returning id, tenant_id, type, seq, ordering_key
    ),
    delivery as (
      insert into webhook_delivery (id, tenant_id, endpoint_id, event_id, event_seq, ordering_key, status, attempts, next_attempt_at, created_at)
      select gen_random_uuid(), n.tenant_id, w.id, n.id, n.seq, n.ordering_key, 'PENDING', 0, now(), now()
        from new_event n
        join webhook_endpoint w on w.tenant_id = n.tenant_id and w.enabled
                               and (cardinality(w.event_types) = 0 or n.type = any(w.event_types))
      returning endpoint_id
    )
    select graphile_worker.add_job('${DELIVER_WEBHOOKS_TASK}', json_build_object('endpointId', endpoint_id), job_key := ${endpointJobKeySql('endpoint_id')}, job_key_mode := 'replace')
      from (select distinct endpoint_id from delivery order by endpoint_id) touched`;
}

/**
 * Events of one tenant are numbered in commit order: before its events take their sequence numbers, a transaction
 * takes a transaction-scoped advisory lock per tenant, held until it commits. Without it a long transaction (a
 * 10,000-person invite) could commit numbers below a cursor a client already holds, and `events(after:)` would never
 * show them. Appends come last in their transactions, so the lock is held only from the append to the commit;
 * several tenants are locked in one order, so that two multi-tenant appends (the email worker's) cannot deadlock.
 */
const LOCK_TENANT = `pg_advisory_xact_lock(hashtextextended('event-order:' || tenant_id::text, 0))`;

async function lockTenants(db: EventSql, tenantIds: readonly string[]): Promise<void> {
  await run(db, `select ${LOCK_TENANT} from (select distinct t as tenant_id from unnest(?::text[]) as t order by 1) sorted`, [pgArrayLiteral([...new Set(tenantIds)])]);
}

async function lockTenantsOfInvitations(db: EventSql, ids: readonly string[]): Promise<void> {
  await run(db, `select ${LOCK_TENANT} from (select distinct tenant_id from invitation where id = any(?::uuid[]) order by 1) sorted`, [pgArrayLiteral([...ids])]);
}

/** A timestamp as JavaScript's toISOString writes it (UTC, milliseconds, Z): the form of every time in event data. */
const iso = (expression: string) => `to_char(${expression} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
/** The statement's time to the millisecond: `occurred_at` and `data.occurredAt` agree exactly. */
const NOW_MS = `date_trunc('milliseconds', statement_timestamp())`;

/** Appends events whose data the caller built. One statement for any number of events. */
export async function appendEvents(db: EventSql, events: readonly NewEvent[]): Promise<void> {
  if (!events.length) return;
  await lockTenants(db, events.map((e) => e.tenantId));
  const now = new Date().toISOString();
  await run(
    db,
    fanOut(`select gen_random_uuid() as id, v.tenant_id, v.type, v.occurred_at, v.data, v.ordering_key
              from unnest(?::uuid[], ?::text[], ?::timestamptz[], ?::jsonb[], ?::text[]) as v(tenant_id, type, occurred_at, data, ordering_key)`),
    [
      pgArrayLiteral(events.map((e) => e.tenantId)),
      pgArrayLiteral(events.map((e) => e.type)),
      pgArrayLiteral(events.map((e) => (e.occurredAt ?? new Date(now)).toISOString())),
      pgArrayLiteral(events.map((e) => JSON.stringify({ ...e.data, occurredAt: (e.occurredAt ?? new Date(now)).toISOString() }))),
      pgArrayLiteral(events.map((e) => e.orderingKey ?? null)),
    ],
  );
}

export type InvitationSelector = { tenantId?: string; ids: readonly string[] } | { tenantId: string; batchId: string };

/**
 * One `invitation.*` event per selected invitation, its data read from the row as the transaction sees it.
 * `tenantId` may be left out only by system work that spans tenants (the email worker, the expiry sweep).
 * `extra` is merged into every event's data (`bounceType` on bounced).
 */
export async function appendInvitationEvents(
  db: EventSql,
  type: InvitationEventType,
  selector: InvitationSelector,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const params: unknown[] = [type, JSON.stringify(extra)];
  // Rows are reached through their primary keys (or the batch index), never through an index that starts with
  // tenant_id: for a tenant that was small when its tables were last analyzed, the planner believes any tenant
  // range holds one row and would scan the whole range once per selected row. `offset 0` keeps each lateral lookup
  // a lookup by key, whatever the statistics say; the tenant is then checked on the row found.
  let source: string;
  let filter = '';
  if ('batchId' in selector) {
    source = 'join invitation i on i.tenant_id = ? and i.batch_id = ?';
    params.push(selector.tenantId, selector.batchId);
  } else {
    if (!selector.ids.length) return;
    source = 'cross join unnest(?::uuid[]) as selected(id) cross join lateral (select * from invitation where id = selected.id offset 0) i';
    params.push(pgArrayLiteral([...selector.ids]));
    if (selector.tenantId) {
      filter = 'where i.tenant_id = ?';
      params.push(selector.tenantId);
    }
  }
  if ('batchId' in selector || selector.tenantId) await lockTenants(db, [selector.tenantId!]);
  else await lockTenantsOfInvitations(db, selector.ids);
  // The type is the first parameter; `occurred_at` is the statement's time, the same in every event's data.
  await run(
    db,
    fanOut(`select gen_random_uuid() as id, i.tenant_id, t.type, ${NOW_MS} as occurred_at,
                   jsonb_build_object(
                     'invitationId', i.id, 'tenantId', i.tenant_id, 'userId', m.user_id, 'email', i.email,
                     'status', case when i.status = 'PENDING' and i.expires_at <= ${NOW_MS} then 'EXPIRED' else i.status end,
                     'emailStatus', case when i.email_status = 'SENDING' then 'QUEUED' else i.email_status end,
                     'batchId', i.batch_id, 'invitedBy', i.invited_by, 'metadata', i.metadata,
                     'occurredAt', ${iso(NOW_MS)}
                   )
                   || case when t.type = 'invitation.accepted' then jsonb_build_object('acceptedAt', ${iso('i.accepted_at')}) else '{}'::jsonb end
                   || t.extra as data,
                   'invitation:' || i.id as ordering_key
              from (select ?::text as type, ?::jsonb as extra) t
              ${source}
              cross join lateral (select user_id from membership where id = i.membership_id offset 0) m
              ${filter}
             order by i.created_at, i.id`),
    params,
  );
}

/** One `member.*` event per membership, data from the row (after the change); rows reached by key, as above. */
export async function appendMemberEvents(
  db: EventSql,
  type: MemberEventType,
  selector: { tenantId: string; membershipIds: readonly string[] },
): Promise<void> {
  if (!selector.membershipIds.length) return;
  await lockTenants(db, [selector.tenantId]);
  await run(
    db,
    fanOut(`select gen_random_uuid() as id, m.tenant_id, ?::text as type, ${NOW_MS} as occurred_at,
                   jsonb_build_object(
                     'userId', m.user_id, 'tenantId', m.tenant_id, 'email', u.email, 'status', m.status,
                     'firstName', m.first_name, 'lastName', m.last_name, 'metadata', m.metadata,
                     'occurredAt', ${iso(NOW_MS)}
                   ) as data,
                   'member:' || m.user_id as ordering_key
              from unnest(?::uuid[]) as selected(id)
              cross join lateral (select * from membership where id = selected.id offset 0) m
              join users u on u.id = m.user_id
             where m.tenant_id = ?
             order by m.id`),
    [type, pgArrayLiteral([...selector.membershipIds]), selector.tenantId],
  );
}
