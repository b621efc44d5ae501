import { parse, type Filter } from 'scim2-parse-filter';
import { canonicalId } from '../ids';
import { hasDisplayControl } from '../unsafe-text';
import { badRequest } from './scim-error';
import { SCHEMA } from './schemas';

/**
 * PATCH (RFC 7644 section 3.5.2) in the shapes Okta and Microsoft Entra ID really send, normalised into one
 * change set per resource before anything is read or written. Pure: unit-tested in test/unit/scim-patch.test.ts.
 *
 * Accepted beyond the RFC's letter: operation names in any case (`Replace`); `"True"`/`"False"` strings for
 * booleans; a pathless `add`/`replace` whose value holds attributes, nested objects or dotted paths
 * (`"name.givenName"`), including Okta's `{"op":"replace","value":{"active":false}}` and a group rename that
 * repeats the group's own `id`; member removal by `members[value eq "<id>"]` and by `path: "members"` with a
 * `value` array (only those are removed).
 */

export type PatchOpName = 'add' | 'remove' | 'replace';

export interface AttributePath {
  /** Lower-cased; the core schema URN stripped, the enterprise extension's kept as `enterprise:<name>`. */
  attribute: string;
  /** The value filter of `attribute[...]`. */
  filter?: Filter;
  /** Lower-cased sub-attribute (`name.givenName`, `emails[...].value`). */
  sub?: string;
  /** As sent, for messages. */
  raw: string;
}

export interface NormalizedOp {
  op: PatchOpName;
  path: AttributePath;
  value: unknown;
}

/** A User's changes: a field left undefined is kept; null clears it. */
export interface UserChanges {
  userName?: string;
  email?: string;
  givenName?: string | null;
  familyName?: string | null;
  displayName?: string | null;
  nickName?: string | null;
  userType?: string | null;
  externalId?: string | null;
  /** The enterprise extension's manager: a user id of this tenant (canonical); null removes it. */
  managerId?: string | null;
  active?: boolean;
}

/** A Group's changes: `members` replaces the whole list; otherwise `add`/`remove` name user ids (canonical). */
export interface GroupChanges {
  displayName?: string;
  members?: string[];
  addMembers: string[];
  removeMembers: string[];
}

const MAX_OPERATIONS = 1000;
const READ_ONLY = new Set(['id', 'meta', 'groups', 'schemas']);

/** The operations of a PatchOp body, checked and with each pathless add/replace spread into one op per attribute. */
export function normalizePatchOps(body: unknown, resourceSchema: string): NormalizedOp[] {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('invalidSyntax', 'The body must be a PatchOp object');
  const { schemas, Operations } = body as { schemas?: unknown; Operations?: unknown };
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === SCHEMA.patchOp.toLowerCase())) {
    throw badRequest('invalidSyntax', `schemas must contain ${SCHEMA.patchOp}`);
  }
  if (!Array.isArray(Operations) || Operations.length === 0) throw badRequest('invalidSyntax', 'Operations must be a non-empty array');
  if (Operations.length > MAX_OPERATIONS) throw badRequest('tooMany', `At most ${MAX_OPERATIONS} operations per PATCH`);
  const ops: NormalizedOp[] = [];
  for (const raw of Operations) {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw badRequest('invalidSyntax', 'Each operation must be an object');
    const { op: opName, path, value } = raw as { op?: unknown; path?: unknown; value?: unknown };
    const op = typeof opName === 'string' ? opName.trim().toLowerCase() : '';
    if (op !== 'add' && op !== 'remove' && op !== 'replace') throw badRequest('invalidSyntax', `Unknown operation ${JSON.stringify(opName)}; use add, remove or replace`);
    if (path === undefined || path === null || path === '') {
      if (op === 'remove') throw badRequest('noTarget', 'remove needs a path');
      if (!value || typeof value !== 'object' || Array.isArray(value)) throw badRequest('invalidValue', `A ${op} without a path needs an object value`);
      spreadPathless(op, value as Record<string, unknown>, resourceSchema, '', ops);
      continue;
    }
    if (typeof path !== 'string') throw badRequest('invalidPath', 'path must be a string');
    ops.push({ op, path: parseAttributePath(path, resourceSchema), value });
  }
  return ops;
}

/** `{"name": {"givenName": "A"}, "name.familyName": "B", "urn:...:User:active": false}` -> one op per leaf attribute. */
function spreadPathless(op: PatchOpName, value: Record<string, unknown>, resourceSchema: string, prefix: string, out: NormalizedOp[]): void {
  for (const [key, inner] of Object.entries(value)) {
    if (!prefix && key.toLowerCase() === 'schemas') continue;
    const path = prefix ? `${prefix}.${key}` : key;
    const lower = key.toLowerCase();
    // An extension's attributes may come as one object under its URN.
    if (!prefix && lower === SCHEMA.enterpriseUser.toLowerCase() && inner && typeof inner === 'object' && !Array.isArray(inner)) {
      for (const [sub, subValue] of Object.entries(inner as Record<string, unknown>)) {
        out.push({ op, path: parseAttributePath(`${key}:${sub}`, resourceSchema), value: subValue });
      }
      continue;
    }
    // A complex attribute given whole (`name: {...}`) is spread into its sub-attributes; `members`/`emails` stay whole.
    if (!prefix && lower === 'name' && inner && typeof inner === 'object' && !Array.isArray(inner)) {
      spreadPathless(op, inner as Record<string, unknown>, resourceSchema, key, out);
      continue;
    }
    out.push({ op, path: parseAttributePath(path, resourceSchema), value: inner });
  }
}

const PATH = /^([A-Za-z][\w$-]*)(?:\[(.+)\])?(?:\.([A-Za-z][\w$-]*))?$/s;

/** `attr`, `attr.sub`, `attr[filter]`, `attr[filter].sub`, optionally behind a schema URN. */
export function parseAttributePath(raw: string, resourceSchema: string): AttributePath {
  let rest = raw.trim();
  let extension = '';
  const lower = rest.toLowerCase();
  if (lower.startsWith('urn:')) {
    const core = `${resourceSchema.toLowerCase()}:`;
    const enterprise = `${SCHEMA.enterpriseUser.toLowerCase()}:`;
    if (lower.startsWith(core)) rest = rest.slice(core.length);
    else if (resourceSchema === SCHEMA.user && lower.startsWith(enterprise)) {
      rest = rest.slice(enterprise.length);
      extension = 'enterprise:';
    } else throw badRequest('invalidPath', `Unknown schema in path ${raw}`);
  }
  const match = PATH.exec(rest);
  if (!match) throw badRequest('invalidPath', `Invalid path ${raw}`);
  const [, attribute, filterText, sub] = match;
  let filter: Filter | undefined;
  if (filterText !== undefined) {
    try {
      filter = parse(filterText);
    } catch {
      throw badRequest('invalidPath', `Invalid value filter in path ${raw}`);
    }
  }
  return { attribute: extension + attribute.toLowerCase(), filter, sub: sub?.toLowerCase(), raw };
}

/** `true`, `"True"`, `"false"`...; anything else is invalidValue. */
export function toBoolean(value: unknown, path: string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
  throw badRequest('invalidValue', `${path} must be a boolean`);
}

function toText(value: unknown, path: string): string | null {
  if (value === null) return null;
  if (typeof value === 'string') return value.trim() === '' ? null : value.trim();
  throw badRequest('invalidValue', `${path} must be a string`);
}

/**
 * `displayName` and `externalId` are stored as sent, so they get the checks the invite gives names: printable
 * (PostgreSQL refuses NUL; bidi controls forge text) and bounded (a long externalId does not fit its unique index).
 */
export const MAX_STORED_TEXT_LENGTH = 256;

export function storedText(text: string | null, path: string): string | null {
  if (text !== null && (text.length > MAX_STORED_TEXT_LENGTH || hasDisplayControl(text))) {
    throw badRequest('invalidValue', `${path} must be at most ${MAX_STORED_TEXT_LENGTH} printable characters`);
  }
  return text;
}

function readOnly(path: AttributePath): void {
  if (READ_ONLY.has(path.attribute)) throw badRequest('mutability', `${path.raw} is read-only`);
}

/** The work email from an `emails` value: the primary one, else the one of type work, else the first. */
export function pickEmail(value: unknown, path = 'emails'): string | null {
  const list = Array.isArray(value) ? value : value && typeof value === 'object' ? [value] : null;
  if (!list) throw badRequest('invalidValue', `${path} must be an array of {value, type, primary}`);
  const entries = list.filter((e): e is { value?: unknown; type?: unknown; primary?: unknown } => !!e && typeof e === 'object');
  const chosen =
    entries.find((e) => e.primary === true || (typeof e.primary === 'string' && e.primary.toLowerCase() === 'true')) ??
    entries.find((e) => typeof e.type === 'string' && e.type.toLowerCase() === 'work') ??
    entries[0];
  if (!chosen) return null;
  if (typeof chosen.value !== 'string') throw badRequest('invalidValue', `${path} entries need a string value`);
  return chosen.value.trim();
}

/** The value filter of `emails[...]` must select the work email (the one a member has). */
function selectsWorkEmail(filter: Filter): boolean {
  return filter.op === 'eq' && filter.attrPath.toLowerCase() === 'type' && typeof filter.compValue === 'string' && filter.compValue.toLowerCase() === 'work';
}

/** A PatchOp body applied to a User: the change set. `userId` is the resource's own id (a pathless value may repeat it). */
export function normalizeUserPatch(body: unknown, userId: string): UserChanges {
  const changes: UserChanges = {};
  for (const { op, path, value } of normalizePatchOps(body, SCHEMA.user)) {
    if (path.attribute === 'id' && op !== 'remove' && typeof value === 'string' && canonicalId(value) === canonicalId(userId)) continue;
    readOnly(path);
    const removing = op === 'remove';
    const full = path.sub ? `${path.attribute}.${path.sub}` : path.attribute;
    if (path.filter && path.attribute !== 'emails') throw badRequest('invalidPath', `${path.raw}: no value filter on ${path.attribute}`);
    switch (full) {
      case 'active':
        if (removing) throw badRequest('invalidValue', 'active cannot be removed');
        changes.active = toBoolean(value, 'active');
        break;
      case 'username': {
        const text = removing ? null : toText(value, 'userName');
        if (!text) throw badRequest('invalidValue', 'userName is required');
        changes.userName = text;
        break;
      }
      case 'displayname':
        changes.displayName = removing ? null : storedText(toText(value, 'displayName'), 'displayName');
        break;
      case 'nickname':
        changes.nickName = removing ? null : toText(value, 'nickName');
        break;
      case 'externalid':
        changes.externalId = removing ? null : storedText(toText(value, 'externalId'), 'externalId');
        break;
      case 'usertype':
        changes.userType = removing ? null : toText(value, 'userType');
        break;
      case 'enterprise:manager':
      case 'enterprise:manager.value':
        changes.managerId = removing ? null : managerId(value);
        break;
      case 'password':
        // Okta's password sync: passwords are never stored here (people sign in through their identity provider).
        break;
      case 'name.givenname':
        changes.givenName = removing ? null : toText(value, 'name.givenName');
        break;
      case 'name.familyname':
        changes.familyName = removing ? null : toText(value, 'name.familyName');
        break;
      case 'name.formatted':
        // Derived from the given and family names when read: nothing to store.
        break;
      case 'name':
        if (removing) {
          changes.givenName = null;
          changes.familyName = null;
        } else {
          if (!value || typeof value !== 'object' || Array.isArray(value)) throw badRequest('invalidValue', 'name must be an object');
          const name = value as Record<string, unknown>;
          for (const [key, v] of Object.entries(name)) {
            if (key.toLowerCase() === 'givenname') changes.givenName = toText(v, 'name.givenName');
            else if (key.toLowerCase() === 'familyname') changes.familyName = toText(v, 'name.familyName');
          }
        }
        break;
      case 'emails.primary':
      case 'emails.type':
        // Entra sends `emails[type eq "work"].primary: true` beside the value: a member's one email is the primary work one.
        if (path.filter && !selectsWorkEmail(path.filter)) throw badRequest('noTarget', `${path.raw}: a member has one email, of type work`);
        break;
      case 'emails':
      case 'emails.value': {
        if (removing) throw badRequest('mutability', 'A member always has their email; it cannot be removed');
        if (path.filter && !selectsWorkEmail(path.filter)) throw badRequest('noTarget', `${path.raw}: a member has one email, of type work`);
        const email = path.filter || path.sub ? toText(value, path.raw) : pickEmail(value);
        if (email) changes.email = email;
        break;
      }
      default:
        throw badRequest('invalidPath', `Unsupported attribute path ${path.raw}`);
    }
  }
  return changes;
}

/** The enterprise extension's `manager`: `"<id>"` or `{"value": "<id>"}`; an empty value removes it. */
export function managerId(value: unknown): string | null {
  const raw = value && typeof value === 'object' && !Array.isArray(value) ? (value as { value?: unknown }).value : value;
  if (raw === null || raw === undefined || raw === '') return null;
  if (typeof raw !== 'string') throw badRequest('invalidValue', 'manager must be a user id or {"value": "<user id>"}');
  return canonicalId(raw.trim());
}

/** Canonical user ids of `[{"value": "<id>"}, ...]`. */
export function memberIds(value: unknown, path: string): string[] {
  const list = Array.isArray(value) ? value : value && typeof value === 'object' ? [value] : null;
  if (!list) throw badRequest('invalidValue', `${path} must be an array of {"value": "<user id>"}`);
  return list.map((entry) => {
    const id = entry && typeof entry === 'object' ? (entry as { value?: unknown }).value : undefined;
    if (typeof id !== 'string' || !id.trim()) throw badRequest('invalidValue', `${path} entries need a string value (a user id)`);
    return canonicalId(id.trim());
  });
}

/** User ids named by a `members[...]` value filter: `value eq "<id>"`, possibly joined by `or`. */
function memberIdsOfFilter(filter: Filter, raw: string): string[] {
  if (filter.op === 'or') return filter.filters.flatMap((f) => memberIdsOfFilter(f, raw));
  if (filter.op === 'eq' && filter.attrPath.toLowerCase() === 'value' && typeof filter.compValue === 'string') return [canonicalId(filter.compValue)];
  throw badRequest('invalidPath', `${raw}: only members[value eq "<id>"] is supported`);
}

/** A PatchOp body applied to a Group: the change set, with the operations' order kept for the same member. */
export function normalizeGroupPatch(body: unknown, groupId: string): GroupChanges {
  const changes: GroupChanges = { addMembers: [], removeMembers: [] };
  const add = new Set<string>();
  const remove = new Set<string>();
  let replaced: Set<string> | undefined;
  const adding = (ids: string[]) => {
    for (const id of ids) {
      if (replaced) replaced.add(id);
      else {
        add.add(id);
        remove.delete(id);
      }
    }
  };
  const removing = (ids: string[]) => {
    for (const id of ids) {
      if (replaced) replaced.delete(id);
      else {
        remove.add(id);
        add.delete(id);
      }
    }
  };
  for (const { op, path, value } of normalizePatchOps(body, SCHEMA.group)) {
    if (path.attribute === 'id' && op !== 'remove' && typeof value === 'string' && canonicalId(value) === canonicalId(groupId)) continue;
    readOnly(path);
    switch (path.attribute) {
      case 'displayname': {
        if (path.filter || path.sub) throw badRequest('invalidPath', `Unsupported attribute path ${path.raw}`);
        const name = op === 'remove' ? null : toText(value, 'displayName');
        if (!name) throw badRequest('invalidValue', 'displayName is required');
        changes.displayName = name;
        break;
      }
      case 'externalid':
        // Groups keep no externalId (Okta and Entra match groups by id and displayName): accepted and not stored.
        break;
      case 'members': {
        if (path.sub && path.sub !== 'value') throw badRequest('invalidPath', `Unsupported attribute path ${path.raw}`);
        if (path.filter) {
          if (op !== 'remove') throw badRequest('invalidPath', `${path.raw}: a value filter on members is supported for remove only`);
          removing(memberIdsOfFilter(path.filter, path.raw));
        } else if (op === 'add') adding(memberIds(value, 'members'));
        else if (op === 'replace') {
          replaced = new Set(memberIds(value ?? [], 'members'));
          add.clear();
          remove.clear();
        } else if (value === undefined || value === null) {
          replaced = new Set();
          add.clear();
          remove.clear();
        } else removing(memberIds(value, 'members'));
        break;
      }
      default:
        throw badRequest('invalidPath', `Unsupported attribute path ${path.raw}`);
    }
  }
  if (replaced) changes.members = [...replaced];
  changes.addMembers = [...add];
  changes.removeMembers = [...remove];
  return changes;
}
