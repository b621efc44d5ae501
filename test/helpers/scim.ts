import assert from 'node:assert/strict';
import type { SeededTenant, TestApp } from './harness';

export const SCIM = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  patchOp: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  listResponse: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
  bulkRequest: 'urn:ietf:params:scim:api:messages:2.0:BulkRequest',
} as const;

export interface ScimResponse {
  status: number;
  contentType: string;
  headers: Record<string, unknown>;
  body: any;
}

/** A SCIM client of the test app: requests go to /scim/v2 with the given bearer token. */
export function scimClient(t: TestApp, token: string | undefined, contentType = 'application/scim+json') {
  return async (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown, headers: Record<string, string> = {}): Promise<ScimResponse> => {
    const response = await t.app.server.inject({
      method,
      url: `/scim/v2${url}`,
      headers: {
        ...(body !== undefined ? { 'content-type': contentType } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      payload: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    return {
      status: response.statusCode,
      contentType: String(response.headers['content-type'] ?? ''),
      headers: response.headers,
      body: response.body ? JSON.parse(response.body) : undefined,
    };
  };
}

/** A SCIM token of `tenant`, created through the GraphQL mutation (tenant:admin). */
export async function createScimToken(t: TestApp, tenant: SeededTenant, description = 'test'): Promise<{ id: string; secret: string }> {
  const res = await t.gql('mutation($d: String) { createScimToken(description: $d) { token { id description createdAt lastUsedAt } secret } }', { d: description }, tenant.token);
  assert.equal(res.errors, undefined, JSON.stringify(res.errors));
  return { id: res.data.createScimToken.token.id, secret: res.data.createScimToken.secret };
}

/** Asserts a SCIM error response: the error schema, the status as a string, and the scimType when given. */
export function assertScimError(res: ScimResponse, status: number, scimType?: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(res.contentType, /^application\/scim\+json/);
  assert.deepEqual(res.body.schemas, [SCIM.error]);
  assert.equal(res.body.status, String(status));
  assert.equal(typeof res.body.detail, 'string');
  if (scimType) assert.equal(res.body.scimType, scimType, JSON.stringify(res.body));
}

export const patchOp = (...Operations: unknown[]) => ({ schemas: [SCIM.patchOp], Operations });
