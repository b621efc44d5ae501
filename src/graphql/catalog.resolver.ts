import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import {
  CreateGroupInput,
  CreatePositionInput,
  CreateRoleInput,
  CreateTenantInput,
  GroupType,
  PositionType,
  RoleType,
  TenantType,
} from './catalog.types';
import { createCatalogItem, createTenant, deleteCatalogItem, listCatalog, updateCatalogItem } from '../services/catalog.service';
import type { RequestContext } from '../context';

@Resolver()
export class CatalogResolver {
  @Mutation(() => TenantType, { description: 'Requires tenants:create.' })
  createTenant(@Ctx() ctx: RequestContext, @Arg('input', () => CreateTenantInput, { description: 'The new tenant.' }) input: CreateTenantInput) {
    return createTenant(ctx, input);
  }

  @Mutation(() => RoleType, { description: 'Requires tenant:admin.' })
  createRole(@Ctx() ctx: RequestContext, @Arg('input', () => CreateRoleInput, { description: 'The new role.' }) input: CreateRoleInput) {
    return createCatalogItem(ctx, 'role', input.name);
  }

  @Mutation(() => GroupType, { description: 'Requires tenant:admin.' })
  createGroup(@Ctx() ctx: RequestContext, @Arg('input', () => CreateGroupInput, { description: 'The new group.' }) input: CreateGroupInput) {
    return createCatalogItem(ctx, 'group', input.name);
  }

  @Mutation(() => PositionType, { description: 'Requires tenant:admin.' })
  async createPosition(@Ctx() ctx: RequestContext, @Arg('input', () => CreatePositionInput, { description: 'The new position.' }) input: CreatePositionInput) {
    const { id, name } = await createCatalogItem(ctx, 'position', input.title);
    return { id, title: name };
  }

  @Mutation(() => RoleType, { description: 'Requires tenant:admin. Names are unique per tenant, case-insensitively.' })
  updateRole(
    @Ctx() ctx: RequestContext,
    @Arg('id', () => ID, { description: 'The role to rename; NOT_FOUND when it is not a role of this tenant.' }) id: string,
    @Arg('input', () => CreateRoleInput, { description: 'The new name.' }) input: CreateRoleInput,
  ) {
    return updateCatalogItem(ctx, 'role', id, input.name);
  }

  @Mutation(() => Boolean, { description: 'Requires tenant:admin. Members holding it lose it. False when there is no such role in this tenant.' })
  deleteRole(@Ctx() ctx: RequestContext, @Arg('id', () => ID, { description: 'The role to delete.' }) id: string) {
    return deleteCatalogItem(ctx, 'role', id);
  }

  @Mutation(() => GroupType, { description: 'Requires tenant:admin. Names are unique per tenant, case-insensitively.' })
  updateGroup(
    @Ctx() ctx: RequestContext,
    @Arg('id', () => ID, { description: 'The group to rename; NOT_FOUND when it is not a group of this tenant.' }) id: string,
    @Arg('input', () => CreateGroupInput, { description: 'The new name.' }) input: CreateGroupInput,
  ) {
    return updateCatalogItem(ctx, 'group', id, input.name);
  }

  @Mutation(() => Boolean, { description: 'Requires tenant:admin. Members in it leave it. False when there is no such group in this tenant.' })
  deleteGroup(@Ctx() ctx: RequestContext, @Arg('id', () => ID, { description: 'The group to delete.' }) id: string) {
    return deleteCatalogItem(ctx, 'group', id);
  }

  @Mutation(() => PositionType, { description: 'Requires tenant:admin. Titles are unique per tenant, case-insensitively.' })
  async updatePosition(
    @Ctx() ctx: RequestContext,
    @Arg('id', () => ID, { description: 'The position to rename; NOT_FOUND when it is not a position of this tenant.' }) id: string,
    @Arg('input', () => CreatePositionInput, { description: 'The new title.' }) input: CreatePositionInput,
  ) {
    const { name } = await updateCatalogItem(ctx, 'position', id, input.title);
    return { id: id.toLowerCase(), title: name };
  }

  @Mutation(() => Boolean, { description: 'Requires tenant:admin. Members holding it lose it. False when there is no such position in this tenant.' })
  deletePosition(@Ctx() ctx: RequestContext, @Arg('id', () => ID, { description: 'The position to delete.' }) id: string) {
    return deleteCatalogItem(ctx, 'position', id);
  }

  @Query(() => [RoleType], { description: "The token's tenant's roles. Requires users:read or tenant:admin." })
  roles(@Ctx() ctx: RequestContext) {
    return listCatalog(ctx, 'role');
  }

  @Query(() => [GroupType], { description: "The token's tenant's groups. Requires users:read or tenant:admin." })
  groups(@Ctx() ctx: RequestContext) {
    return listCatalog(ctx, 'group');
  }

  @Query(() => [PositionType], { description: "The token's tenant's positions. Requires users:read or tenant:admin." })
  async positions(@Ctx() ctx: RequestContext) {
    return (await listCatalog(ctx, 'position')).map(({ id, name }) => ({ id, title: name }));
  }
}
