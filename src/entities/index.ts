import { Group, Position, Role } from './catalog.entities';
import { DevMail } from './dev-mail.entity';
import { EventRecord, WebhookDelivery, WebhookEndpoint } from './event.entities';
import { EmailQuota } from './email-quota.entity';
import { IdempotencyRecord } from './idempotency-record.entity';
import { Invitation } from './invitation.entity';
import { InviteImport, InviteImportClaim, InviteImportRow, InviteImportStatus } from './invite-import.entity';
import { Membership, MembershipGroup, MembershipPosition, MembershipRole } from './membership.entity';
import { RateLimitUsage } from './rate-limit-usage.entity';
import { ScimToken } from './scim-token.entity';
import { Tenant } from './tenant.entity';
import { User } from './user.entity';

export * from './enums';
export { Tenant, User, Membership, MembershipRole, MembershipGroup, MembershipPosition, Role, Group, Position };
export { Invitation, IdempotencyRecord, DevMail, EmailQuota, RateLimitUsage, ScimToken, EventRecord, WebhookEndpoint, WebhookDelivery };
export { WebhookDeliveryStatus } from './event.entities';
export { InviteImport, InviteImportRow, InviteImportClaim, InviteImportStatus };

export const entities = [
  Tenant,
  User,
  Membership,
  MembershipRole,
  MembershipGroup,
  MembershipPosition,
  Role,
  Group,
  Position,
  Invitation,
  IdempotencyRecord,
  DevMail,
  EmailQuota,
  RateLimitUsage,
  ScimToken,
  EventRecord,
  WebhookEndpoint,
  WebhookDelivery,
  InviteImport,
  InviteImportRow,
  InviteImportClaim,
];

export { TENANT_FILTER, addTenantFilter, isTenantOwned } from './tenant-scoped';
