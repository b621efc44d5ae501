import type { BulkInviteOutcome, InviteResult } from '../services/bulk-invite';
import { mapInSlices } from '../services/bulk-invite/slices';
import { UnreachableCaseError } from '../services/errors';
import {
  AlreadyMemberError,
  type BulkInviteResult,
  BulkInviteUsersPayload,
  DomainNotAllowedError,
  DuplicateInBatchError,
  InvalidInputError,
  SeatLimitReachedError,
  UnknownReferenceError,
  UserInvited,
} from './bulk-invite.payload';

/** Union members must be class instances for type-graphql to resolve their type. */
export function toBulkInviteResult(result: InviteResult): typeof BulkInviteResult {
  if (result.kind === 'invited') return Object.assign(new UserInvited(), result);
  const { failure } = result;
  const base = { index: result.index, email: result.email, code: failure.code, message: failure.message };
  switch (failure.code) {
    case 'INVALID_EMAIL':
    case 'INVALID_INPUT':
    case 'INVALID_PHONE':
    case 'INVALID_COUNTRY':
    case 'INVALID_IPI':
      return Object.assign(new InvalidInputError(), base, { field: failure.field });
    case 'DOMAIN_NOT_ALLOWED':
      return Object.assign(new DomainNotAllowedError(), base, { domain: failure.domain });
    case 'DUPLICATE_IN_BATCH':
      return Object.assign(new DuplicateInBatchError(), base, { firstIndex: failure.firstIndex });
    case 'UNKNOWN_USER':
    case 'UNKNOWN_ROLE':
    case 'UNKNOWN_GROUP':
    case 'UNKNOWN_POSITION':
    case 'UNKNOWN_MANAGER':
      return Object.assign(new UnknownReferenceError(), base, { field: failure.field, unknown: failure.unknown });
    case 'ALREADY_MEMBER':
      return Object.assign(new AlreadyMemberError(), base);
    case 'SEAT_LIMIT_REACHED':
      return Object.assign(new SeatLimitReachedError(), base, { maxMembers: failure.maxMembers });
    default:
      throw new UnreachableCaseError(failure);
  }
}

/** In slices: 10,000 results are mapped without holding the event loop (src/services/bulk-invite/slices.ts). */
export async function toBulkInvitePayload(outcome: BulkInviteOutcome): Promise<BulkInviteUsersPayload> {
  return Object.assign(new BulkInviteUsersPayload(), { ...outcome, results: await mapInSlices(outcome.results, toBulkInviteResult) });
}
