import type { AppConfig } from '../../config';
import { DomainError } from '../errors';
import { normalizeRedirectTarget } from '../redirect-policy';

export interface GroupAssignment {
  groupId: string;
  isPrimaryOrg?: boolean | null;
}

/** One person to invite, as any adapter (GraphQL, REST shims) hands it over. */
export interface InviteUserCommand {
  email?: string | null;
  existingUserId?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  nickName?: string | null;
  userType?: string | null;
  ipi?: string | null;
  role?: string | null;
  roleIds?: readonly string[] | null;
  groups?: readonly GroupAssignment[] | null;
  managerId?: string | null;
  positionIds?: readonly string[] | null;
  phone?: string | null;
  country?: string | null;
  /** The caller's own data about the person: a JSON object of at most 4 KiB, stored on the member. */
  metadata?: unknown;
  /** BCP 47 (e.g. `de-CH`); stored canonical on the invitation. */
  locale?: string | null;
}

export interface BulkInviteCommand {
  tenantId?: string | null;
  users: readonly InviteUserCommand[];
  sendEmail?: boolean | null;
  redirectUrl?: string | null;
  message?: string | null;
  dryRun?: boolean | null;
  idempotencyKey?: string | null;
}

/** A request that passed the request-level checks, with its shared options normalised. */
export interface CheckedBulkInvite {
  users: readonly InviteUserCommand[];
  sendEmail: boolean;
  /** The WHATWG parser's `href` of the allowed target: what is stored and later sent in `Location`. */
  redirectUrl: string | null;
  message: string | null;
  dryRun: boolean;
  /** A dry run with a key reports what the real run would: the stored outcome when there is one. */
  idempotencyKey: string | null;
}

export const MAX_MESSAGE_LENGTH = 2000;
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

// Line breaks and tabs are fine in a note; other control characters (NUL above all) are not text.
const CONTROL_IN_NOTE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Checks shared by the whole request, before anything is read or written: each refuses the request as a whole
 * (contract §3: too many users, a refused redirect target, an over-long message).
 */
export function checkBulkInvite(command: BulkInviteCommand, tokenTenantId: string, config: Pick<AppConfig, 'bulkInviteMaxUsers' | 'redirectUrlAllowlist' | 'isProduction'>): CheckedBulkInvite {
  if (command.tenantId != null && command.tenantId.toLowerCase() !== tokenTenantId.toLowerCase()) {
    throw new DomainError('FORBIDDEN', 'tenantId does not match the token');
  }
  if (!Array.isArray(command.users)) throw new DomainError('BAD_USER_INPUT', 'users must be a list');
  if (command.users.length > config.bulkInviteMaxUsers) {
    throw new DomainError('TOO_MANY_USERS', `At most ${config.bulkInviteMaxUsers} users per request (got ${command.users.length})`);
  }
  const message = command.message ?? null;
  if (message !== null && message.length > MAX_MESSAGE_LENGTH) {
    throw new DomainError('BAD_USER_INPUT', `message must be at most ${MAX_MESSAGE_LENGTH} characters`);
  }
  if (message !== null && CONTROL_IN_NOTE.test(message)) throw new DomainError('BAD_USER_INPUT', 'message contains control characters');

  let redirectUrl: string | null = null;
  if (command.redirectUrl != null && command.redirectUrl !== '') {
    // The URL parser would silently drop or encode these; a target carrying them was not written by a person.
    if (CONTROL.test(command.redirectUrl)) throw new DomainError('BAD_USER_INPUT', 'redirectUrl contains control characters');
    const target = normalizeRedirectTarget(command.redirectUrl, config);
    if (!target.ok) throw new DomainError('BAD_USER_INPUT', `redirectUrl is not an allowed redirect target: ${target.reason}`);
    redirectUrl = target.href;
  }

  const key = command.idempotencyKey ?? null;
  if (key !== null && (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH)) {
    throw new DomainError('BAD_USER_INPUT', `idempotencyKey must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
  }
  if (key !== null && CONTROL.test(key)) throw new DomainError('BAD_USER_INPUT', 'idempotencyKey contains control characters');

  const dryRun = command.dryRun === true;
  return {
    users: command.users,
    sendEmail: command.sendEmail !== false,
    redirectUrl,
    message: message?.trim() || null,
    dryRun,
    idempotencyKey: key,
  };
}
