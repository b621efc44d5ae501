/**
 * The per-person failure codes, in the order that decides which one a person with several problems gets
 * (contract §3 and §7, "a user with several problems gets the first of …"). `resolve-invites.ts` runs its checks in
 * exactly this order, and a unit test holds the two lists together.
 */
export const INVITE_ERROR_CODES = [
  'INVALID_EMAIL',
  'INVALID_INPUT',
  'INVALID_PHONE',
  'INVALID_COUNTRY',
  'INVALID_IPI',
  'DOMAIN_NOT_ALLOWED',
  'DUPLICATE_IN_BATCH',
  'UNKNOWN_USER',
  'UNKNOWN_ROLE',
  'UNKNOWN_GROUP',
  'UNKNOWN_POSITION',
  'UNKNOWN_MANAGER',
  'ALREADY_MEMBER',
  'SEAT_LIMIT_REACHED',
] as const;
export type InviteErrorCode = (typeof INVITE_ERROR_CODES)[number];

export type InvalidInputCode = 'INVALID_EMAIL' | 'INVALID_INPUT' | 'INVALID_PHONE' | 'INVALID_COUNTRY' | 'INVALID_IPI';
export type UnknownReferenceCode = 'UNKNOWN_USER' | 'UNKNOWN_ROLE' | 'UNKNOWN_GROUP' | 'UNKNOWN_POSITION' | 'UNKNOWN_MANAGER';

/** Why one person was not invited. Discriminated by `code`; adapters map it with exhaustive switches. */
export type InviteFailure =
  | { code: InvalidInputCode; message: string; field: string | null }
  | { code: 'DUPLICATE_IN_BATCH'; message: string; /** The index of the entry that won. */ firstIndex: number }
  | { code: UnknownReferenceCode; message: string; field: string; /** The ids (or role name) not found in this tenant. */ unknown: string[] }
  | { code: 'ALREADY_MEMBER'; message: string }
  | { code: 'DOMAIN_NOT_ALLOWED'; message: string; /** The email's domain (punycode), as compared. */ domain: string }
  | { code: 'SEAT_LIMIT_REACHED'; message: string; /** The tenant's seat limit at the time of the decision. */ maxMembers: number };
