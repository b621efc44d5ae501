import type { RequestContext } from '../../context';
import { DomainError } from '../errors';
import { BULK_LIMITS, SCHEMA } from './schemas';
import { ScimError, badRequest } from './scim-error';
import type { ScimGroupService } from './scim-groups.service';
import type { CreateOutcome, ScimUserService } from './scim-users.service';

type Method = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface BulkOperation {
  index: number;
  method: Method;
  path: string;
  bulkId: string | null;
  data: unknown;
}

interface OperationResult {
  method: Method;
  bulkId?: string;
  location?: string;
  status: string;
  response?: unknown;
}

const METHODS = new Set<string>(['POST', 'PUT', 'PATCH', 'DELETE']);
const BULK_ID_REFERENCE = /^bulkId:(.+)$/;
/** `/Users/bulkId:<id>` in an operation's path. */
const PATH_REFERENCE = /\/bulkId:([^/]+)$/;
const ROUTE = /^\/(Users|Groups)(?:\/([^/]+))?$/i;

/** The SCIM error body of a failed operation (RFC 7644 section 3.7.3). */
export function scimErrorBody(status: number, detail: string, scimType?: string) {
  return { schemas: [SCHEMA.error], status: String(status), detail, ...(scimType ? { scimType } : {}) };
}

/** Checks a BulkRequest as a whole: over `maxOperations` is 413 naming the limit (the payload size is the adapter's). */
export function checkBulkRequest(body: unknown): { failOnErrors: number | null; operations: BulkOperation[] } {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('invalidSyntax', 'The body must be a BulkRequest object');
  const { schemas, Operations, failOnErrors } = body as Record<string, unknown>;
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === SCHEMA.bulkRequest.toLowerCase())) {
    throw badRequest('invalidSyntax', `schemas must contain ${SCHEMA.bulkRequest}`);
  }
  if (!Array.isArray(Operations)) throw badRequest('invalidSyntax', 'Operations must be an array');
  if (Operations.length > BULK_LIMITS.maxOperations) {
    throw new ScimError(413, `The request has ${Operations.length} operations; maxOperations is ${BULK_LIMITS.maxOperations}`);
  }
  if (failOnErrors !== undefined && failOnErrors !== null && (!Number.isInteger(failOnErrors) || (failOnErrors as number) < 1)) {
    throw badRequest('invalidValue', 'failOnErrors must be a positive integer');
  }
  const seenBulkIds = new Set<string>();
  const operations = Operations.map((raw, index): BulkOperation => {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw badRequest('invalidSyntax', `Operations[${index}] must be an object`);
    const { method, path, bulkId, data } = raw as Record<string, unknown>;
    const verb = typeof method === 'string' ? method.toUpperCase() : '';
    if (!METHODS.has(verb)) throw badRequest('invalidSyntax', `Operations[${index}].method must be POST, PUT, PATCH or DELETE`);
    if (typeof path !== 'string') throw badRequest('invalidSyntax', `Operations[${index}].path must be a string`);
    if (bulkId !== undefined && typeof bulkId !== 'string') throw badRequest('invalidSyntax', `Operations[${index}].bulkId must be a string`);
    if (verb === 'POST' && !bulkId) throw badRequest('invalidSyntax', `Operations[${index}]: a POST needs a bulkId`);
    if (bulkId) {
      if (seenBulkIds.has(bulkId)) throw badRequest('invalidSyntax', `bulkId ${bulkId} is used twice`);
      seenBulkIds.add(bulkId);
    }
    return { index, method: verb as Method, path, bulkId: (bulkId as string | undefined) ?? null, data };
  });
  return { failOnErrors: (failOnErrors as number | undefined) ?? null, operations };
}

/** Every `bulkId:<id>` string inside `value`. */
function references(value: unknown, out = new Set<string>()): Set<string> {
  if (typeof value === 'string') {
    const match = BULK_ID_REFERENCE.exec(value);
    if (match) out.add(match[1]);
  } else if (Array.isArray(value)) value.forEach((v) => references(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => references(v, out));
  return out;
}

function substitute(value: unknown, ids: Map<string, string>): unknown {
  if (typeof value === 'string') {
    const match = BULK_ID_REFERENCE.exec(value);
    return match ? (ids.get(match[1]) ?? value) : value;
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, ids));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, ids)]));
  return value;
}

/**
 * POST /Bulk (RFC 7644 section 3.7). Operations run in passes: each pass takes, in request order, the operations
 * whose `bulkId` references are resolved, and runs consecutive `POST /Users` among them as one set-based create
 * (1,000 creates are one write). An operation whose references never resolve (a cycle, a reference to a failed
 * or missing bulkId) fails with 409. `failOnErrors`: once that many operations failed, the rest are not run; a
 * set-based run of creates is decided as a whole.
 */
export class ScimBulkService {
  constructor(
    private readonly users: ScimUserService,
    private readonly groups: ScimGroupService,
  ) {}

  async run(ctx: RequestContext, body: unknown) {
    ctx.requireTenantPermission('tenant:admin');
    const { failOnErrors, operations } = checkBulkRequest(body);
    const results = new Map<number, OperationResult>();
    const created = new Map<string, string>();
    let errors = 0;
    let pending = operations;
    const stop = () => failOnErrors !== null && errors >= failOnErrors;
    const record = (op: BulkOperation, result: Omit<OperationResult, 'method' | 'bulkId'>) => {
      results.set(op.index, { method: op.method, ...(op.bulkId ? { bulkId: op.bulkId } : {}), ...result });
      if (Number(result.status) >= 400) errors++;
    };
    const fail = (op: BulkOperation, error: ScimError) => record(op, { status: String(error.status), response: scimErrorBody(error.status, error.message, error.scimType) });

    while (pending.length && !stop()) {
      const resolvable = (op: BulkOperation) => {
        const inPath = PATH_REFERENCE.exec(op.path)?.[1];
        return [...references(op.data), ...(inPath ? [inPath] : [])].every((id) => created.has(id));
      };
      const ready = pending.filter(resolvable);
      if (!ready.length) break;
      pending = pending.filter((op) => !ready.includes(op));
      for (let i = 0; i < ready.length && !stop(); ) {
        const op = ready[i];
        if (isUserCreate(op)) {
          let end = i;
          while (end < ready.length && isUserCreate(ready[end])) end++;
          const run = ready.slice(i, end);
          try {
            const outcomes = await this.users.createScimMembers(ctx, run.map((o) => substitute(o.data, created)));
            run.forEach((o, k) => this.recordCreate(o, outcomes[k], created, record, fail));
          } catch (error) {
            const refusal = budgetRefusal(error, results.size);
            run.forEach((o) => fail(o, refusal));
          }
          i = end;
          continue;
        }
        try {
          await this.runOne(ctx, op, created, record, fail);
        } catch (error) {
          fail(op, budgetRefusal(error, results.size));
        }
        i++;
      }
    }
    for (const op of pending) {
      if (stop()) break;
      fail(op, new ScimError(409, 'A bulkId reference could not be resolved (unknown, failed or circular)', 'invalidValue'));
    }
    return { schemas: [SCHEMA.bulkResponse], Operations: operations.filter((op) => results.has(op.index)).map((op) => results.get(op.index)!) };
  }

  private recordCreate(
    op: BulkOperation,
    outcome: CreateOutcome,
    created: Map<string, string>,
    record: (op: BulkOperation, result: Omit<OperationResult, 'method' | 'bulkId'>) => void,
    fail: (op: BulkOperation, error: ScimError) => void,
  ) {
    if (!outcome.ok) return fail(op, outcome.error);
    created.set(op.bulkId!, outcome.user.id);
    record(op, { status: '201', location: (outcome.user.meta as { location: string }).location });
  }

  private async runOne(
    ctx: RequestContext,
    op: BulkOperation,
    created: Map<string, string>,
    record: (op: BulkOperation, result: Omit<OperationResult, 'method' | 'bulkId'>) => void,
    fail: (op: BulkOperation, error: ScimError) => void,
  ): Promise<void> {
    const route = ROUTE.exec(op.path.replace(PATH_REFERENCE, (whole, id: string) => (created.has(id) ? `/${created.get(id)}` : whole)));
    try {
      if (!route) throw badRequest('invalidPath', `Unsupported bulk path ${op.path}`);
      const [, kind, rawId] = route;
      const isUsers = kind.toLowerCase() === 'users';
      const data = substitute(op.data, created);
      const id = rawId ? decodePathSegment(rawId, op.path) : undefined;
      if (op.method === 'POST') {
        if (id) throw badRequest('invalidPath', 'POST goes to /Users or /Groups');
        const group = await this.groups.create(ctx, data);
        created.set(op.bulkId!, group.id);
        return record(op, { status: '201', location: (group.meta as { location: string }).location });
      }
      if (!id) throw badRequest('invalidPath', `${op.method} needs /${kind}/{id}`);
      const service = isUsers ? this.users : this.groups;
      if (op.method === 'DELETE') {
        await (isUsers ? this.users.removeScimMember(ctx, id) : this.groups.delete(ctx, id));
        return record(op, { status: '204' });
      }
      if (op.method === 'PUT') {
        const resource = await service.replace(ctx, id, data);
        return record(op, { status: '200', location: (resource.meta as { location: string }).location });
      }
      if (isUsers) {
        const resource = await this.users.patch(ctx, id, data);
        return record(op, { status: '200', location: (resource.meta as { location: string }).location });
      }
      await this.groups.patch(ctx, id, data);
      return record(op, { status: '204' });
    } catch (error) {
      if (!(error instanceof ScimError)) throw error;
      fail(op, error);
    }
  }
}

/**
 * Over the tenant's budgets before anything was done, the whole request is refused (429 with Retry-After);
 * once operations have been applied, the refused ones report it and the others keep their results.
 */
function budgetRefusal(error: unknown, done: number): ScimError {
  if (done === 0 || !(error instanceof DomainError) || (error.kind !== 'RATE_LIMITED' && error.kind !== 'OVERLOADED')) throw error;
  return new ScimError(429, error.message);
}

/** An id in an operation's path, percent-decoded; malformed escapes are the operation's invalidPath, not the Bulk's 500. */
function decodePathSegment(segment: string, path: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest('invalidPath', `Malformed percent-encoding in bulk path ${path}`);
  }
}

function isUserCreate(op: BulkOperation): boolean {
  return op.method === 'POST' && /^\/Users$/i.test(op.path);
}
