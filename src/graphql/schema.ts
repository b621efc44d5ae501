import 'reflect-metadata';
import { buildSchema } from 'type-graphql';
import type { BulkInviteService } from '../services/bulk-invite';
import type { InvitationService } from '../services/invitation.service';
import { CatalogResolver } from './catalog.resolver';
import { InvitationResolver } from './invitation.resolver';
import { TenantSettingsResolver } from './tenant-settings.resolver';

export interface ResolverServices {
  bulkInvites: BulkInviteService;
  invitations: InvitationService;
}

/** The executable schema: resolvers are built here with the services they call (type-graphql's container). */
export async function buildGraphQLSchema(services: ResolverServices) {
  const instances = new Map<unknown, unknown>([
    [InvitationResolver, new InvitationResolver(services.bulkInvites, services.invitations)],
    [CatalogResolver, new CatalogResolver()],
    [TenantSettingsResolver, new TenantSettingsResolver()],
  ]);
  return buildSchema({
    resolvers: [CatalogResolver, InvitationResolver, TenantSettingsResolver],
    container: { get: (someClass) => instances.get(someClass) },
    validate: false,
  });
}
