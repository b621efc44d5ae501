import { createHash, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppConfig } from '../../config';
import type { RequestContext } from '../../context';
import { pgArrayLiteral } from '../../db/pg-array';
import { InviteImportStatus } from '../../entities';
import { checkBulkInvite } from '../bulk-invite/command';
import { DomainError } from '../errors';
import { isUuid } from '../ids';
import type { InviteImportQueue } from '../ports';
import { readImportFile, type ImportFileRow, type ImportFormat } from './import-file';
import { IMPORT_COLUMNS, importView, type InviteImportRecord, type InviteImportView } from './import-view';
import type { ImportResultRow } from './results-format';

export interface StartImportCommand {
  format: ImportFormat;
  sendEmail?: boolean | null;
  redirectUrl?: string | null;
  message?: string | null;
  idempotencyKey?: string | null;
}

/** Rows stored per statement while the upload streams in. */
const STORE_BATCH = 1000;
/** Result rows read per query while the results stream out. */
const RESULTS_PAGE = 2000;
export const MAX_IMPORTS_PAGE = 100;

/** A string PostgreSQL text and jsonb columns cannot hold: NUL, and (in JSON) escaped unpaired surrogates. */
const UNSTORABLE_JSON = /\\u0000|\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f][0-9a-f]{2})|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}/i;
const storableText = (value: string | null) => (value === null ? null : value.replace(/\u0000/g, '\uFFFD'));

/**
 * Async imports (contract section 9): the upload is stored row by row as it streams in, in one transaction that
 * also creates the job and queues its processing (so a failed or abandoned upload leaves nothing behind); the
 * rows are then decided and written by the runner (`import-runner.ts`), chunk by chunk.
 */
export class InviteImportService {
  /** Uploads being stored by this process now (see `ImportConfig.maxConcurrentUploads`). */
  private uploading = 0;

  constructor(
    private readonly config: AppConfig,
    private readonly queue: InviteImportQueue,
  ) {}

  /**
   * Reads `body` (never more than a batch of rows in memory) and creates the import. With an idempotency key used
   * before by this tenant, the body is only hashed: the same options and file answer the first import again
   * (`replayed`), anything else is IDEMPOTENCY_CONFLICT.
   */
  async startImport(ctx: RequestContext, command: StartImportCommand, body: AsyncIterable<Buffer | string>): Promise<{ view: InviteImportView; replayed: boolean }> {
    const tenantId = ctx.requireTenantPermission('users:invite');
    const invitedBy = ctx.requireViewer().userId;
    const options = checkBulkInvite({ users: [], sendEmail: command.sendEmail, redirectUrl: command.redirectUrl, message: command.message, idempotencyKey: command.idempotencyKey }, tenantId, this.config);
    // Before a byte is read or a connection taken: slow uploads must not hold every connection of the pool.
    if (this.uploading >= this.config.imports.maxConcurrentUploads) {
      throw new DomainError('OVERLOADED', 'The server is storing other uploads; retry in 10 s', { retryAfterSeconds: 10 });
    }
    this.uploading++;
    try {
      return await this.store(ctx, tenantId, invitedBy, command, options, body);
    } finally {
      this.uploading--;
    }
  }

  private async store(
    ctx: RequestContext,
    tenantId: string,
    invitedBy: string,
    command: StartImportCommand,
    options: ReturnType<typeof checkBulkInvite>,
    body: AsyncIterable<Buffer | string>,
  ): Promise<{ view: InviteImportView; replayed: boolean }> {
    const hash = createHash('sha256').update(JSON.stringify([command.format, options.sendEmail, options.redirectUrl, options.message]));
    const hashed = (async function* () {
      for await (const chunk of body) {
        hash.update(chunk);
        yield chunk;
      }
    })();

    const key = options.idempotencyKey;
    if (key) {
      const earlier = await this.findByKey(ctx.em, tenantId, key);
      if (earlier) return this.replay(earlier, hashed, hash);
    }
    const id = randomUUID();
    try {
      await ctx.em.transactional(async (tx) => {
        // First, so that a concurrent upload with the same key waits here (unique index) before reading its body.
        await tx.execute(
          `insert into invite_import (id, tenant_id, status, format, total_rows, send_email, redirect_url, message, invited_by, idempotency_key, created_at)
           values (?, ?, 'QUEUED', ?, 0, ?, ?, ?, ?, ?, now())`,
          [id, tenantId, command.format, options.sendEmail, options.redirectUrl, options.message, invitedBy, key],
        );
        let total = 0;
        let batch: ImportFileRow[] = [];
        for await (const rows of readImportFile(hashed, command.format, { maxRows: this.config.imports.maxRows, maxBytes: this.config.imports.maxBytes })) {
          for (const row of rows) batch.push(row);
          if (batch.length >= STORE_BATCH) {
            await storeRows(tx, tenantId, id, batch);
            total += batch.length;
            batch = [];
          }
        }
        await storeRows(tx, tenantId, id, batch);
        total += batch.length;
        await tx.execute('update invite_import set total_rows = ?, request_hash = ? where id = ?', [total, key ? hash.digest('hex') : null, id]);
        await this.queue.enqueueInTransaction(tx, tenantId);
      });
    } catch (error) {
      // The same key committed by a concurrent upload while this one waited: answered like a retry.
      if (key && (error as { code?: string }).code === '23505') {
        const earlier = await this.findByKey(ctx.em, tenantId, key);
        if (earlier) return this.replay(earlier, hashed, hash);
      }
      throw error;
    }
    const view = await this.getImport(ctx, id);
    ctx.log.info({ importId: id, totalRows: view?.totalRows, format: command.format }, 'import uploaded');
    return { view: view!, replayed: false };
  }

  private async findByKey(em: EntityManager, tenantId: string, key: string): Promise<InviteImportRecord | null> {
    const [row] = await em.execute<InviteImportRecord[]>(`select ${IMPORT_COLUMNS} from invite_import where tenant_id = ? and idempotency_key = ?`, [tenantId, key]);
    return row ?? null;
  }

  private async replay(earlier: InviteImportRecord, body: AsyncIterable<Buffer | string>, hash: ReturnType<typeof createHash>) {
    let bytes = 0;
    for await (const chunk of body) {
      bytes += chunk.length;
      if (bytes > this.config.imports.maxBytes) throw new DomainError('TOO_MANY_USERS', `The file is larger than ${this.config.imports.maxBytes} bytes (IMPORT_MAX_BYTES)`);
    }
    if (earlier.request_hash !== hash.digest('hex')) throw new DomainError('IDEMPOTENCY_CONFLICT', 'This Idempotency-Key was used for another import');
    return { view: importView(earlier), replayed: true };
  }

  /** The import, if it is the caller's tenant's; another tenant's id is the same as an unknown one. */
  async getImport(ctx: RequestContext, id: string): Promise<InviteImportView | null> {
    const tenantId = ctx.requireTenantPermission('users:read', 'users:invite');
    const record = await findImport(ctx.em, tenantId, id);
    return record ? importView(record) : null;
  }

  /** The tenant's imports, newest first; `after` is the last id of the previous page. */
  async listImports(ctx: RequestContext, first = 20, after?: string | null): Promise<{ nodes: InviteImportView[]; hasNextPage: boolean; endCursor: string | null }> {
    const tenantId = ctx.requireTenantPermission('users:read', 'users:invite');
    if (!Number.isInteger(first) || first < 0 || first > MAX_IMPORTS_PAGE) throw new DomainError('BAD_USER_INPUT', `first must be 0 to ${MAX_IMPORTS_PAGE}`);
    let cursor: InviteImportRecord | null = null;
    if (after) {
      cursor = await findImport(ctx.em, tenantId, after);
      if (!cursor) throw new DomainError('BAD_USER_INPUT', 'after is not a cursor of this list');
    }
    const rows = await ctx.em.execute<InviteImportRecord[]>(
      `select ${IMPORT_COLUMNS} from invite_import where tenant_id = ?
       ${cursor ? 'and (created_at, id) < (?, ?)' : ''} order by created_at desc, id desc limit ?`,
      cursor ? [tenantId, cursor.created_at, cursor.id, first + 1] : [tenantId, first + 1],
    );
    const nodes = rows.slice(0, first).map(importView);
    return { nodes, hasNextPage: rows.length > first, endCursor: nodes.at(-1)?.id ?? null };
  }

  /**
   * Stops the import after the chunk in flight: a queued import is cancelled at once; a running one when the
   * runner next looks (the chunk holds the import's row, so this waits for it). Rows processed so far stay.
   */
  async cancelImport(ctx: RequestContext, id: string): Promise<InviteImportView> {
    const tenantId = ctx.requireTenantPermission('users:invite');
    if (!isUuid(id)) throw new DomainError('NOT_FOUND', 'No such import');
    await ctx.em.execute(
      `update invite_import set cancel_requested = true,
         status = case when status = 'QUEUED' then 'CANCELLED' else status end,
         finished_at = case when status = 'QUEUED' then now() else finished_at end
       where tenant_id = ? and id = ? and status in ('QUEUED', 'RUNNING')`,
      [tenantId, id],
    );
    const record = await findImport(ctx.em, tenantId, id);
    if (!record) throw new DomainError('NOT_FOUND', 'No such import');
    return importView(record);
  }

  /**
   * The import's rows with their outcomes, in file order, read page by page as the caller consumes them.
   * NOT_FOUND (before anything is yielded) for an id that is not this tenant's.
   */
  async openResults(ctx: RequestContext, id: string): Promise<AsyncGenerator<ImportResultRow[]>> {
    const tenantId = ctx.requireTenantPermission('users:read', 'users:invite');
    const record = await findImport(ctx.em, tenantId, id);
    if (!record) throw new DomainError('NOT_FOUND', 'No such import');
    const ended = record.status === InviteImportStatus.CANCELLED || record.status === InviteImportStatus.FAILED;
    const em = ctx.em;
    return (async function* () {
      let after = 0;
      for (;;) {
        const rows = await em.execute<Array<{ row: number; line: number; email: string | null; outcome: string | null; code: string | null; message: string | null; user_id: string | null; invitation_id: string | null }>>(
          // By the primary key alone: the import was found in the caller's tenant above, and its rows carry its
          // tenant by a composite foreign key. A tenant_id condition here lets the planner, whose statistics may
          // predate this tenant's rows, sort everything after the cursor on every page.
          `select row, line, email, outcome, code, message, user_id, invitation_id from invite_import_row
            where import_id = ? and row > ? order by row limit ?`,
          [record.id, after, RESULTS_PAGE],
        );
        if (!rows.length) return;
        after = rows[rows.length - 1].row;
        yield rows.map((r) => ({
          row: r.row,
          line: r.line,
          email: r.email,
          outcome: r.outcome ?? (ended ? 'not_processed' : 'pending'),
          code: r.code,
          message: r.outcome ? r.message : null,
          userId: r.user_id,
          invitationId: r.invitation_id,
        }));
      }
    })();
  }
}

async function findImport(em: EntityManager, tenantId: string, id: string): Promise<InviteImportRecord | null> {
  if (!isUuid(id)) return null;
  const [row] = await em.execute<InviteImportRecord[]>(`select ${IMPORT_COLUMNS} from invite_import where tenant_id = ? and id = ?`, [tenantId, id.toLowerCase()]);
  return row ?? null;
}

/** One multi-row insert (unnest) for a batch of the file's rows. A broken row keeps its error as its message. */
async function storeRows(tx: EntityManager, tenantId: string, importId: string, rows: readonly ImportFileRow[]): Promise<void> {
  if (!rows.length) return;
  const inputs: Array<string | null> = [];
  const messages: Array<string | null> = [];
  for (const row of rows) {
    let input = row.input === null ? null : JSON.stringify(row.input);
    let message = row.error;
    if (input !== null && UNSTORABLE_JSON.test(input)) {
      input = null;
      message = `Line ${row.line} contains NUL characters or unpaired surrogates`;
    }
    inputs.push(input);
    messages.push(storableText(message));
  }
  await tx.execute(
    `insert into invite_import_row (import_id, tenant_id, row, line, input, email, message)
     select ?, ?, v.row, v.line, v.input::jsonb, v.email, v.message
       from unnest(?::int[], ?::int[], ?::text[], ?::text[], ?::text[]) as v(row, line, input, email, message)`,
    [
      importId,
      tenantId,
      pgArrayLiteral(rows.map((r) => String(r.row))),
      pgArrayLiteral(rows.map((r) => String(r.line))),
      pgArrayLiteral(inputs),
      pgArrayLiteral(rows.map((r) => storableText(r.email?.slice(0, 320) ?? null))),
      pgArrayLiteral(messages),
    ],
    'run',
  );
}
