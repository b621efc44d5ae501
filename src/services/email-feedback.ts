import type { EntityManager } from '@mikro-orm/postgresql';
import { StoredEmailStatus } from '../entities';
import { appendInvitationEvents } from './events';
import { isUuid } from './ids';

/**
 * What Postmark told us about one message (its Delivery, Bounce and SpamComplaint webhooks), matched to an
 * invitation through the Metadata the email worker sends with every email (`invitationId`, `tenantId`).
 */
export type EmailFeedback =
  | { kind: 'delivered'; invitationId: string; tenantId: string; messageId: string }
  | { kind: 'bounced'; invitationId: string; tenantId: string; messageId: string; bounceType: string; reason: string }
  /** A record type or bounce type that changes nothing (opens, clicks, soft and transient bounces). */
  | { kind: 'ignored'; why: string }
  | { kind: 'invalid'; why: string };

/** Bounce types after which the address will not receive mail: the invitation becomes BOUNCED. */
export const PERMANENT_BOUNCE_TYPES: ReadonlySet<string> = new Set(['HardBounce', 'SpamComplaint', 'BadEmailAddress', 'ManuallyDeactivated', 'Blocked']);

const MAX_REASON = 500;

/** Pure: a Postmark webhook body to what it means for an invitation. */
export function parsePostmarkFeedback(body: unknown): EmailFeedback {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { kind: 'invalid', why: 'The body must be a JSON object' };
  const record = body as Record<string, unknown>;
  const recordType = record.RecordType;
  if (typeof recordType !== 'string') return { kind: 'invalid', why: 'RecordType is missing' };
  if (recordType !== 'Delivery' && recordType !== 'Bounce' && recordType !== 'SpamComplaint') return { kind: 'ignored', why: `RecordType ${recordType} changes nothing` };
  const bounceType = recordType === 'SpamComplaint' ? 'SpamComplaint' : typeof record.Type === 'string' ? record.Type : null;
  if (recordType === 'Bounce' && !bounceType) return { kind: 'invalid', why: 'Type is missing on a Bounce' };
  if (recordType === 'Bounce' && !PERMANENT_BOUNCE_TYPES.has(bounceType!)) return { kind: 'ignored', why: `Bounce type ${bounceType} is not permanent` };
  const messageId = record.MessageID;
  if (typeof messageId !== 'string' || !messageId) return { kind: 'invalid', why: 'MessageID is missing' };
  const metadata = record.Metadata;
  const invitationId = (metadata as Record<string, unknown> | undefined)?.invitationId;
  const tenantId = (metadata as Record<string, unknown> | undefined)?.tenantId;
  if (!isUuid(invitationId) || !isUuid(tenantId)) return { kind: 'invalid', why: 'Metadata.invitationId and Metadata.tenantId are required' };
  const ids = { invitationId: invitationId.toLowerCase(), tenantId: tenantId.toLowerCase(), messageId };
  if (recordType === 'Delivery') return { kind: 'delivered', ...ids };
  const description = [record.Description, record.Details].filter((v): v is string => typeof v === 'string' && v.trim() !== '').join(' — ');
  const reason = `${bounceType}${description ? `: ${description}` : ''}`.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, MAX_REASON);
  return { kind: 'bounced', ...ids, bounceType: bounceType!, reason };
}

/**
 * applied: the status changed and the event was written. unchanged: a repeat (or a delivery after a bounce).
 * stale: the message is an earlier one of a resent invitation. unknown: no such invitation in that tenant.
 */
export type FeedbackOutcome = 'applied' | 'unchanged' | 'stale' | 'unknown';

/**
 * Records Postmark's feedback on the invitation, idempotently: Delivery takes SENT to DELIVERED; a permanent
 * bounce or complaint takes SENT or DELIVERED to BOUNCED with the reason in emailError. Each change writes its
 * `invitation.delivered` / `invitation.bounced` event in the same transaction. No JWT: Postmark authenticates with
 * Basic credentials, and the tenant comes from the message's Metadata (checked against the stored message id).
 */
export async function applyEmailFeedback(
  em: EntityManager,
  feedback: Extract<EmailFeedback, { kind: 'delivered' | 'bounced' }>,
): Promise<FeedbackOutcome> {
  return em.transactional(async (tx) => {
    const [row] = await tx.execute<Array<{ email_status: StoredEmailStatus; provider_message_id: string | null }>>(
      'select email_status, provider_message_id from invitation where tenant_id = ? and id = ? for update',
      [feedback.tenantId, feedback.invitationId],
    );
    if (!row) return 'unknown';
    if (row.provider_message_id !== feedback.messageId) return 'stale';
    const ids = { tenantId: feedback.tenantId, ids: [feedback.invitationId] };
    if (feedback.kind === 'delivered') {
      if (row.email_status !== StoredEmailStatus.SENT) return 'unchanged';
      await tx.execute(`update invitation set email_status = 'DELIVERED' where tenant_id = ? and id = ?`, [feedback.tenantId, feedback.invitationId], 'run');
      await appendInvitationEvents(tx, 'invitation.delivered', ids);
      return 'applied';
    }
    if (row.email_status !== StoredEmailStatus.SENT && row.email_status !== StoredEmailStatus.DELIVERED) return 'unchanged';
    await tx.execute(`update invitation set email_status = 'BOUNCED', email_error = ? where tenant_id = ? and id = ?`, [feedback.reason, feedback.tenantId, feedback.invitationId], 'run');
    await appendInvitationEvents(tx, 'invitation.bounced', ids, { bounceType: feedback.bounceType });
    return 'applied';
  });
}
