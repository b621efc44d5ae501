import 'reflect-metadata';
import { buildSchema } from 'type-graphql';
import type { BulkInviteService } from '../services/bulk-invite';
import type { InvitationService } from '../services/invitation.service';
import { CatalogResolver } from './catalog.resolver';
import { InvitationResolver } from './invitation.resolver';

export interface ResolverServices {
  bulkInvites: BulkInviteService;
  invitations: InvitationService;
}

/** The executable schema: resolvers are built here with the services they call (type-graphql's container). */
export async function buildGraphQLSchema(services: ResolverServices) {
  const instances = new Map<unknown, unknown>([
    [InvitationResolver, new InvitationResolver(services.bulkInvites, services.invitations)],
    [CatalogResolver, new CatalogResolver()],
  ]);
  const schema = await buildSchema({
    resolvers: [CatalogResolver, InvitationResolver],
    container: { get: (someClass) => instances.get(someClass) },
    validate: false,
  });
  // type-graphql creates the root types itself and takes no description for them.
  schema.getQueryType()!.description = "Read the token's tenant: its invitations and its catalogue of roles, groups and positions.";
  schema.getMutationType()!.description = 'Invite people, manage their invitations, accept one, and manage the catalogue and tenants.';
  return schema;
}
