import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import { canonicalId } from '../ids';
import { ISO_COUNTRIES } from '../iso-countries';
import { hasDisplayControl } from '../unsafe-text';
import type { InviteUserCommand } from './command';
import type { InvalidInputCode } from './failures';

export const LIMITS = {
  email: 254,
  name: 100,
  references: 50,
  id: 64,
  phone: 40,
  /** Bytes of the metadata object serialised as JSON (UTF-8). */
  metadataBytes: 4096,
  locale: 100,
} as const;

/** One person's input, normalised, with every problem found in it (the resolver decides which one counts). */
export interface ParsedInvite {
  index: number;
  /** As given, trimmed; null when absent. */
  email: string | null;
  /** Lower-cased email: the platform-wide identity. Null when absent or invalid. */
  emailNormalized: string | null;
  /** Canonical (lower-case) id; null when absent. */
  existingUserId: string | null;
  firstName: string | null;
  lastName: string | null;
  nickName: string | null;
  userType: string | null;
  ipi: string | null;
  roleName: string | null;
  /** Canonical ids, the same id twice counted once (first occurrence kept). Likewise groups and positions. */
  roleIds: string[];
  groups: Array<{ groupId: string; isPrimaryOrg: boolean }>;
  managerId: string | null;
  positionIds: string[];
  /** E.164 when valid. */
  phone: string | null;
  country: string | null;
  /** A plain JSON object, or null when absent. */
  metadata: Record<string, unknown> | null;
  /** Canonical BCP 47 tag, or null when absent. */
  locale: string | null;
  problems: Partial<Record<InvalidInputCode, { message: string; field: string | null }>>;
}

// The WHATWG (HTML) email grammar, with a dot required in the domain: what browsers accept in type=email.
const EMAIL =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$/;

function text(value: unknown): string | null {
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

function uniqueIds(values: readonly unknown[]): string[] {
  return [...new Set(values.map((v) => canonicalId(String(v))))];
}

const UNSTORABLE_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** PostgreSQL's jsonb refuses NUL and unpaired surrogates in strings: such metadata is the caller's mistake, not a 500. */
function storableJson(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length) {
    const item = pending.pop();
    if (typeof item === 'string') {
      if (UNSTORABLE_TEXT.test(item)) return false;
    } else if (item && typeof item === 'object') {
      for (const [key, child] of Object.entries(item)) {
        if (UNSTORABLE_TEXT.test(key)) return false;
        pending.push(child);
      }
    }
  }
  return true;
}

/** The canonical form of a BCP 47 tag; null when absent, undefined when not a valid tag. */
export function canonicalLocale(value: string | null): string | null | undefined {
  if (value === null) return null;
  if (value.length > LIMITS.locale) return undefined;
  try {
    const [canonical] = Intl.getCanonicalLocales(value);
    return canonical ?? undefined;
  } catch {
    return undefined;
  }
}

/** Everything about one person that can be known without the database. Pure. */
export function parseInvite(index: number, input: InviteUserCommand): ParsedInvite {
  const problems: ParsedInvite['problems'] = {};
  const problem = (code: InvalidInputCode, message: string, field: string | null) => {
    problems[code] ??= { message, field };
  };

  const email = text(input.email);
  const existingUserIdRaw = text(input.existingUserId);
  if (!existingUserIdRaw && !email) problem('INVALID_EMAIL', 'Email is required', 'email');
  if (email && !isValidEmail(email)) problem('INVALID_EMAIL', `Invalid email format: ${email.slice(0, LIMITS.email)}`, 'email');

  const names: Record<string, string | null> = {};
  for (const field of ['firstName', 'lastName', 'nickName', 'userType', 'role'] as const) {
    const value = text(input[field]);
    if (value !== null && (value.length > LIMITS.name || hasDisplayControl(value))) {
      problem('INVALID_INPUT', `${field} must be at most ${LIMITS.name} printable characters`, field);
    }
    names[field] = value;
  }
  if (existingUserIdRaw !== null && existingUserIdRaw.length > LIMITS.id) problem('INVALID_INPUT', 'existingUserId is too long', 'existingUserId');
  const lists = { roleIds: input.roleIds ?? [], positionIds: input.positionIds ?? [], groups: input.groups ?? [] };
  for (const [field, list] of Object.entries(lists)) {
    if (list.length > LIMITS.references) problem('INVALID_INPUT', `${field} takes at most ${LIMITS.references} entries`, field);
  }
  const managerIdRaw = text(input.managerId);
  const allIds = [...lists.roleIds, ...lists.positionIds, ...lists.groups.map((g) => g?.groupId), managerIdRaw ?? ''];
  if (allIds.some((id) => String(id).length > LIMITS.id)) problem('INVALID_INPUT', 'An id is too long', 'id');
  // The same group twice (in any case) counts once; it is primary if any of its mentions says so.
  const groups = new Map<string, { groupId: string; isPrimaryOrg: boolean }>();
  for (const g of lists.groups) {
    const groupId = canonicalId(String(g?.groupId));
    const isPrimaryOrg = g?.isPrimaryOrg === true || groups.get(groupId)?.isPrimaryOrg === true;
    groups.set(groupId, { groupId, isPrimaryOrg });
  }
  if ([...groups.values()].filter((g) => g.isPrimaryOrg).length > 1) {
    problem('INVALID_INPUT', 'At most one group can be the primary organisation', 'groups');
  }

  const country = text(input.country)?.toUpperCase() ?? null;
  let phone: string | null = null;
  const rawPhone = text(input.phone);
  if (rawPhone !== null) {
    const region = country && ISO_COUNTRIES.has(country) ? (country as CountryCode) : undefined;
    const parsed = rawPhone.length <= LIMITS.phone ? parsePhoneNumberFromString(rawPhone, region) : undefined;
    if (parsed?.isPossible()) phone = parsed.number;
    else problem('INVALID_PHONE', `Invalid phone number: ${rawPhone.slice(0, LIMITS.phone)}`, 'phone');
  }
  if (country !== null && !ISO_COUNTRIES.has(country)) {
    problem('INVALID_COUNTRY', `Invalid country code: ${country.slice(0, 10)} (ISO 3166-1 alpha-2 expected)`, 'country');
  }
  const ipi = text(input.ipi);
  if (ipi !== null && !/^\d{9,11}$/.test(ipi)) problem('INVALID_IPI', 'Invalid IPI name number: 9 to 11 digits expected', 'ipi');

  let metadata: Record<string, unknown> | null = null;
  if (input.metadata !== null && input.metadata !== undefined) {
    const value = input.metadata;
    if (typeof value !== 'object' || Array.isArray(value)) problem('INVALID_INPUT', 'metadata must be a JSON object', 'metadata');
    else if (Buffer.byteLength(JSON.stringify(value), 'utf8') > LIMITS.metadataBytes) {
      problem('INVALID_INPUT', `metadata must be at most ${LIMITS.metadataBytes} bytes as JSON`, 'metadata');
    } else if (!storableJson(value)) problem('INVALID_INPUT', 'metadata contains NUL characters or unpaired surrogates', 'metadata');
    else metadata = value as Record<string, unknown>;
  }
  const locale = canonicalLocale(text(input.locale));
  if (locale === undefined) problem('INVALID_INPUT', 'locale must be a BCP 47 language tag (e.g. de-CH)', 'locale');

  return {
    index,
    email,
    emailNormalized: email && !problems.INVALID_EMAIL ? normalizeEmail(email) : null,
    existingUserId: existingUserIdRaw ? canonicalId(existingUserIdRaw) : null,
    firstName: names.firstName,
    lastName: names.lastName,
    nickName: names.nickName,
    userType: names.userType,
    ipi,
    roleName: names.role,
    roleIds: uniqueIds(lists.roleIds),
    groups: [...groups.values()],
    managerId: managerIdRaw ? canonicalId(managerIdRaw) : null,
    positionIds: uniqueIds(lists.positionIds),
    phone,
    country,
    metadata,
    locale: locale ?? null,
    problems,
  };
}
