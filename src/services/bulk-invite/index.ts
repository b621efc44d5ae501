export { BulkInviteService } from './bulk-invite.service';
export type { BulkInviteCommand, InviteUserCommand, GroupAssignment } from './command';
export { MAX_MESSAGE_LENGTH } from './command';
export { INVITE_ERROR_CODES, type InviteErrorCode, type InviteFailure } from './failures';
export type { BulkInviteOutcome, InviteResult } from './outcome';
