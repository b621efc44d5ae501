import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/**
 * package.json says `UNLICENSED`: npm's word for proprietary code that may not be used without permission. OpenAPI
 * wants a license name; spell out what it means for readers of the document.
 */
const LICENSE = { name: 'UNLICENSED: proprietary, all rights reserved' };

/** OpenAPI 3 generated from the REST routes' own schemas; must be registered before those routes. */
export async function registerOpenApi(app: FastifyInstance, publicUrl: string) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Bulk invite service: REST compatibility endpoints',
        version: '1.0.0',
        description:
          'Two wire formats of existing products, computed by the same code as the GraphQL `bulkInviteUsers` mutation. ' +
          'Send `Authorization: Bearer <JWT>` (in development `npm run token` mints one; the server prints a demo token at startup). ' +
          "Both act in the token's tenant. The examples work as they are in \"Try it out\" once you have pressed Authorize.",
        license: LICENSE,
      },
      // First the origin the document was read from (a relative URL), which Swagger UI's "Try it out" uses: it is
      // same-origin whatever host name the browser used (the service sends no CORS headers). Then PUBLIC_URL, the
      // absolute base for generated clients.
      servers: [
        { url: '/', description: 'The server this document was read from' },
        { url: publicUrl, description: 'PUBLIC_URL of the server that generated this document' },
      ],
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
    hideUntagged: true,
    // Named schemas (src/rest/*.routes.ts, added with an `$id`) appear under components.schemas by that name rather
    // than as def-0, def-1, ..., so generated clients get meaningful type names.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: false } });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
