import 'reflect-metadata';
import { buildSchema } from 'type-graphql';
import type { BulkInviteService } from '../services/bulk-invite';
import type { InvitationService } from '../services/invitation.service';
import type { InviteImportService } from '../services/imports/invite-import.service';
import { InviteImportResolver } from './invite-import.resolver';
import { CatalogResolver } from './catalog.resolver';
import { InvitationResolver } from './invitation.resolver';
import { MemberResolver } from './member.resolver';
import { MemberService } from '../services/member.service';
import { ScimTokenResolver } from './scim-token.resolver';
import { TenantSettingsResolver } from './tenant-settings.resolver';
import { EventsResolver } from './events.resolver';
import type { EventLogService } from '../services/events';
import type { WebhookEndpointService } from '../services/webhooks/webhook-endpoint.service';

export interface ResolverServices {
  bulkInvites: BulkInviteService;
  invitations: InvitationService;
  eventLog: EventLogService;
  webhookEndpoints: WebhookEndpointService;
  imports: InviteImportService;
}

/** The executable schema: resolvers are built here with the services they call (type-graphql's container). */
export async function buildGraphQLSchema(services: ResolverServices) {
  const instances = new Map<unknown, unknown>([
    [InvitationResolver, new InvitationResolver(services.bulkInvites, services.invitations)],
    [CatalogResolver, new CatalogResolver()],
    // Members need no configuration; bulk resend and revoke are the invitation service's.
    [MemberResolver, new MemberResolver(new MemberService(), services.invitations)],
    [TenantSettingsResolver, new TenantSettingsResolver()],
    [ScimTokenResolver, new ScimTokenResolver()],
    [EventsResolver, new EventsResolver(services.eventLog, services.webhookEndpoints)],
    [InviteImportResolver, new InviteImportResolver(services.imports)],
  ]);
  const schema = await buildSchema({
    resolvers: [CatalogResolver, InvitationResolver, MemberResolver, TenantSettingsResolver, InviteImportResolver, EventsResolver, ScimTokenResolver],
    container: { get: (someClass) => instances.get(someClass) },
    validate: false,
  });
  // type-graphql creates the root types itself and takes no description for them.
  schema.getQueryType()!.description = "Read the token's tenant: its invitations, its members, its settings, its catalogue of roles, groups and positions, its events and webhook endpoints.";
  schema.getMutationType()!.description = 'Invite people, resend and revoke invitations, accept one; manage members, the tenant settings, the catalogue, tenants and webhook endpoints.';
  return schema;
}
