import { Arg, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import {
  CreateGroupInput,
  CreatePositionInput,
  CreateRoleInput,
  CreateTenantInput,
  Group,
  Position,
  Role,
  Tenant,
} from './catalog.types';
import { createCatalogItem, createTenant, listCatalog } from '../services/catalog.service';
import type { GraphQLContext } from './graphql-context';

@Resolver()
export class CatalogResolver {
  @Mutation(() => Tenant, { description: 'Requires tenants:create.' })
  createTenant(@Ctx() { ctx }: GraphQLContext, @Arg('input', () => CreateTenantInput) input: CreateTenantInput) {
    return createTenant(ctx, input);
  }

  @Mutation(() => Role, { description: 'Requires tenant:admin.' })
  createRole(@Ctx() { ctx }: GraphQLContext, @Arg('input', () => CreateRoleInput) input: CreateRoleInput) {
    return createCatalogItem(ctx, 'role', input.name);
  }

  @Mutation(() => Group, { description: 'Requires tenant:admin.' })
  createGroup(@Ctx() { ctx }: GraphQLContext, @Arg('input', () => CreateGroupInput) input: CreateGroupInput) {
    return createCatalogItem(ctx, 'group', input.name);
  }

  @Mutation(() => Position, { description: 'Requires tenant:admin.' })
  async createPosition(@Ctx() { ctx }: GraphQLContext, @Arg('input', () => CreatePositionInput) input: CreatePositionInput) {
    const { id, name } = await createCatalogItem(ctx, 'position', input.title);
    return { id, title: name };
  }

  @Query(() => [Role], { description: "The token's tenant's roles. Requires users:read or tenant:admin." })
  roles(@Ctx() { ctx }: GraphQLContext) {
    return listCatalog(ctx, 'role');
  }

  @Query(() => [Group], { description: "The token's tenant's groups. Requires users:read or tenant:admin." })
  groups(@Ctx() { ctx }: GraphQLContext) {
    return listCatalog(ctx, 'group');
  }

  @Query(() => [Position], { description: "The token's tenant's positions. Requires users:read or tenant:admin." })
  async positions(@Ctx() { ctx }: GraphQLContext) {
    return (await listCatalog(ctx, 'position')).map(({ id, name }) => ({ id, title: name }));
  }
}
