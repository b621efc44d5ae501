import type { RequestContext } from '../../context';
import { EventRecord } from '../../entities';
import { DomainError } from '../errors';
import { MAX_PAGE_SIZE } from '../invitation.service';
import { EVENT_TYPES } from './append';

export interface EventView {
  id: string;
  type: string;
  occurredAt: string;
  data: Record<string, unknown>;
}

export interface EventPage {
  nodes: EventView[];
  hasNextPage: boolean;
  endCursor: string | null;
}

/** A cursor is the event's sequence number, opaque to clients. */
export function encodeEventCursor(seq: string): string {
  return Buffer.from(`e:${seq}`).toString('base64url');
}

export function decodeEventCursor(cursor: string): string {
  const invalid = () => new DomainError('BAD_USER_INPUT', 'Invalid cursor');
  if (typeof cursor !== 'string' || cursor.length > 40 || !/^[A-Za-z0-9_-]*={0,2}$/.test(cursor)) throw invalid();
  const match = /^e:([1-9]\d{0,17})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw invalid();
  return match[1];
}

/** The `events` query: a tenant's events oldest first (tenant:admin). */
export class EventLogService {
  async list(ctx: RequestContext, args: { types?: readonly string[] | null; first?: number | null; after?: string | null }): Promise<EventPage> {
    ctx.requireTenantPermission('tenant:admin');
    const first = args.first ?? 50;
    if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE_SIZE) {
      throw new DomainError('BAD_USER_INPUT', `first must be between 0 and ${MAX_PAGE_SIZE}`);
    }
    const types = args.types?.length ? [...new Set(args.types)] : null;
    const unknown = types?.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t)) ?? [];
    if (unknown.length) throw new DomainError('BAD_USER_INPUT', `Unknown event types: ${unknown.slice(0, 5).join(', ')}; known: ${EVENT_TYPES.join(', ')}`);
    const after = args.after ? decodeEventCursor(args.after) : null;
    // The tenant filter of the request's EntityManager scopes this to the caller's tenant.
    const rows = await ctx.em.find(
      EventRecord,
      { ...(types ? { type: { $in: types } } : {}), ...(after ? { seq: { $gt: after } } : {}) },
      { orderBy: { seq: 'asc' }, limit: first + 1 },
    );
    const nodes = rows.slice(0, first);
    return {
      nodes: nodes.map((e) => ({ id: e.id, type: e.type, occurredAt: e.occurredAt.toISOString(), data: e.data })),
      hasNextPage: rows.length > first,
      endCursor: nodes.length ? encodeEventCursor(String(nodes[nodes.length - 1].seq)) : null,
    };
  }
}
