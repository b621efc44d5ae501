import { randomUUID } from 'node:crypto';
import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';
import type { Opt } from '@mikro-orm/core';

/** A person on the platform, shared by every tenant they belong to. Names live on the membership (per tenant). */
@Entity({ tableName: 'users' })
// Members searched by a prefix of their email (the unique index's default operator class cannot serve LIKE).
@Index({
  name: 'users_email_normalized_prefix_idx',
  expression: 'create index "users_email_normalized_prefix_idx" on "users" ("email_normalized" text_pattern_ops)',
})
export class User {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  /** As first given (trimmed). */
  @Property({ type: 'text' })
  email!: string;

  /** Lower-cased email: the platform-wide identity, unique. */
  @Property({ type: 'text', unique: 'users_email_normalized_unique' })
  emailNormalized!: string;

  @Property({ type: 'datetime' })
  createdAt: Opt<Date> = new Date();
}
