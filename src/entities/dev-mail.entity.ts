import { randomUUID } from 'node:crypto';
import { Entity, PrimaryKey, Property } from '@mikro-orm/core';
import type { Opt } from '@mikro-orm/core';

/** An email kept by the development mailbox instead of being sent (no POSTMARK_SERVER_TOKEN). */
@Entity({ tableName: 'dev_mail' })
export class DevMail {
  @PrimaryKey({ type: 'uuid' })
  id: string = randomUUID();

  @Property({ type: 'text' })
  to!: string;

  @Property({ type: 'text' })
  from!: string;

  @Property({ type: 'text' })
  subject!: string;

  @Property({ type: 'text' })
  html!: string;

  @Property({ type: 'text' })
  text!: string;

  @Property({ type: 'uuid', nullable: true })
  invitationId?: string | null;

  /** The worker claim that produced it, so an interrupted send can be reconciled. */
  @Property({ type: 'uuid', nullable: true, index: 'dev_mail_claim_idx' })
  claimId?: string | null;

  @Property({ type: 'datetime' })
  createdAt: Opt<Date> = new Date();
}
