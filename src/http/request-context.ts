import type { FastifyInstance } from 'fastify';
import { createRequestContext, type ContextFactoryDeps, type RequestContext } from '../context';

declare module 'fastify' {
  interface FastifyRequest {
    /** The one request context every adapter hands to the services (GraphQL, REST shims, pages). */
    ctx: RequestContext;
  }
}

/** Builds the request context once per request, before any route runs. Register on the root instance. */
export function useRequestContext(app: FastifyInstance, deps: ContextFactoryDeps): void {
  app.decorateRequest('ctx', null as unknown as RequestContext);
  app.addHook('onRequest', async (request) => {
    request.ctx = await createRequestContext(deps, { authorization: request.headers.authorization, requestId: String(request.id) });
  });
}
