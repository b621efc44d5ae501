/** URNs of RFC 7643/7644 used by this service. */
export const SCHEMA = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  enterpriseUser: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  listResponse: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  patchOp: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  bulkRequest: 'urn:ietf:params:scim:api:messages:2.0:BulkRequest',
  bulkResponse: 'urn:ietf:params:scim:api:messages:2.0:BulkResponse',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
  serviceProviderConfig: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  resourceType: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
  schema: 'urn:ietf:params:scim:schemas:core:2.0:Schema',
} as const;

/** Advertised in ServiceProviderConfig and enforced by /Bulk (413 naming the limit). */
export const BULK_LIMITS = { maxOperations: 1000, maxPayloadSize: 1_048_576 } as const;

/** Page size when `count` is absent, and the bound on `count` (a larger one is clamped, as RFC 7644 3.4.2.4 allows). */
export const PAGE = { defaultCount: 100, maxCount: 500 } as const;

/** Strips a schema URN prefix from an attribute path (`urn:...:User:userName` -> `userName`); the extension's stays. */
export function stripCoreUrn(path: string, core: string): string {
  const prefix = `${core.toLowerCase()}:`;
  return path.toLowerCase().startsWith(prefix) ? path.slice(prefix.length) : path;
}
