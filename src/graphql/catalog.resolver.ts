import { Arg, Ctx, Mutation, Query, Resolver } from 'type-graphql';
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
import { createCatalogItem, createTenant, listCatalog } from '../services/catalog.service';
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
