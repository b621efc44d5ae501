import { setImmediate as nextTurn } from 'node:timers/promises';
import type { InviteUserCommand } from './command';
import { parseInvite, type ParsedInvite } from './parse-invite';
import { resolveInvites, type InviteDecision } from './resolve-invites';
import type { InviteLookups } from './resolve-invites';

/**
 * People per slice of CPU-bound work: between slices the event loop runs, so other tenants' requests and
 * /health are answered while a large request is parsed, decided and mapped. Small enough that a slice stays
 * in the low milliseconds, large enough that the yields cost nothing measurable.
 */
export const SLICE = 500;

/** `items.map(fn)`, yielding to the event loop between slices; the same result in the same order. */
export async function mapInSlices<T, R>(items: readonly T[], fn: (item: T, index: number) => R, slice = SLICE): Promise<R[]> {
  const out = new Array<R>(items.length);
  for (let start = 0; start < items.length; start += slice) {
    if (start > 0) await nextTurn();
    const end = Math.min(items.length, start + slice);
    for (let i = start; i < end; i++) out[i] = fn(items[i], i);
  }
  return out;
}

/**
 * Strings equal to one seen before in this request are replaced by that first one: 10,000 people naming the
 * same 20 role ids then hold 20 strings, not 200,000.
 */
export function interner(): (value: string) => string {
  const seen = new Map<string, string>();
  return (value) => {
    const known = seen.get(value);
    if (known !== undefined) return known;
    seen.set(value, value);
    return value;
  };
}

function internIds(person: ParsedInvite, intern: (value: string) => string): ParsedInvite {
  for (let i = 0; i < person.roleIds.length; i++) person.roleIds[i] = intern(person.roleIds[i]);
  for (let i = 0; i < person.positionIds.length; i++) person.positionIds[i] = intern(person.positionIds[i]);
  for (const group of person.groups) group.groupId = intern(group.groupId);
  if (person.managerId) person.managerId = intern(person.managerId);
  return person;
}

/** `parseInvite` for every person, in slices; shared ids are held once. Same results as mapping `parseInvite`. */
export function parseInvitesInSlices(users: readonly InviteUserCommand[]): Promise<ParsedInvite[]> {
  const intern = interner();
  return mapInSlices(users, (input, index) => internIds(parseInvite(index, input ?? {}), intern));
}

/**
 * `resolveInvites` over slices of people with one shared `claims` map: the checks run in input order exactly as
 * one call would (later people see the claims of earlier ones), with the event loop running between slices.
 */
export async function resolveInvitesInSlices(people: readonly ParsedInvite[], lookups: InviteLookups, slice = SLICE): Promise<InviteDecision[]> {
  const claims = new Map<string, number>();
  const out: InviteDecision[] = [];
  for (let start = 0; start < people.length; start += slice) {
    if (start > 0) await nextTurn();
    for (const decision of resolveInvites(people.slice(start, start + slice), lookups, claims)) out.push(decision);
  }
  return out;
}
