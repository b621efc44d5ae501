import { randomUUID } from 'node:crypto';
import { Entity, Enum, Index, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import type { Opt } from '@mikro-orm/core';
import { TenantScoped } from './tenant-scoped';

export enum InviteImportStatus {
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  COMPLETED = 'COMPLETED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}

/**
 * One uploaded file of people to invite (contract section 9). Created, with all of its rows, in the transaction
 * that reads the upload: a job exists only once its whole file is stored. Its counters are updated in the same
 * transaction as each chunk's invitations, so they always describe exactly the rows that have an outcome.
 */
@Entity({ tableName: 'invite_import' })
@Unique({ name: 'invite_import_tenant_id_unique', properties: ['tenant', 'id'] })
@Index({ name: 'invite_import_tenant_created_idx', properties: ['tenant', 'createdAt', 'id'] })
@Index({
  name: 'invite_import_tenant_idempotency_key_unique',
  expression: 'create unique index "invite_import_tenant_idempotency_key_unique" on "invite_import" ("tenant_id", "idempotency_key") where "idempotency_key" is not null',
})
export class InviteImport extends TenantScoped {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Enum({ items: () => InviteImportStatus, type: 'text' })
  status: Opt<InviteImportStatus> = InviteImportStatus.QUEUED;

  /** `csv` or `ndjson`. */
  @Property({ type: 'text' })
  format!: string;

  @Property({ type: 'integer' })
  totalRows!: number;

  @Property({ type: 'integer' })
  processedRows: Opt<number> = 0;

  @Property({ type: 'integer' })
  successful: Opt<number> = 0;

  @Property({ type: 'integer' })
  failed: Opt<number> = 0;

  @Property({ type: 'boolean' })
  sendEmail!: boolean;

  @Property({ type: 'text', nullable: true })
  redirectUrl?: string | null;

  @Property({ type: 'text', nullable: true })
  message?: string | null;

  /** `sub` of the uploading token: the inviter of every invitation of the import. */
  @Property({ type: 'text' })
  invitedBy!: string;

  @Property({ type: 'text', nullable: true })
  idempotencyKey?: string | null;

  /** SHA-256 of the options and the file, to refuse a reused key with another upload. */
  @Property({ type: 'text', nullable: true })
  requestHash?: string | null;

  /** Set by cancelInviteImport; the runner stops before its next chunk. */
  @Property({ type: 'boolean' })
  cancelRequested: Opt<boolean> = false;

  /** Why the import FAILED. */
  @Property({ type: 'text', nullable: true })
  error?: string | null;

  @Property({ type: 'datetime' })
  createdAt: Opt<Date> = new Date();

  @Property({ type: 'datetime', nullable: true })
  startedAt?: Date | null;

  @Property({ type: 'datetime', nullable: true })
  finishedAt?: Date | null;
}

/**
 * One data row of an uploaded file: its input (an InviteUserCommand as JSON) until processed, then its outcome.
 * A row the file itself got wrong (a CSV record with the wrong number of fields, a broken JSON line) is stored
 * with its outcome already set.
 */
@Entity({ tableName: 'invite_import_row' })
@Index({ name: 'invite_import_row_pending_idx', expression: 'create index "invite_import_row_pending_idx" on "invite_import_row" ("import_id", "row") where "outcome" is null' })
export class InviteImportRow extends TenantScoped {
  @ManyToOne(() => InviteImport, { primary: true, deleteRule: 'cascade' })
  import!: InviteImport;

  /** 1-based data row. */
  @PrimaryKey({ type: 'integer' })
  row!: number;

  /** The physical line of the file where the row starts. */
  @Property({ type: 'integer' })
  line!: number;

  @Property({ type: 'json', nullable: true })
  input?: unknown;

  /** `invited` or `failed`; null until processed. */
  @Property({ type: 'text', nullable: true })
  outcome?: string | null;

  @Property({ type: 'text', nullable: true })
  email?: string | null;

  @Property({ type: 'text', nullable: true })
  code?: string | null;

  @Property({ type: 'text', nullable: true })
  message?: string | null;

  @Property({ type: 'uuid', nullable: true })
  userId?: string | null;

  @Property({ type: 'uuid', nullable: true })
  invitationId?: string | null;
}

/**
 * The people claimed by earlier rows of an import (`email:…`, `user:…` keys of the duplicate check), with the
 * 0-based index of the row that claimed each: a later row naming the same person in another chunk, or after a
 * restart, is DUPLICATE_IN_BATCH naming that row, exactly as in one request.
 */
@Entity({ tableName: 'invite_import_claim' })
export class InviteImportClaim extends TenantScoped {
  @ManyToOne(() => InviteImport, { primary: true, deleteRule: 'cascade' })
  import!: InviteImport;

  @PrimaryKey({ type: 'text' })
  key!: string;

  @Property({ type: 'integer' })
  firstIndex!: number;
}
