import { randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { RequestContext } from '../../context';
import { pgArrayLiteral } from '../../db/pg-array';
import { cleanName, deleteCatalogItem } from '../catalog.service';
import { appendMemberEvents } from '../events';
import { DomainError } from '../errors';
import { canonicalId, isUuid } from '../ids';
import type { BulkInviteGuard } from '../ports';
import { listFilter } from './filter';
import { listResponse, parseGroupInput, parsePaging, parseProjection, project, shows, toScimGroup, type ScimGroupRow, type ScimResourceJson } from './mapping';
import { normalizeGroupPatch, type GroupChanges } from './patch';
import { SCHEMA } from './schemas';
import { ScimError, badRequest, conflict, notFound } from './scim-error';
import type { ListQuery } from './scim-users.service';

/**
 * SCIM Groups (contract section 10): the tenant's groups; `members` are the user ids of its members (REMOVED
 * ones excluded). Membership changes are set-based statements on membership_group: a group's members are loaded
 * only when a response shows them, never to apply a PATCH (a group of 50,000 members stays in the database).
 *
 * Membership changes go through `changeGroupMembers`, which returns the memberships it touched: the function
 * that reports member.updated for them.
 */
export class ScimGroupService {
  constructor(
    private readonly guard: BulkInviteGuard,
    private readonly baseUrl: string,
  ) {}

  async list(ctx: RequestContext, query: ListQuery) {
    const tenantId = ctx.requireTenantPermission('tenant:admin');
    const paging = parsePaging(query);
    const projection = parseProjection(query, SCHEMA.group);
    const condition = listFilter(query.filter, 'Group');
    const from = `from tenant_group g where g.tenant_id = ? and ${condition.sql}`;
    const params = [tenantId, ...condition.params];
    const [[{ count }], rows] = await Promise.all([
      ctx.em.execute<Array<{ count: string }>>(`select count(*) as count ${from}`, params),
      paging.count === 0
        ? Promise.resolve([])
        : ctx.em.execute<Array<{ id: string; name: string; created_at: Date }>>(
            `select g.id, g.name, g.created_at ${from} order by g.created_at, g.id limit ? offset ?`,
            [...params, paging.count, paging.startIndex - 1],
          ),
    ]);
    const groups = await withMembers(ctx.em, tenantId, rows, shows(projection, 'members'));
    return listResponse(groups.map((g) => project(toScimGroup(g, this.baseUrl), projection)), Number(count), paging);
  }

  async get(ctx: RequestContext, groupId: string, query: ListQuery = {}): Promise<ScimResourceJson> {
    const tenantId = ctx.requireTenantPermission('tenant:admin');
    const projection = parseProjection(query, SCHEMA.group);
    const row = await findGroup(ctx.em, tenantId, groupId);
    if (!row) throw notFound('Group');
    const [group] = await withMembers(ctx.em, tenantId, [row], shows(projection, 'members'));
    return project(toScimGroup(group, this.baseUrl), projection);
  }

  /** POST /Groups: the group and its initial members in one transaction. */
  async create(ctx: RequestContext, body: unknown): Promise<ScimResourceJson> {
    const tenantId = ctx.requireTenantPermission('tenant:admin');
    const input = parseGroupInput(body);
    const name = groupName(input.displayName);
    const groupId = randomUUID();
    const release = await this.guard.check(tenantId, { owner: ctx.em, people: input.members?.length ?? 0 });
    try {
      await ctx.em.transactional(async (tx) => {
        await tx.execute('insert into tenant_group (id, tenant_id, name, created_at) values (?, ?, ?, now())', [groupId, tenantId, name], 'run');
        if (input.members?.length) await this.changeGroupMembers(tx, tenantId, groupId, { addMembers: input.members, removeMembers: [] });
      });
    } catch (error) {
      throw uniqueName(error, name);
    } finally {
      release?.();
    }
    return this.get(ctx, groupId);
  }

  /** PUT /Groups/{id}: renames and, when `members` is given, sets the members to exactly those. */
  async replace(ctx: RequestContext, groupId: string, body: unknown): Promise<ScimResourceJson> {
    const input = parseGroupInput(body);
    await this.apply(ctx, groupId, { displayName: input.displayName, members: input.members ?? undefined, addMembers: [], removeMembers: [] });
    return this.get(ctx, groupId);
  }

  /** PATCH /Groups/{id}: normalised first (pure), then applied set-based. Answers nothing (204). */
  async patch(ctx: RequestContext, groupId: string, body: unknown): Promise<void> {
    ctx.requireTenantPermission('tenant:admin');
    await this.apply(ctx, groupId, normalizeGroupPatch(body, groupId));
  }

  async delete(ctx: RequestContext, groupId: string): Promise<void> {
    if (!(await deleteCatalogItem(ctx, 'group', groupId))) throw notFound('Group');
  }

  private async apply(ctx: RequestContext, groupId: string, changes: GroupChanges): Promise<void> {
    const tenantId = ctx.requireTenantPermission('tenant:admin');
    const name = changes.displayName === undefined ? undefined : groupName(changes.displayName);
    const people = (changes.members?.length ?? 0) + changes.addMembers.length + changes.removeMembers.length;
    if (!(await findGroup(ctx.em, tenantId, groupId))) throw notFound('Group');
    const release = await this.guard.check(tenantId, { owner: ctx.em, people });
    try {
      await ctx.em.transactional(async (tx) => {
        // The group's row is locked first: concurrent PATCHes of one group apply one after the other.
        const [locked] = await tx.execute<Array<{ id: string }>>('select id from tenant_group where tenant_id = ? and id = ? for update', [tenantId, canonicalId(groupId)]);
        if (!locked) throw notFound('Group');
        if (name !== undefined) await tx.execute('update tenant_group set name = ? where tenant_id = ? and id = ?', [name, tenantId, locked.id], 'run');
        await this.changeGroupMembers(tx, tenantId, locked.id, changes);
      });
    } catch (error) {
      throw name === undefined ? error : uniqueName(error, name);
    } finally {
      release?.();
    }
  }

  /**
   * Set-based membership changes of one group: `members` replaces the whole list, then `addMembers` and
   * `removeMembers`. A few statements whatever the numbers; unknown user ids (or other tenants', or REMOVED
   * members) are refused with the ids named, removing a non-member is a no-op. Each membership whose groups
   * changed gets a member.updated event, in the same transaction; their ids are returned.
   */
  async changeGroupMembers(tx: EntityManager, tenantId: string, groupId: string, changes: Omit<GroupChanges, 'displayName'>): Promise<string[]> {
    const touched = new Set<string>();
    const wanted = [...(changes.members ?? []), ...changes.addMembers];
    const members = await currentMemberships(tx, tenantId, wanted);
    const missing = wanted.filter((id) => !members.has(id));
    if (missing.length) throw new ScimError(400, `No such users in this tenant: ${[...new Set(missing)].slice(0, 20).join(', ')}`, 'invalidValue');
    if (changes.members) {
      const keep = pgArrayLiteral(changes.members.map((id) => members.get(id)!));
      const removed = await tx.execute<Array<{ membership_id: string }>>(
        'delete from membership_group where tenant_id = ? and group_id = ? and not (membership_id = any(?::uuid[])) returning membership_id',
        [tenantId, groupId, keep],
      );
      for (const r of removed) touched.add(r.membership_id);
    }
    const add = [...new Set(wanted.map((id) => members.get(id)!))];
    if (add.length) {
      const inserted = await tx.execute<Array<{ membership_id: string }>>(
        `insert into membership_group (tenant_id, membership_id, group_id, is_primary_org)
         select ?, v.id, ?, false from unnest(?::uuid[]) as v(id) order by v.id
         on conflict do nothing returning membership_id`,
        [tenantId, groupId, pgArrayLiteral(add)],
      );
      for (const r of inserted) touched.add(r.membership_id);
    }
    const remove = changes.removeMembers.filter(isUuid);
    if (remove.length) {
      const removed = await tx.execute<Array<{ membership_id: string }>>(
        `delete from membership_group mg using membership m
          where mg.tenant_id = ? and mg.group_id = ? and m.tenant_id = mg.tenant_id and m.id = mg.membership_id and m.user_id = any(?::uuid[])
          returning mg.membership_id`,
        [tenantId, groupId, pgArrayLiteral(remove)],
      );
      for (const r of removed) touched.add(r.membership_id);
    }
    await appendMemberEvents(tx, 'member.updated', { tenantId, membershipIds: [...touched] });
    return [...touched];
  }
}

function groupName(raw: string): string {
  try {
    return cleanName('displayName', raw);
  } catch (error) {
    if (error instanceof DomainError) throw badRequest('invalidValue', error.message);
    throw error;
  }
}

function uniqueName(error: unknown, name: string): unknown {
  return isUniqueViolation(error) ? conflict(`A group named "${name}" already exists in this tenant`) : error;
}

async function findGroup(em: EntityManager, tenantId: string, groupId: string): Promise<{ id: string; name: string; created_at: Date } | null> {
  if (!isUuid(groupId)) return null;
  const [row] = await em.execute<Array<{ id: string; name: string; created_at: Date }>>('select id, name, created_at from tenant_group where tenant_id = ? and id = ?', [
    tenantId,
    canonicalId(groupId),
  ]);
  return row ?? null;
}

/** user id -> membership id of the current (not REMOVED) members among `userIds`: one query. */
async function currentMemberships(em: EntityManager, tenantId: string, userIds: string[]): Promise<Map<string, string>> {
  const ids = [...new Set(userIds.filter(isUuid))];
  if (!ids.length) return new Map();
  const rows = await em.execute<Array<{ id: string; user_id: string }>>(
    "select id, user_id from membership where tenant_id = ? and user_id = any(?::uuid[]) and status <> 'REMOVED'",
    [tenantId, pgArrayLiteral(ids)],
  );
  return new Map(rows.map((r) => [r.user_id, r.id]));
}

/** Groups with their members (user ids and emails) when the response shows them: one query for the page. */
async function withMembers(em: EntityManager, tenantId: string, rows: Array<{ id: string; name: string; created_at: Date }>, loadMembers: boolean): Promise<ScimGroupRow[]> {
  const groups: ScimGroupRow[] = rows.map((r) => ({ id: r.id, name: r.name, createdAt: new Date(r.created_at), members: loadMembers ? [] : undefined }));
  if (!loadMembers || !groups.length) return groups;
  const members = await em.execute<Array<{ group_id: string; user_id: string; email: string }>>(
    `select mg.group_id, m.user_id, u.email from membership_group mg
       join membership m on m.id = mg.membership_id and m.tenant_id = mg.tenant_id join users u on u.id = m.user_id
      where mg.tenant_id = ? and mg.group_id = any(?::uuid[]) and m.status <> 'REMOVED' order by m.created_at, m.id`,
    [tenantId, pgArrayLiteral(groups.map((g) => g.id))],
  );
  const byGroup = new Map(groups.map((g) => [g.id, g]));
  for (const m of members) byGroup.get(m.group_id)!.members!.push({ userId: m.user_id, email: m.email });
  return groups;
}

export function isUniqueViolation(error: unknown): boolean {
  return error instanceof UniqueConstraintViolationException || (error as { code?: string } | null)?.code === '23505';
}
