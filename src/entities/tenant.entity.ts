import { randomUUID } from 'node:crypto';
import { Entity, PrimaryKey, Property } from '@mikro-orm/core';
import type { Opt } from '@mikro-orm/core';

@Entity({ tableName: 'tenant' })
export class Tenant {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'text' })
  name!: string;

  /** Seats: INVITED + ACTIVE + SUSPENDED members at most; null is unlimited. */
  @Property({ type: 'integer', nullable: true })
  maxMembers?: number | null;

  /** Lower-case ASCII (punycode) domains; empty allows every domain. A listed domain allows its subdomains. */
  @Property({ type: 'text[]', default: '{}' })
  allowedEmailDomains: Opt<string[]> = [];

  @Property({ type: 'datetime' })
  createdAt: Opt<Date> = new Date();
}
