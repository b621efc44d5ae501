import { parse, type Filter } from 'scim2-parse-filter';
import { isUuid, canonicalId } from '../ids';
import { badRequest } from './scim-error';
import { SCHEMA, stripCoreUrn } from './schemas';

/** A WHERE fragment with `?` placeholders and its parameters, in order. */
export interface SqlCondition {
  sql: string;
  params: unknown[];
}

export type ScimResource = 'User' | 'Group';

/** Longer filters are refused before parsing: the allow-listed ones are short. */
const MAX_FILTER_LENGTH = 2000;
const MAX_TERMS = 100;

const invalid = (message: string) => badRequest('invalidFilter', message);

/**
 * Columns of the list queries the filters may compare, by lower-cased attribute path. User lists select from
 * `membership m join users u`, group lists from `tenant_group g`. Each comparison is one an index answers:
 * users by email_normalized, memberships by (tenant, user) and (tenant, external_id), groups by (tenant, lower(name)).
 * Values are compared as they are stored: emails, names and externalIds are trimmed when written.
 */
const USER_ATTRIBUTES: Record<string, (value: string) => SqlCondition> = {
  username: (v) => ({ sql: 'u.email_normalized = ?', params: [v.trim().toLowerCase()] }),
  'emails.value': (v) => ({ sql: 'u.email_normalized = ?', params: [v.trim().toLowerCase()] }),
  externalid: (v) => ({ sql: 'm.external_id = ?', params: [v.trim()] }),
  id: (v) => (isUuid(v) ? { sql: 'm.user_id = ?', params: [canonicalId(v)] } : FALSE),
  displayname: (v) => ({ sql: 'lower(m.display_name) = ?', params: [v.trim().toLowerCase()] }),
};

const memberOfGroup = (v: string): SqlCondition =>
  isUuid(v)
    ? {
        sql: 'exists (select 1 from membership_group mg join membership mm on mm.id = mg.membership_id and mm.tenant_id = mg.tenant_id where mg.tenant_id = g.tenant_id and mg.group_id = g.id and mm.user_id = ?)',
        params: [canonicalId(v)],
      }
    : FALSE;

const GROUP_ATTRIBUTES: Record<string, (value: string) => SqlCondition> = {
  displayname: (v) => ({ sql: 'lower(g.name) = ?', params: [v.trim().toLowerCase()] }),
  id: (v) => (isUuid(v) ? { sql: 'g.id = ?', params: [canonicalId(v)] } : FALSE),
  // Groups keep no externalId: no group has the one asked for.
  externalid: () => FALSE,
  'members.value': memberOfGroup,
};

const TRUE: SqlCondition = { sql: 'true', params: [] };
const FALSE: SqlCondition = { sql: 'false', params: [] };

/**
 * Translates a SCIM filter (parsed by scim2-parse-filter) into a parameterised SQL condition over an allow-list:
 * `eq` on the attributes above, joined by `and`/`or`; `emails[type eq "work"]` (every member's one email is their
 * work email) and, for groups, `members[value eq "<user id>"]`. Anything else is `400 invalidFilter`. Pure.
 */
export function translateFilter(filter: string, resource: ScimResource): SqlCondition {
  if (filter.length > MAX_FILTER_LENGTH) throw invalid(`A filter may have at most ${MAX_FILTER_LENGTH} characters`);
  let ast: Filter;
  try {
    ast = parse(filter);
  } catch {
    throw invalid('The filter is not valid SCIM filter syntax');
  }
  let terms = 0;
  const core = resource === 'User' ? SCHEMA.user : SCHEMA.group;
  const columns = resource === 'User' ? USER_ATTRIBUTES : GROUP_ATTRIBUTES;

  const visit = (node: Filter): SqlCondition => {
    if (++terms > MAX_TERMS) throw invalid(`A filter may have at most ${MAX_TERMS} terms`);
    switch (node.op) {
      case 'and':
      case 'or': {
        const parts = node.filters.map(visit);
        return { sql: `(${parts.map((p) => p.sql).join(` ${node.op} `)})`, params: parts.flatMap((p) => p.params) };
      }
      case 'eq': {
        const path = stripCoreUrn(node.attrPath, core).toLowerCase();
        const column = columns[path];
        if (!column) throw invalid(`Filtering on ${node.attrPath} is not supported; supported: ${supported(resource)}`);
        if (typeof node.compValue !== 'string') throw invalid(`${node.attrPath} is compared with a string`);
        return column(node.compValue);
      }
      case '[]':
        return valuePath(stripCoreUrn(node.attrPath, core).toLowerCase(), node.valFilter);
      default:
        throw invalid(`The operator ${node.op} is not supported; only eq, and, or`);
    }
  };

  /** `emails[type eq "work"]`, `emails[value eq "x"]` and, on groups, `members[value eq "x"]`. */
  const valuePath = (attribute: string, inner: Filter): SqlCondition => {
    if (inner.op === 'and' || inner.op === 'or') {
      const parts = inner.filters.map((f) => valuePath(attribute, f));
      return { sql: `(${parts.map((p) => p.sql).join(` ${inner.op} `)})`, params: parts.flatMap((p) => p.params) };
    }
    if (inner.op !== 'eq' || typeof inner.compValue !== 'string') throw invalid(`Only eq is supported inside ${attribute}[...]`);
    const sub = inner.attrPath.toLowerCase();
    if (resource === 'User' && attribute === 'emails' && sub === 'type') return inner.compValue.toLowerCase() === 'work' ? TRUE : FALSE;
    if (resource === 'User' && attribute === 'emails' && sub === 'value') return USER_ATTRIBUTES['emails.value'](inner.compValue);
    if (resource === 'Group' && attribute === 'members' && sub === 'value') return memberOfGroup(inner.compValue);
    throw invalid(`Filtering on ${attribute}[${inner.attrPath}] is not supported`);
  };

  return visit(ast);
}

function supported(resource: ScimResource): string {
  return resource === 'User'
    ? 'userName, externalId, id, emails.value, emails[type eq "work"].value, displayName'
    : 'displayName, id, externalId, members[value eq "..."]';
}

/** The `filter` query parameter of a list: absent or blank matches everything; given twice (an array) is refused. */
export function listFilter(filter: unknown, resource: ScimResource): SqlCondition {
  if (filter === undefined || (typeof filter === 'string' && !filter.trim())) return TRUE;
  if (typeof filter !== 'string') throw invalid('filter must be given once');
  return translateFilter(filter, resource);
}
