import { BULK_LIMITS, PAGE, SCHEMA } from './schemas';

/** RFC 7644 section 4 discovery documents, for `baseUrl` (PUBLIC_URL + /scim/v2). Pure. */
export function serviceProviderConfig(baseUrl: string) {
  return {
    schemas: [SCHEMA.serviceProviderConfig],
    patch: { supported: true },
    bulk: { supported: true, maxOperations: BULK_LIMITS.maxOperations, maxPayloadSize: BULK_LIMITS.maxPayloadSize },
    filter: { supported: true, maxResults: PAGE.maxCount },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [
      { type: 'oauthbearertoken', name: 'OAuth Bearer Token', description: 'A SCIM token created with the createScimToken mutation', primary: true },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
  };
}

export function resourceTypes(baseUrl: string) {
  return [
    {
      schemas: [SCHEMA.resourceType],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      description: 'A member of the tenant',
      schema: SCHEMA.user,
      schemaExtensions: [{ schema: SCHEMA.enterpriseUser, required: false }],
      meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/User` },
    },
    {
      schemas: [SCHEMA.resourceType],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      description: 'A group of the tenant',
      schema: SCHEMA.group,
      meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/Group` },
    },
  ];
}

type Attribute = Record<string, unknown>;

const attribute = (name: string, options: Partial<Attribute> = {}): Attribute => ({
  name,
  type: 'string',
  multiValued: false,
  required: false,
  caseExact: false,
  mutability: 'readWrite',
  returned: 'default',
  uniqueness: 'none',
  ...options,
});

/** The attributes this service stores, as RFC 7643 describes them; others sent are ignored on POST/PUT. */
export function schemas(baseUrl: string) {
  const user = {
    schemas: [SCHEMA.schema],
    id: SCHEMA.user,
    name: 'User',
    description: 'A member of the tenant',
    attributes: [
      attribute('userName', { required: true, uniqueness: 'server', description: 'The email address: the platform-wide identity (case-insensitive). Cannot be changed.' }),
      attribute('name', {
        type: 'complex',
        subAttributes: [attribute('givenName'), attribute('familyName'), attribute('formatted', { mutability: 'readOnly' })],
      }),
      attribute('displayName'),
      attribute('nickName'),
      attribute('userType'),
      attribute('emails', {
        type: 'complex',
        multiValued: true,
        description: 'One email, of type work: the userName.',
        subAttributes: [attribute('value'), attribute('type'), attribute('primary', { type: 'boolean' })],
      }),
      attribute('active', { type: 'boolean', description: 'false: the member is SUSPENDED' }),
      attribute('groups', {
        type: 'complex',
        multiValued: true,
        mutability: 'readOnly',
        subAttributes: [attribute('value', { mutability: 'readOnly' }), attribute('display', { mutability: 'readOnly' })],
      }),
      attribute('externalId', { caseExact: true, description: 'The identity provider’s id, unique in the tenant' }),
    ],
    meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${SCHEMA.user}` },
  };
  const enterprise = {
    schemas: [SCHEMA.schema],
    id: SCHEMA.enterpriseUser,
    name: 'EnterpriseUser',
    description: 'Of the enterprise extension, the manager maps (another member of the tenant); its other attributes are not stored',
    attributes: [
      attribute('manager', {
        type: 'complex',
        subAttributes: [attribute('value', { description: 'The manager’s user id' }), attribute('$ref', { type: 'reference', referenceTypes: ['User'] })],
      }),
    ],
    meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${SCHEMA.enterpriseUser}` },
  };
  const group = {
    schemas: [SCHEMA.schema],
    id: SCHEMA.group,
    name: 'Group',
    description: 'A group of the tenant',
    attributes: [
      attribute('displayName', { required: true, uniqueness: 'server' }),
      attribute('members', {
        type: 'complex',
        multiValued: true,
        subAttributes: [attribute('value', { mutability: 'immutable' }), attribute('display', { mutability: 'readOnly' })],
      }),
    ],
    meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${SCHEMA.group}` },
  };
  return [user, enterprise, group];
}
