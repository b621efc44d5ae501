import { registerEnumType } from 'type-graphql';
import { EmailStatus, InvitationStatus } from '../entities/enums';
import { INVITE_ERROR_CODES } from '../services/bulk-invite';

export const InviteErrorCode = Object.fromEntries(INVITE_ERROR_CODES.map((code) => [code, code])) as {
  [K in (typeof INVITE_ERROR_CODES)[number]]: K;
};

registerEnumType(InviteErrorCode, { name: 'InviteErrorCode', description: 'Why one person of a bulk invite failed.' });
registerEnumType(InvitationStatus, { name: 'InvitationStatus' });
registerEnumType(EmailStatus, { name: 'EmailStatus' });

export { EmailStatus, InvitationStatus };
