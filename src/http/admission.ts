import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AdmissionConfig } from '../config';
import { DomainError } from '../services/errors';
import { canonicalId } from '../services/ids';
import type { BulkInviteGuard, GuardRelease } from '../services/ports';
import { metrics } from './observability';

/**
 * A rough rate at which one process gets through people of a heavy request; only used to suggest a Retry-After.
 * Errs on the short side: a client retrying early is refused again, cheaply, before its body is read.
 */
const PEOPLE_PER_SECOND_HINT = 5_000;
const MAX_RETRY_AFTER_SECONDS = 30;

/** A request's weight before its body is parsed: the body limit allows 1 KiB per person. */
export const BYTES_PER_PERSON = 1024;

interface Ticket {
  tenantId: string;
  weight: number;
  /** Held for a whole HTTP request (released when the response is sent), or for one service call. */
  scope: 'request' | 'call';
}

/**
 * Admission control for heavy bulk work, in this process's memory: a budget of people in flight per tenant and
 * in total. A request weighs the larger of its people and its body's KiB; requests under the heavy threshold are
 * light and always admitted (the request-rate limit still counts them), so a small invite is never queued behind
 * someone's large ones. Over the tenant's budget: RATE_LIMITED (429); over the process's: OVERLOADED (503); both
 * with a Retry-After, and nothing read or written.
 *
 * A request is admitted twice: by its Content-Length before its body is read (so twenty 8 MB bodies are not
 * buffered and parsed only to be refused), and by its exact number of people once parsed (the service calls
 * `check`). Both stages grow one ticket, keyed by the request's EntityManager fork, released when the response
 * has been sent.
 */
export class BulkAdmission implements BulkInviteGuard {
  private readonly tickets = new WeakMap<object, Ticket>();
  private readonly byTenant = new Map<string, number>();
  private total = 0;

  constructor(private readonly config: AdmissionConfig) {}

  /** People (or body KiB) currently admitted, for tests and metrics. */
  inFlight(tenantId?: string): number {
    return tenantId === undefined ? this.total : (this.byTenant.get(canonicalId(tenantId)) ?? 0);
  }

  /** Marks `owner` as an HTTP request: whatever it is admitted for stays held until `close(owner)`. */
  open(owner: object): void {
    if (!this.tickets.has(owner)) this.tickets.set(owner, { tenantId: '', weight: 0, scope: 'request' });
  }

  close(owner: object): void {
    const ticket = this.tickets.get(owner);
    if (!ticket) return;
    this.tickets.delete(owner);
    this.give(ticket);
  }

  /** The service's stage: admits `people` for `owner` (growing its ticket), or throws. */
  async check(tenantId: string, request: { owner: object; people: number }): Promise<GuardRelease | void> {
    const ticket = this.admit(request.owner, tenantId, request.people);
    if (ticket?.scope === 'call') return () => this.close(request.owner);
  }

  /** Admits `owner` for at least `weight`; throws RATE_LIMITED / OVERLOADED when that does not fit. */
  admit(owner: object, rawTenantId: string, weight: number): Ticket | undefined {
    const tenantId = canonicalId(rawTenantId);
    const ticket = this.tickets.get(owner);
    if (ticket && ticket.weight >= weight) return ticket;
    // Light: not counted (a ticket that already holds something grows whatever the increment).
    if (weight < this.config.heavyThreshold && !ticket?.weight) return ticket;
    if (ticket && ticket.weight > 0 && ticket.tenantId !== tenantId) throw new Error('one request, two tenants');
    const mine = ticket?.weight ?? 0;
    const more = weight - mine;
    const tenantInFlight = this.byTenant.get(tenantId) ?? 0;
    const { perTenant, perProcess } = this.config;
    // A request alone may always run (the max-users limit bounds it); beside others, the budgets apply.
    if (perTenant > 0 && tenantInFlight > mine && tenantInFlight + more > perTenant) {
      metrics.rateLimitRefusals.inc({ limit: 'tenant_people_in_flight' });
      const retryAfterSeconds = retryAfter(tenantInFlight);
      throw new DomainError('RATE_LIMITED', `This tenant already has ${tenantInFlight} people in flight in bulk requests (at most ${perTenant}); retry in ${retryAfterSeconds} s`, { retryAfterSeconds });
    }
    if (perProcess > 0 && this.total > mine && this.total + more > perProcess) {
      metrics.rateLimitRefusals.inc({ limit: 'process_people_in_flight' });
      const retryAfterSeconds = retryAfter(this.total);
      throw new DomainError('OVERLOADED', `The server is busy with other bulk requests; retry in ${retryAfterSeconds} s`, { retryAfterSeconds });
    }
    const held = ticket ?? { tenantId, weight: 0, scope: 'call' as const };
    held.tenantId = tenantId;
    held.weight = weight;
    this.tickets.set(owner, held);
    this.byTenant.set(tenantId, tenantInFlight + more);
    this.total += more;
    return held;
  }

  private give(ticket: Ticket) {
    if (ticket.weight === 0) return;
    const left = (this.byTenant.get(ticket.tenantId) ?? 0) - ticket.weight;
    if (left > 0) this.byTenant.set(ticket.tenantId, left);
    else this.byTenant.delete(ticket.tenantId);
    this.total -= ticket.weight;
  }
}

function retryAfter(peopleAhead: number): number {
  return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, Math.ceil(peopleAhead / PEOPLE_PER_SECOND_HINT)));
}

/** Runs the rate limiter and admission in order; releases what was admitted when the call ends. */
export function guards(...all: BulkInviteGuard[]): BulkInviteGuard {
  return {
    async check(tenantId, request) {
      const releases: GuardRelease[] = [];
      try {
        for (const guard of all) {
          const release = await guard.check(tenantId, request);
          if (release) releases.push(release);
        }
      } catch (error) {
        for (const release of releases) release();
        throw error;
      }
      return releases.length ? () => releases.forEach((release) => release()) : undefined;
    },
  };
}

/**
 * The HTTP stage, before the body is read: a bulk route's request is admitted by its Content-Length (as
 * `BYTES_PER_PERSON`), under the token's tenant, and holds what it is admitted for until its response has been
 * sent (so serialising a large answer counts too). Requests without a tenant-bound token are left to the
 * authentication checks. A refusal is answered by `refuse` in the route's own format.
 */
export function useBulkAdmission(
  app: FastifyInstance,
  admission: BulkAdmission,
  routes: Record<string, (reply: FastifyReply, error: DomainError) => FastifyReply>,
): void {
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const url = request.routeOptions.url;
    if (request.method !== 'POST' || url === undefined || !(url in routes)) return;
    // The request's EntityManager fork identifies it: resolvers get a shallow copy of the context, with the same fork.
    admission.open(request.ctx.em);
    const tenantId = request.ctx.viewer?.tenantId;
    const length = Number(request.headers['content-length']);
    if (!tenantId || !Number.isFinite(length) || length <= 0) return;
    try {
      admission.admit(request.ctx.em, tenantId, Math.ceil(length / BYTES_PER_PERSON));
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      // Answered before the body is read; Node discards the rest of the upload without buffering it.
      return routes[url](reply, error);
    }
  });
  const release = async (request: FastifyRequest) => {
    if (request.ctx) admission.close(request.ctx.em);
  };
  app.addHook('onResponse', release);
  app.addHook('onRequestAbort', release);
}
