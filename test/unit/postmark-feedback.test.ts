import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePostmarkFeedback } from '../../src/services/email-feedback';

const metadata = { invitationId: '0F8FAD5B-D9CB-469F-A165-70867728950E', tenantId: '7c9e6679-7425-40de-944b-e07fc1f90ae7' };
const base = { MessageID: '883953f4-6105-42a2-a16a-77a8eac79483', Metadata: metadata };

describe('Postmark webhook payload mapping', () => {
  it('maps Delivery to delivered, ids in lower case', () => {
    assert.deepEqual(parsePostmarkFeedback({ RecordType: 'Delivery', ...base }), {
      kind: 'delivered',
      invitationId: metadata.invitationId.toLowerCase(),
      tenantId: metadata.tenantId,
      messageId: base.MessageID,
    });
  });

  it('maps permanent bounces and spam complaints to bounced with the reason', () => {
    for (const type of ['HardBounce', 'SpamComplaint', 'BadEmailAddress', 'ManuallyDeactivated', 'Blocked']) {
      const parsed = parsePostmarkFeedback({ RecordType: 'Bounce', Type: type, Description: 'Unknown user', Details: 'smtp;550', ...base });
      assert.equal(parsed.kind, 'bounced');
      assert.equal(parsed.kind === 'bounced' && parsed.bounceType, type);
      assert.equal(parsed.kind === 'bounced' && parsed.reason, `${type}: Unknown user — smtp;550`);
    }
    const complaint = parsePostmarkFeedback({ RecordType: 'SpamComplaint', ...base });
    assert.equal(complaint.kind === 'bounced' && complaint.bounceType, 'SpamComplaint');
  });

  it('ignores soft bounces and other record types', () => {
    for (const type of ['SoftBounce', 'Transient', 'DnsError', 'AutoResponder']) {
      assert.equal(parsePostmarkFeedback({ RecordType: 'Bounce', Type: type, ...base }).kind, 'ignored');
    }
    for (const recordType of ['Open', 'Click', 'SubscriptionChange']) assert.equal(parsePostmarkFeedback({ RecordType: recordType, ...base }).kind, 'ignored');
  });

  it('calls malformed bodies and missing Metadata invalid', () => {
    for (const body of [null, [], 'x', {}, { RecordType: 'Delivery', Metadata: metadata }, { RecordType: 'Delivery', MessageID: 'm' },
      { RecordType: 'Delivery', MessageID: 'm', Metadata: { invitationId: 'nope', tenantId: metadata.tenantId } }, { RecordType: 'Bounce', ...base }]) {
      assert.equal(parsePostmarkFeedback(body).kind, 'invalid', JSON.stringify(body));
    }
  });

  it('strips control characters from the reason and bounds its length', () => {
    const parsed = parsePostmarkFeedback({ RecordType: 'Bounce', Type: 'HardBounce', Description: `a\r\nb${'x'.repeat(1000)}`, ...base });
    assert.ok(parsed.kind === 'bounced' && !/[\r\n]/.test(parsed.reason) && parsed.reason.length <= 500);
  });
});
