import { MembershipStatus } from '../../entities';
import { badRequest } from './scim-error';
import { managerId, memberIds, storedText, toBoolean } from './patch';
import { PAGE, SCHEMA, stripCoreUrn } from './schemas';

/** A member as the SCIM views read it (one row of membership joined with users). */
export interface ScimUserRow {
  membershipId: string;
  userId: string;
  email: string;
  givenName: string | null;
  familyName: string | null;
  displayName: string | null;
  nickName: string | null;
  userType: string | null;
  externalId: string | null;
  /** The manager's user id (the enterprise extension's `manager.value`). */
  managerUserId: string | null;
  status: MembershipStatus;
  createdAt: Date;
  /** Loaded only when the response shows `groups`. */
  groups?: Array<{ id: string; name: string }>;
}

export interface ScimGroupRow {
  id: string;
  name: string;
  createdAt: Date;
  /** Loaded only when the response shows `members`. */
  members?: Array<{ userId: string; email: string }>;
}

export type ScimResourceJson = Record<string, unknown> & { id: string };

/** INVITED and ACTIVE members are active; SUSPENDED ones are not (REMOVED ones are not SCIM users at all). */
export function isActive(status: MembershipStatus): boolean {
  return status !== MembershipStatus.SUSPENDED && status !== MembershipStatus.REMOVED;
}

function formattedName(row: Pick<ScimUserRow, 'givenName' | 'familyName'>): string | null {
  const text = [row.givenName, row.familyName].filter(Boolean).join(' ');
  return text || null;
}

/** Contract section 10's mapping of a member onto a SCIM User. */
export function toScimUser(row: ScimUserRow, baseUrl: string): ScimResourceJson {
  const formatted = formattedName(row);
  const user: ScimResourceJson = {
    schemas: [SCHEMA.user],
    id: row.userId,
    userName: row.email,
    name: { givenName: row.givenName ?? undefined, familyName: row.familyName ?? undefined, formatted: formatted ?? undefined },
    displayName: row.displayName ?? formatted ?? row.email,
    emails: [{ value: row.email, type: 'work', primary: true }],
    active: isActive(row.status),
    meta: { resourceType: 'User', created: row.createdAt.toISOString(), location: `${baseUrl}/Users/${row.userId}` },
  };
  if (row.externalId !== null) user.externalId = row.externalId;
  if (row.nickName !== null) user.nickName = row.nickName;
  if (row.userType !== null) user.userType = row.userType;
  if (row.managerUserId !== null) {
    (user.schemas as string[]).push(SCHEMA.enterpriseUser);
    user[SCHEMA.enterpriseUser] = { manager: { value: row.managerUserId, $ref: `${baseUrl}/Users/${row.managerUserId}` } };
  }
  if (row.groups) user.groups = row.groups.map((g) => ({ value: g.id, display: g.name, $ref: `${baseUrl}/Groups/${g.id}`, type: 'direct' }));
  return user;
}

export function toScimGroup(row: ScimGroupRow, baseUrl: string): ScimResourceJson {
  const group: ScimResourceJson = {
    schemas: [SCHEMA.group],
    id: row.id,
    displayName: row.name,
    meta: { resourceType: 'Group', created: row.createdAt.toISOString(), location: `${baseUrl}/Groups/${row.id}` },
  };
  if (row.members) group.members = row.members.map((m) => ({ value: m.userId, display: m.email, $ref: `${baseUrl}/Users/${m.userId}`, type: 'User' }));
  return group;
}

/**
 * `attributes` / `excludedAttributes` (RFC 7644 section 3.4.2.5): lower-cased `attr` or `attr.sub`, the core schema
 * URN stripped; an extension's attribute (`urn:...:enterprise:2.0:User:manager`) is `<extension urn>.manager`, the
 * extension being one complex attribute of the resource.
 */
export interface Projection {
  attributes: string[] | null;
  excluded: string[];
}

const ENTERPRISE_PREFIX = `${SCHEMA.enterpriseUser.toLowerCase()}:`;

function attributeList(value: unknown, core: string): string[] {
  if (value === undefined || value === null || value === '') return [];
  if (typeof value !== 'string') throw badRequest('invalidValue', 'attributes and excludedAttributes are comma-separated attribute names');
  return value
    .split(',')
    .map((a) => stripCoreUrn(a.trim(), core).toLowerCase())
    .map((a) => (a.startsWith(ENTERPRISE_PREFIX) ? `${SCHEMA.enterpriseUser.toLowerCase()}.${a.slice(ENTERPRISE_PREFIX.length)}` : a))
    .filter(Boolean);
}

export function parseProjection(query: { attributes?: unknown; excludedAttributes?: unknown }, core: string): Projection {
  const attributes = attributeList(query.attributes, core);
  return { attributes: attributes.length ? attributes : null, excluded: attributeList(query.excludedAttributes, core) };
}

/** Whether the response would show `attribute` (top-level, lower-case): decides what is loaded at all. */
export function shows(projection: Projection, attribute: string): boolean {
  const named = (list: string[]) => list.some((a) => a === attribute || a.startsWith(`${attribute}.`));
  if (projection.attributes) return named(projection.attributes);
  return !projection.excluded.includes(attribute);
}

/** `id` and `schemas` are always returned; the rest as asked. */
const ALWAYS = new Set(['id', 'schemas']);

export function project(resource: ScimResourceJson, projection: Projection): ScimResourceJson {
  const out: ScimResourceJson = { id: resource.id };
  for (const [key, value] of Object.entries(resource)) {
    const lower = key.toLowerCase();
    if (ALWAYS.has(lower)) {
      out[key] = value;
      continue;
    }
    if (projection.attributes) {
      if (projection.attributes.includes(lower)) out[key] = value;
      else {
        const subs = projection.attributes.filter((a) => a.startsWith(`${lower}.`)).map((a) => a.slice(lower.length + 1));
        if (subs.length && value && typeof value === 'object') out[key] = pickSubs(value, subs);
      }
      continue;
    }
    if (projection.excluded.includes(lower)) continue;
    const excludedSubs = projection.excluded.filter((a) => a.startsWith(`${lower}.`)).map((a) => a.slice(lower.length + 1));
    out[key] = excludedSubs.length && value && typeof value === 'object' ? dropSubs(value, excludedSubs) : value;
  }
  return out;
}

function pickSubs(value: object, subs: string[]): unknown {
  const pick = (v: Record<string, unknown>) => Object.fromEntries(Object.entries(v).filter(([k]) => subs.includes(k.toLowerCase())));
  return Array.isArray(value) ? value.map(pick) : pick(value as Record<string, unknown>);
}

function dropSubs(value: object, subs: string[]): unknown {
  const drop = (v: Record<string, unknown>) => Object.fromEntries(Object.entries(v).filter(([k]) => !subs.includes(k.toLowerCase())));
  return Array.isArray(value) ? value.map(drop) : drop(value as Record<string, unknown>);
}

export interface Paging {
  startIndex: number;
  count: number;
}

function integerParam(value: unknown, name: string): number | null {
  if (value === undefined || value === null || value === '') return null;
  const text = String(value).trim();
  if (!/^[+-]?\d+$/.test(text)) throw badRequest('invalidValue', `${name} must be an integer`);
  return Number(text);
}

/**
 * RFC 7644 section 3.4.2.4: startIndex below 1 is 1; count below 0 is 0; count above the bound is the bound. An
 * integer of any length is one: a startIndex beyond what a number holds exactly is held to the largest that is
 * (an offset PostgreSQL takes, past any tenant's members).
 */
export function parsePaging(query: { startIndex?: unknown; count?: unknown }): Paging {
  const startIndex = integerParam(query.startIndex, 'startIndex') ?? 1;
  const count = integerParam(query.count, 'count') ?? PAGE.defaultCount;
  return { startIndex: Math.min(Number.MAX_SAFE_INTEGER, Math.max(1, startIndex)), count: Math.min(PAGE.maxCount, Math.max(0, count)) };
}

export function listResponse(resources: ScimResourceJson[], totalResults: number, paging: Paging) {
  return { schemas: [SCHEMA.listResponse], totalResults, startIndex: paging.startIndex, itemsPerPage: resources.length, Resources: resources };
}

/** The User attributes a POST or PUT body gives, checked; names not listed here are ignored (RFC 7644 3.3). */
export interface ScimUserInput {
  userName: string;
  givenName: string | null;
  familyName: string | null;
  displayName: string | null;
  nickName: string | null;
  userType: string | null;
  externalId: string | null;
  /** The enterprise extension's manager (a user id of this tenant), or null. */
  managerId: string | null;
  /** Absent: true on create, unchanged on replace. */
  active: boolean | null;
}

/** Entra ID lists its own schema beside the core one on creates; nothing of it is read. */
const ENTRA_USER_SCHEMA = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/User';
const ENTRA_GROUP_SCHEMA = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group';
const KNOWN_USER_SCHEMAS = new Set([SCHEMA.user, SCHEMA.enterpriseUser, ENTRA_USER_SCHEMA].map((s) => s.toLowerCase()));
const KNOWN_GROUP_SCHEMAS = new Set([SCHEMA.group, ENTRA_GROUP_SCHEMA].map((s) => s.toLowerCase()));

function optionalText(value: unknown, name: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw badRequest('invalidValue', `${name} must be a string`);
  return value.trim() || null;
}

/** A POST or PUT body of a User, checked for shape (the email and name rules are the invite's, applied later). */
export function parseUserInput(body: unknown): ScimUserInput {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('invalidSyntax', 'The body must be a User object');
  const b = body as Record<string, unknown>;
  checkSchemas(b.schemas, SCHEMA.user, KNOWN_USER_SCHEMAS);
  const userName = optionalText(b.userName, 'userName');
  if (!userName) throw badRequest('invalidValue', 'userName is required');
  const name = b.name;
  if (name !== undefined && name !== null && (typeof name !== 'object' || Array.isArray(name))) throw badRequest('invalidValue', 'name must be an object');
  const n = (name ?? {}) as Record<string, unknown>;
  return {
    userName,
    givenName: optionalText(n.givenName, 'name.givenName'),
    familyName: optionalText(n.familyName, 'name.familyName'),
    displayName: storedText(optionalText(b.displayName, 'displayName'), 'displayName'),
    nickName: optionalText(b.nickName, 'nickName'),
    userType: optionalText(b.userType, 'userType'),
    externalId: storedText(optionalText(b.externalId, 'externalId'), 'externalId'),
    managerId: enterpriseManager(b),
    active: b.active === undefined || b.active === null ? null : toBoolean(b.active, 'active'),
  };
}

function enterpriseManager(body: Record<string, unknown>): string | null {
  const key = Object.keys(body).find((k) => k.toLowerCase() === SCHEMA.enterpriseUser.toLowerCase());
  const extension = key ? body[key] : undefined;
  if (extension === undefined || extension === null) return null;
  if (typeof extension !== 'object' || Array.isArray(extension)) throw badRequest('invalidValue', `${SCHEMA.enterpriseUser} must be an object`);
  return managerId((extension as Record<string, unknown>).manager);
}

export interface ScimGroupInput {
  displayName: string;
  /** Canonical user ids; null when the body has no `members`. */
  members: string[] | null;
}

export function parseGroupInput(body: unknown): ScimGroupInput {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('invalidSyntax', 'The body must be a Group object');
  const b = body as Record<string, unknown>;
  checkSchemas(b.schemas, SCHEMA.group, KNOWN_GROUP_SCHEMAS);
  const displayName = optionalText(b.displayName, 'displayName');
  if (!displayName) throw badRequest('invalidValue', 'displayName is required');
  return { displayName, members: b.members === undefined || b.members === null ? null : memberIds(b.members, 'members') };
}

function checkSchemas(schemas: unknown, core: string, known: Set<string>): void {
  if (!Array.isArray(schemas) || !schemas.every((s) => typeof s === 'string')) throw badRequest('invalidSyntax', `schemas must be an array containing ${core}`);
  const lower = schemas.map((s: string) => s.toLowerCase());
  if (!lower.includes(core.toLowerCase())) throw badRequest('invalidSyntax', `schemas must contain ${core}`);
  const unknown = schemas.filter((s: string) => !known.has(s.toLowerCase()));
  if (unknown.length) throw badRequest('invalidSyntax', `Unknown schemas: ${unknown.join(', ')}`);
}
