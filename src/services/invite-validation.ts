import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import { ISO_COUNTRIES } from './iso-countries';

/** Listed in the order that decides which one a user with several problems gets (contract §3). */
export const INVITE_ERROR_CODES = [
  'INVALID_EMAIL',
  'INVALID_INPUT',
  'INVALID_PHONE',
  'INVALID_COUNTRY',
  'INVALID_IPI',
  'DUPLICATE_IN_BATCH',
  'UNKNOWN_USER',
  'UNKNOWN_ROLE',
  'UNKNOWN_GROUP',
  'UNKNOWN_POSITION',
  'UNKNOWN_MANAGER',
  'ALREADY_MEMBER',
] as const;
export type InviteErrorCode = (typeof INVITE_ERROR_CODES)[number];

export interface GroupAssignment {
  groupId: string;
  isPrimaryOrg?: boolean | null;
}

/** One person to invite, as any adapter hands it over. */
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
}

export interface NormalizedInvite {
  index: number;
  email: string | null;
  emailNormalized: string | null;
  existingUserId: string | null;
  firstName: string | null;
  lastName: string | null;
  nickName: string | null;
  userType: string | null;
  ipi: string | null;
  roleName: string | null;
  roleIds: string[];
  groups: Array<{ groupId: string; isPrimaryOrg: boolean }>;
  managerId: string | null;
  positionIds: string[];
  phone: string | null;
  country: string | null;
}

export interface InviteFailure {
  code: InviteErrorCode;
  message: string;
  field?: string;
}

export const LIMITS = {
  email: 254,
  name: 100,
  references: 50,
  id: 64,
} as const;

// The WHATWG (HTML) email grammar, with a dot required in the domain: what browsers accept in type=email.
const EMAIL =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$/;
const CONTROL = /[\u0000-\u001f\u007f]/;

function text(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const trimmed = String(value).trim();
  return trimmed === '' ? null : trimmed;
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function isValidEmail(email: string): boolean {
  return email.length <= LIMITS.email && EMAIL.test(email);
}

type Result = { ok: true; value: NormalizedInvite } | { ok: false; failure: InviteFailure };

function fail(code: InviteErrorCode, message: string, field?: string): Result {
  return { ok: false, failure: { code, message, field } };
}

/** Everything that can be checked without the database, in the contract's priority order. */
export function validateInvite(index: number, input: InviteUserCommand): Result {
  const email = text(input.email);
  const existingUserId = text(input.existingUserId);

  if (!existingUserId) {
    if (!email) return fail('INVALID_EMAIL', 'Email is required', 'email');
    if (!isValidEmail(email)) return fail('INVALID_EMAIL', `Invalid email format: ${email.slice(0, LIMITS.email)}`, 'email');
  } else if (email && !isValidEmail(email)) {
    return fail('INVALID_EMAIL', `Invalid email format: ${email.slice(0, LIMITS.email)}`, 'email');
  }

  const names = { firstName: input.firstName, lastName: input.lastName, nickName: input.nickName, userType: input.userType, role: input.role };
  const cleaned: Record<string, string | null> = {};
  for (const [field, value] of Object.entries(names)) {
    const v = text(value);
    if (v !== null && (v.length > LIMITS.name || CONTROL.test(v))) {
      return fail('INVALID_INPUT', `${field} must be at most ${LIMITS.name} printable characters`, field);
    }
    cleaned[field] = v;
  }
  if (existingUserId !== null && existingUserId.length > LIMITS.id) {
    return fail('INVALID_INPUT', 'existingUserId is too long', 'existingUserId');
  }
  const lists = { roleIds: input.roleIds ?? [], positionIds: input.positionIds ?? [], groups: input.groups ?? [] };
  for (const [field, list] of Object.entries(lists)) {
    if (list.length > LIMITS.references) {
      return fail('INVALID_INPUT', `${field} takes at most ${LIMITS.references} entries`, field);
    }
  }
  const ids = [...lists.roleIds, ...lists.positionIds, ...lists.groups.map((g) => g.groupId), input.managerId ?? ''];
  if (ids.some((id) => String(id).length > LIMITS.id)) return fail('INVALID_INPUT', 'An id is too long', 'id');
  const groups = lists.groups.map((g) => ({ groupId: String(g.groupId), isPrimaryOrg: g.isPrimaryOrg === true }));
  if (groups.filter((g) => g.isPrimaryOrg).length > 1) {
    return fail('INVALID_INPUT', 'At most one group can be the primary organisation', 'groups');
  }

  const country = text(input.country)?.toUpperCase() ?? null;
  let phone: string | null = null;
  const rawPhone = text(input.phone);
  if (rawPhone !== null) {
    const region = country && ISO_COUNTRIES.has(country) ? (country as CountryCode) : undefined;
    const parsed = rawPhone.length <= 40 ? parsePhoneNumberFromString(rawPhone, region) : undefined;
    if (!parsed || !parsed.isPossible()) {
      return fail('INVALID_PHONE', `Invalid phone number: ${rawPhone.slice(0, 40)}`, 'phone');
    }
    phone = parsed.number;
  }
  if (country !== null && !ISO_COUNTRIES.has(country)) {
    return fail('INVALID_COUNTRY', `Invalid country code: ${country.slice(0, 10)} (ISO 3166-1 alpha-2 expected)`, 'country');
  }
  const ipi = text(input.ipi);
  if (ipi !== null && !/^\d{9,11}$/.test(ipi)) {
    return fail('INVALID_IPI', 'Invalid IPI name number: 9 to 11 digits expected', 'ipi');
  }

  return {
    ok: true,
    value: {
      index,
      email,
      emailNormalized: email ? normalizeEmail(email) : null,
      existingUserId,
      firstName: cleaned.firstName,
      lastName: cleaned.lastName,
      nickName: cleaned.nickName,
      userType: cleaned.userType,
      ipi,
      roleName: cleaned.role,
      roleIds: [...new Set(lists.roleIds.map(String))],
      groups: [...new Map(groups.map((g) => [g.groupId, g])).values()],
      managerId: text(input.managerId),
      positionIds: [...new Set(lists.positionIds.map(String))],
      phone,
      country,
    },
  };
}
