import type { InviteErrorCode } from '../services/bulk-invite';

/** Short human sentences for REST clients, one per failure code (a Record: a new code without one does not compile). */
export const FAILURE_REASON: Record<InviteErrorCode, string> = {
  INVALID_EMAIL: 'Invalid email format',
  INVALID_INPUT: 'Invalid user data',
  INVALID_PHONE: 'Invalid phone number',
  INVALID_COUNTRY: 'Invalid country code',
  INVALID_IPI: 'Invalid IPI number',
  DOMAIN_NOT_ALLOWED: 'Email domain not allowed',
  DUPLICATE_IN_BATCH: 'Duplicate email in this request',
  ALREADY_MEMBER: 'Email already exists',
  UNKNOWN_USER: 'User not found',
  UNKNOWN_ROLE: 'Role not found',
  UNKNOWN_GROUP: 'Group not found',
  UNKNOWN_POSITION: 'Position not found',
  UNKNOWN_MANAGER: 'Manager not found',
  SEAT_LIMIT_REACHED: 'Seat limit reached',
};
