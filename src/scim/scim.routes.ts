import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createScimRequestContext, type ContextFactoryDeps } from '../context';
import type { Logger } from '../logger';
import { classifyRestError } from '../rest/error-envelope';
import { BYTES_PER_PERSON, type BulkAdmission } from '../http/admission';
import { classifyInfrastructureError } from '../http/infrastructure-errors';
import { resourceTypes, schemas, serviceProviderConfig } from '../services/scim/discovery';
import { scimErrorBody, type ScimBulkService } from '../services/scim/scim-bulk.service';
import { ScimError } from '../services/scim/scim-error';
import type { ScimGroupService } from '../services/scim/scim-groups.service';
import type { ScimTokenAuthenticator } from '../services/scim/scim-token.service';
import type { ListQuery, ScimUserService } from '../services/scim/scim-users.service';
import { BULK_LIMITS, SCHEMA } from '../services/scim/schemas';

export interface ScimRouteOptions {
  /** People in flight (src/http/admission.ts): a Bulk is admitted by its Content-Length before its body is read. */
  admission: BulkAdmission;
  users: ScimUserService;
  groups: ScimGroupService;
  bulk: ScimBulkService;
  tokens: ScimTokenAuthenticator;
  contextDeps: ContextFactoryDeps;
  /** PUBLIC_URL + /scim/v2: the discovery documents' locations. */
  baseUrl: string;
}

const SCIM_JSON = 'application/scim+json; charset=utf-8';

function send(reply: FastifyReply, status: number, body: unknown) {
  return reply.code(status).type(SCIM_JSON).send(body);
}

function sendError(reply: FastifyReply, status: number, detail: string, scimType?: string, retryAfter?: number) {
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
  return send(reply, status, scimErrorBody(status, detail, scimType));
}

/** The SCIM error of any failure: the use cases' ScimErrors as they are, the rest as the REST shims classify them. */
function answerError(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof ScimError) return sendError(reply, error.status, error.message, error.scimType);
  const failure = classifyInfrastructureError(error);
  if (failure.kind === 'BODY_TOO_LARGE') {
    const limit = request.routeOptions.url?.endsWith('/Bulk') ? `maxPayloadSize (${BULK_LIMITS.maxPayloadSize} bytes)` : 'the body limit';
    return sendError(reply, 413, `The request body exceeds ${limit}`);
  }
  const { status, message, retryAfter } = classifyRestError(error, request.log as unknown as Logger);
  const scimType = status === 400 ? (failure.kind === 'MALFORMED_REQUEST' ? 'invalidSyntax' : 'invalidValue') : undefined;
  return sendError(reply, status, message, scimType, retryAfter);
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * SCIM 2.0 (RFC 7644) under /scim/v2, for Okta and Microsoft Entra ID (contract section 10). Thin: authenticates
 * the SCIM token (JWTs are refused here, and SCIM tokens are not JWTs anywhere else), builds the request
 * context bound to the token's tenant, and hands bodies and query strings to src/services/scim.
 */
export async function scimRoutes(app: FastifyInstance, options: ScimRouteOptions): Promise<void> {
  const { admission, users, groups, bulk, tokens, contextDeps, baseUrl } = options;

  // Okta and Entra send application/scim+json; Okta's tests send application/json. Both as fastify parses JSON
  // (prototype poisoning refused), except that an empty body is no body: clients send a content type on DELETE too.
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(['application/json', 'application/scim+json'], { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    return json(request, body as string, done);
  });

  // Before the body is read: only an active SCIM token of an existing tenant gets in.
  app.addHook('onRequest', async (request, reply) => {
    const bearer = BEARER.exec(request.headers.authorization ?? '')?.[1];
    const token = bearer ? await tokens.authenticate(contextDeps.orm.em.fork(), bearer) : null;
    if (!token) {
      reply.header('www-authenticate', 'Bearer realm="scim"');
      reply.header('connection', 'close');
      return sendError(reply, 401, 'A valid SCIM token is required: Authorization: Bearer <SCIM token>');
    }
    request.ctx = createScimRequestContext(contextDeps, { requestId: String(request.id), tenantId: token.tenantId, tokenId: token.tokenId });
    // Like the other bulk routes (useBulkAdmission, which runs before the token is known here): held until the
    // response is sent, then released by its onResponse hook; a refusal is answered by the error handler.
    if (request.method === 'POST' && request.routeOptions.url?.endsWith('/Bulk')) {
      admission.open(request.ctx.em);
      const length = Number(request.headers['content-length']);
      if (Number.isFinite(length) && length > 0) admission.admit(request.ctx.em, token.tenantId, Math.ceil(length / BYTES_PER_PERSON));
    }
  });
  app.setErrorHandler((error, request, reply) => answerError(error, request, reply));
  app.setNotFoundHandler((_request, reply) => sendError(reply, 404, 'No such SCIM endpoint'));

  const listQuery = (request: FastifyRequest) => (request.query ?? {}) as ListQuery;
  const id = (request: FastifyRequest) => (request.params as { id: string }).id;
  const created = (reply: FastifyReply, resource: Record<string, unknown>) => {
    const location = (resource.meta as { location?: string } | undefined)?.location;
    if (location) reply.header('location', location);
    return send(reply, 201, resource);
  };

  app.get('/ServiceProviderConfig', async (_request, reply) => send(reply, 200, serviceProviderConfig(baseUrl)));
  app.get('/ResourceTypes', async (_request, reply) => {
    const all = resourceTypes(baseUrl);
    return send(reply, 200, { schemas: [SCHEMA.listResponse], totalResults: all.length, startIndex: 1, itemsPerPage: all.length, Resources: all });
  });
  app.get('/ResourceTypes/:id', async (request, reply) => {
    const found = resourceTypes(baseUrl).find((r) => r.id.toLowerCase() === id(request).toLowerCase());
    return found ? send(reply, 200, found) : sendError(reply, 404, 'No such resource type');
  });
  app.get('/Schemas', async (_request, reply) => {
    const all = schemas(baseUrl);
    return send(reply, 200, { schemas: [SCHEMA.listResponse], totalResults: all.length, startIndex: 1, itemsPerPage: all.length, Resources: all });
  });
  app.get('/Schemas/:id', async (request, reply) => {
    const found = schemas(baseUrl).find((s) => s.id.toLowerCase() === id(request).toLowerCase());
    return found ? send(reply, 200, found) : sendError(reply, 404, 'No such schema');
  });

  app.get('/Users', async (request, reply) => send(reply, 200, await users.list(request.ctx, listQuery(request))));
  app.post('/Users', async (request, reply) => created(reply, await users.create(request.ctx, request.body)));
  app.get('/Users/:id', async (request, reply) => send(reply, 200, await users.get(request.ctx, id(request), listQuery(request))));
  app.put('/Users/:id', async (request, reply) => send(reply, 200, await users.replace(request.ctx, id(request), request.body)));
  app.patch('/Users/:id', async (request, reply) => send(reply, 200, await users.patch(request.ctx, id(request), request.body)));
  app.delete('/Users/:id', async (request, reply) => {
    await users.removeScimMember(request.ctx, id(request));
    return reply.code(204).send();
  });

  app.get('/Groups', async (request, reply) => send(reply, 200, await groups.list(request.ctx, listQuery(request))));
  app.post('/Groups', async (request, reply) => created(reply, await groups.create(request.ctx, request.body)));
  app.get('/Groups/:id', async (request, reply) => send(reply, 200, await groups.get(request.ctx, id(request), listQuery(request))));
  app.put('/Groups/:id', async (request, reply) => send(reply, 200, await groups.replace(request.ctx, id(request), request.body)));
  // Entra ID and Okta both accept 204 for a group PATCH; the members list is not sent back (it may be huge).
  app.patch('/Groups/:id', async (request, reply) => {
    await groups.patch(request.ctx, id(request), request.body);
    return reply.code(204).send();
  });
  app.delete('/Groups/:id', async (request, reply) => {
    await groups.delete(request.ctx, id(request));
    return reply.code(204).send();
  });

  app.post('/Bulk', { bodyLimit: BULK_LIMITS.maxPayloadSize }, async (request, reply) => send(reply, 200, await bulk.run(request.ctx, request.body)));
}
