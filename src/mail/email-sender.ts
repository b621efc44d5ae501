import type { PoolClient } from 'pg';
import { ServerClient } from 'postmark';
import type { PostmarkConfig } from '../config';

export interface OutgoingEmail {
  invitationId: string;
  /** Sent as Metadata with `invitationId`: Postmark's delivery and bounce webhooks carry both back. */
  tenantId: string;
  /** Identifies the worker's claim; sent as metadata so a crashed send can be reconciled. */
  claimId: string;
  to: string;
  from: string;
  subject: string;
  html: string;
  text: string;
  /** The TemplateModel of Postmark's /email/batchWithTemplates (contract section 8), used with POSTMARK_TEMPLATE_ALIAS. */
  templateModel: InvitationTemplateModel;
}

export interface InvitationTemplateModel {
  tenant_name: string;
  first_name: string | null;
  message: string | null;
  accept_url: string;
  /** ISO 8601. */
  expires_at: string;
  locale: string | null;
  /** The inviter's display name (the token's `name` claim), else their `sub`. */
  inviter_name: string | null;
}

export type SendOutcome =
  | { status: 'sent'; messageId: string }
  /** The provider refused this message for good (inactive recipient, invalid request). */
  | { status: 'failed'; error: string }
  /** Worth trying again later (rate limit, provider or network trouble). */
  | { status: 'retry'; error: string };

export interface EmailSender {
  readonly name: string;
  /** One outcome per email, in order. Throws when the whole call failed in a way worth retrying. */
  sendBatch(emails: OutgoingEmail[], db: PoolClient): Promise<SendOutcome[]>;
  /** Messages of an earlier claim that the provider did accept (invitation id -> message id). */
  findAccepted(claimId: string, db: PoolClient): Promise<Map<string, string>>;
}

export const MAX_BATCH = 500;

/** Postmark error codes that will not get better by retrying this message. */
const PERMANENT_ERROR_CODES = new Set([300, 406]);

export function parseApiUrl(apiUrl: string | undefined): { useHttps: boolean; requestHost: string } | undefined {
  if (!apiUrl) return undefined;
  const url = new URL(apiUrl);
  return { useHttps: url.protocol === 'https:', requestHost: url.host + url.pathname.replace(/\/+$/, '') };
}

export class PostmarkSender implements EmailSender {
  readonly name = 'postmark';
  private readonly client: ServerClient;

  constructor(private readonly config: PostmarkConfig & { serverToken: string }) {
    const endpoint = parseApiUrl(config.apiUrl);
    this.client = new ServerClient(config.serverToken, { ...endpoint, timeout: Math.ceil(config.timeoutMs / 1000) });
  }

  async sendBatch(emails: OutgoingEmail[]): Promise<SendOutcome[]> {
    // Postmark's delivery and bounce webhooks carry Metadata back (POST /webhooks/postmark); claim_id finds a crashed send.
    const metadata = (email: OutgoingEmail) => ({ invitationId: email.invitationId, tenantId: email.tenantId, invitation_id: email.invitationId, claim_id: email.claimId });
    const common = (email: OutgoingEmail) => ({ From: email.from, To: email.to, MessageStream: this.config.messageStream, Tag: 'invitation', Metadata: metadata(email) });
    const templateAlias = this.config.templateAlias;
    const responses = templateAlias
      ? await this.client.sendEmailBatchWithTemplates(
          emails.map((email) => ({ ...common(email), TemplateAlias: templateAlias, TemplateModel: email.templateModel })),
        )
      : await this.client.sendEmailBatch(emails.map((email) => ({ ...common(email), Subject: email.subject, HtmlBody: email.html, TextBody: email.text })));
    return emails.map((_email, i): SendOutcome => {
      const response = responses[i];
      if (!response) return { status: 'retry', error: 'No response for this message' };
      if (response.ErrorCode === 0) return { status: 'sent', messageId: response.MessageID };
      const error = `Postmark ${response.ErrorCode}: ${response.Message}`;
      return PERMANENT_ERROR_CODES.has(response.ErrorCode) ? { status: 'failed', error } : { status: 'retry', error };
    });
  }

  async findAccepted(claimId: string): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (let offset = 0; offset < 10_000; offset += MAX_BATCH) {
      const page = await this.client.getOutboundMessages({
        count: MAX_BATCH,
        offset,
        metadata_claim_id: claimId,
      } as Parameters<ServerClient['getOutboundMessages']>[0]);
      for (const message of page.Messages) {
        const invitationId = (message.Metadata as Record<string, string> | undefined)?.invitation_id;
        if (invitationId) found.set(invitationId, message.MessageID);
      }
      if (page.Messages.length < MAX_BATCH) break;
    }
    return found;
  }
}

/** Development: emails are kept in the database and shown at /dev/mailbox. */
export class DevMailboxSender implements EmailSender {
  readonly name = 'dev-mailbox';

  async sendBatch(emails: OutgoingEmail[], db: PoolClient): Promise<SendOutcome[]> {
    const { rows } = await db.query<{ id: string }>(
      `insert into dev_mail (id, "to", "from", subject, html, text, invitation_id, claim_id, created_at)
       select gen_random_uuid(), * , now() from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::uuid[])
       returning id`,
      [
        emails.map((e) => e.to),
        emails.map((e) => e.from),
        emails.map((e) => e.subject),
        emails.map((e) => e.html),
        emails.map((e) => e.text),
        emails.map((e) => e.invitationId),
        emails.map((e) => e.claimId),
      ],
    );
    return rows.map((row) => ({ status: 'sent', messageId: `dev-${row.id}` }));
  }

  async findAccepted(claimId: string, db: PoolClient): Promise<Map<string, string>> {
    const { rows } = await db.query<{ id: string; invitation_id: string }>(
      'select id, invitation_id from dev_mail where claim_id = $1',
      [claimId],
    );
    return new Map(rows.map((row) => [row.invitation_id, `dev-${row.id}`]));
  }
}

export function createEmailSender(config: PostmarkConfig): EmailSender {
  return config.serverToken ? new PostmarkSender({ ...config, serverToken: config.serverToken }) : new DevMailboxSender();
}
