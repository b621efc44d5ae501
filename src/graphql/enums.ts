import { registerEnumType } from 'type-graphql';
import { EmailStatus, InvitationStatus } from '../entities/enums';
import { INVITE_ERROR_CODES, type InviteErrorCode as Code } from '../services/bulk-invite';

export const InviteErrorCode = Object.fromEntries(INVITE_ERROR_CODES.map((code) => [code, code])) as {
  [K in (typeof INVITE_ERROR_CODES)[number]]: K;
};

/** Typed by the code list, so a new code does not compile until it is described here. */
const INVITE_ERROR_CODE_DESCRIPTIONS: Record<Code, string> = {
  INVALID_EMAIL: 'email is missing or not a valid address (and no existingUserId was given). Checked first.',
  INVALID_INPUT: 'A field breaks a rule other than the ones below: too long, unprintable characters, too many ids, more than one primary group, email and existingUserId naming different users. `field` names it.',
  INVALID_PHONE: 'phone cannot be read as a telephone number (numbers without "+" are read in the region given by country).',
  INVALID_COUNTRY: 'country is not an ISO 3166-1 alpha-2 code.',
  INVALID_IPI: 'ipi is not an IPI name number of 9 to 11 digits.',
  DOMAIN_NOT_ALLOWED:
    "The tenant limits invitations to tenantSettings.allowedEmailDomains, and the email's domain (for existingUserId, that of the user's registered email) is neither one of them nor a subdomain of one. `domain` names it.",
  DUPLICATE_IN_BATCH: 'The same person (email case-insensitively, or the same existingUserId) appears earlier in this request; `firstIndex` is the entry that was kept.',
  UNKNOWN_USER: 'existingUserId names no user this tenant may invite (missing, or a user who belongs only to other tenants).',
  UNKNOWN_ROLE: 'A role (by id in roleIds, or by name in role) does not exist in this tenant; `unknown` lists them.',
  UNKNOWN_GROUP: 'A groups[].groupId does not exist in this tenant; `unknown` lists them.',
  UNKNOWN_POSITION: 'A positionIds entry does not exist in this tenant; `unknown` lists them.',
  UNKNOWN_MANAGER: 'managerId is not the user id of a current member (invited or active) of this tenant.',
  ALREADY_MEMBER: 'The person is already a member of, or has a pending invitation to, this tenant. Nothing was changed.',
  SEAT_LIMIT_REACHED:
    "Checked last, so only people who would otherwise be invited take a seat: every seat of tenantSettings.maxMembers is taken (INVITED, ACTIVE and SUSPENDED members hold one). Free seats go to people in input order. `maxMembers` is the limit.",
};

registerEnumType(InviteErrorCode, {
  name: 'InviteErrorCode',
  description: 'Why one person of a bulk invite failed. A person with several problems gets the first code in the order listed here.',
  valuesConfig: Object.fromEntries(Object.entries(INVITE_ERROR_CODE_DESCRIPTIONS).map(([code, description]) => [code, { description }])),
});

registerEnumType(InvitationStatus, {
  name: 'InvitationStatus',
  description: 'Where an invitation stands. Filter `invitations` by it.',
  valuesConfig: {
    PENDING: { description: 'Sent or waiting to be sent; the link works until expiresAt.' },
    ACCEPTED: { description: 'The person accepted; their membership in the tenant is active. The link no longer works.' },
    REVOKED: { description: 'Revoked by an inviter; the link no longer works. resendInvitation invites the person again.' },
    EXPIRED: { description: 'Still pending but past expiresAt; the link no longer works. resendInvitation gives it a new lifetime.' },
  },
});

registerEnumType(EmailStatus, {
  name: 'EmailStatus',
  description: 'What happened to the invitation email.',
  valuesConfig: {
    NOT_REQUESTED: { description: 'No email was asked for (sendEmail: false), or none is needed any more (accepted or revoked before it went out).' },
    QUEUED: { description: 'Waiting for, or being handled by, the email worker.' },
    SENT: { description: 'The email provider accepted the message.' },
    FAILED: { description: 'Not sent; emailError says why (the tenant\'s hourly email budget was used up, or the provider refused the recipient).' },
    DELIVERED: { description: "Postmark reported the message delivered to the recipient's mail server." },
    BOUNCED: {
      description: 'Postmark reported a hard bounce, spam complaint, invalid or deactivated address; emailError says which. Resending needs force: true.',
    },
  },
});

export { EmailStatus, InvitationStatus };
