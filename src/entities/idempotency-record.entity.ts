import { randomUUID } from 'node:crypto';
import { Entity, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import type { Opt } from '@mikro-orm/core';
import { TenantScoped } from './tenant-scoped';

/** A bulk invite outcome kept for 24 h so that a retried request replays it instead of redoing it. */
@Entity({ tableName: 'idempotency_record' })
@Unique({ name: 'idempotency_record_tenant_key_unique', properties: ['tenant', 'key'] })
export class IdempotencyRecord extends TenantScoped {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'text' })
  key!: string;

  /** SHA-256 of the canonical request, to refuse a reused key with another body. */
  @Property({ type: 'text' })
  requestHash!: string;

  /**
   * The outcome's JSON, gzip-compressed (src/services/bulk-invite/idempotency.ts). Outcomes repeat themselves
   * (codes, messages, ids that also appear in the message), so this is a small fraction of the JSON.
   */
  @Property({ type: 'blob', nullable: true })
  outcomeGzip?: Buffer | null;

  /** Records written before outcomes were compressed; replayed as they are until purged after 24 h. */
  @Property({ type: 'json', nullable: true })
  outcome?: unknown;

  @Property({ type: 'datetime' })
  createdAt: Opt<Date> = new Date();
}
