import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import fastifyApollo, { fastifyApolloDrainPlugin } from '@as-integrations/fastify';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import helmet from '@fastify/helmet';
import { MaxTokensParserWLexer } from '@escape.tech/graphql-armor-max-tokens';
import type { MikroORM } from '@mikro-orm/postgresql';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { createTokenVerifier } from './auth/jwt';
import { TenantDirectory } from './auth/tenant-directory';
import type { AppConfig } from './config';
import type { ContextFactoryDeps } from './context';
import type { Logger } from './logger';
import { graphileEmailQueue } from './mail/email-queue';
import { formatGraphQLError } from './graphql/format-error';
import { buildGraphQLSchema } from './graphql/schema';
import { useRequestContext } from './http/request-context';
import { BulkInviteService } from './services/bulk-invite';
import type { RequestContext } from './context';
import { InvitationService } from './services/invitation.service';
import { BulkInviteRateLimiter, ReadRateLimiter, TenantBudgets } from './http/rate-limiter';
import { refuseLargeAnonymousBodies } from './http/anonymous-body-limit';
import { operationLimitsPlugin } from './graphql/operation-limits';
import { MAX_PAGE_SIZE } from './services/invitation.service';
import { BulkAdmission, guards, useBulkAdmission } from './http/admission';
import { refusalStatus, sendGraphQLRefusal } from './graphql/refusal';
import { RequestLogController, metrics, registerObservability } from './http/observability';
import { acceptPageRoutes } from './pages/accept-page.routes';
import { aptlydoneRoutes } from './rest/aptlydone.routes';
import { devMailboxRoutes } from './dev/dev-mailbox.routes';
import { localExplorerRoutes, withLocalExplorerLink } from './dev/local-explorer';
import { registerOpenApi } from './rest/openapi';
import { royaltiRoutes } from './rest/royalti.routes';
import { scimRoutes } from './scim/scim.routes';
import { ScimBulkService } from './services/scim/scim-bulk.service';
import { ScimGroupService } from './services/scim/scim-groups.service';
import { ScimTokenAuthenticator } from './services/scim/scim-token.service';
import { ScimUserService } from './services/scim/scim-users.service';
import { postmarkWebhookRoutes } from './rest/postmark-webhook.routes';
import { EventLogService } from './services/events';
import { WebhookEndpointService } from './services/webhooks/webhook-endpoint.service';
import { SecretBox } from './services/webhooks/secrets';
import { targetPolicy } from './services/webhooks/target-guard';
import { importRoutes } from './rest/imports.routes';
import { graphileImportQueue } from './imports/import-queue';
import { InviteImportService } from './services/imports/invite-import.service';

export interface Services {
  bulkInvites: BulkInviteService;
  /** People in flight in heavy bulk requests (src/http/admission.ts), shared by the HTTP hook and the service. */
  admission: BulkAdmission;
  invitations: InvitationService;
  eventLog: EventLogService;
  webhookEndpoints: WebhookEndpointService;
  scim: ScimServices;
  imports: InviteImportService;
}

/** SCIM provisioning (src/services/scim): its writes pass the bulk invites' guard (people in flight, per-minute budget). */
export interface ScimServices {
  users: ScimUserService;
  groups: ScimGroupService;
  bulk: ScimBulkService;
  tokens: ScimTokenAuthenticator;
}

export interface App {
  config: AppConfig;
  orm: MikroORM;
  server: FastifyInstance;
  services: Services;
  contextDeps: ContextFactoryDeps;
  close(): Promise<void>;
}

const MAX_DOCUMENT_TOKENS = 5000;
/** A list costs its selection times `first`: a full 500-item page of invitations costs about 13,000. */
const MAX_QUERY_COST = 20_000;
const REFUSED_DOCUMENT_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT']);

/** A document refused before execution is the client's fault: 400, whichever stage (armor's token limit runs while parsing) refused it. */
const refusedDocumentStatus: ApolloServerPlugin<RequestContext> = {
  async requestDidStart() {
    return {
      async willSendResponse({ response, errors }) {
        if (response.body.kind !== 'single' || response.body.singleResult.data !== undefined || !errors?.length) return;
        const codes = response.body.singleResult.errors?.map((e) => e.extensions?.code) ?? [];
        if (codes.length && codes.every((code) => REFUSED_DOCUMENT_CODES.has(String(code)))) response.http.status = 400;
      },
    };
  },
};

export function createServices(config: AppConfig, orm: MikroORM): Services {
  const admission = new BulkAdmission(config.admission);
  // People in flight in this process first (cheap, and released on refusal), then the budgets shared in PostgreSQL.
  const guard = guards(admission, new BulkInviteRateLimiter(new TenantBudgets(orm), config.rateLimit));
  // SCIM writes count their people (BULK_INVITE_USERS_PER_MINUTE) but not as bulk requests: an identity provider
  // sends one request per change, and an initial import would otherwise exhaust BULK_INVITE_RATE_LIMIT at once.
  const scimGuard = guards(admission, new BulkInviteRateLimiter(new TenantBudgets(orm), { ...config.rateLimit, bulkRequestsPerWindow: 0 }));
  const scimBaseUrl = `${config.publicUrl}/scim/v2`;
  const scimUsers = new ScimUserService(scimGuard, scimBaseUrl);
  const scimGroups = new ScimGroupService(scimGuard, scimBaseUrl);
  return {
    scim: { users: scimUsers, groups: scimGroups, bulk: new ScimBulkService(scimUsers, scimGroups), tokens: new ScimTokenAuthenticator() },
    admission,
    bulkInvites: new BulkInviteService(config, graphileEmailQueue, guard, {
      finished(outcome) {
        const byCode = new Map<string, number>();
        for (const r of outcome.results) {
          const code = r.kind === 'invited' ? 'INVITED' : r.failure.code;
          byCode.set(code, (byCode.get(code) ?? 0) + 1);
        }
        for (const [code, n] of byCode) metrics.bulkInviteResults.inc({ code }, n);
      },
    }),
    invitations: new InvitationService(config, graphileEmailQueue),
    eventLog: new EventLogService(),
    webhookEndpoints: new WebhookEndpointService(targetPolicy(config), new SecretBox(config.webhooks.secretKey)),
    imports: new InviteImportService(config, graphileImportQueue(config)),
  };
}

export async function buildApp(options: { config: AppConfig; orm: MikroORM; log: Logger }): Promise<App> {
  const { config, orm, log } = options;
  const services = createServices(config, orm);
  const contextDeps: ContextFactoryDeps = { orm, verifier: createTokenVerifier(config.jwt), tenants: new TenantDirectory(orm), log };

  const server = Fastify({
    loggerInstance: log as unknown as FastifyBaseLogger,
    bodyLimit: config.bodyLimitBytes,
    requestTimeout: config.requestTimeoutMs,
    logController: new RequestLogController(contextDeps.verifier),
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : randomUUID();
    },
  });

  // One request context per request, for GraphQL, the REST shims and the pages alike.
  useRequestContext(server, contextDeps);
  // Heavy bulk requests are admitted by Content-Length before their bodies are read (needs the request context).
  const rethrow = (_reply: unknown, error: Error): never => {
    throw error; // the REST shims' error handlers answer in their own envelopes
  };
  useBulkAdmission(server, services.admission, { '/graphql': sendGraphQLRefusal, '/auth/v1/user/bulk-invite': rethrow, '/user/bulk': rethrow });

  const schema = await buildGraphQLSchema(services);
  const plugins: ApolloServerPlugin<RequestContext>[] = [
    fastifyApolloDrainPlugin(server),
    config.isProduction
      ? ApolloServerPluginLandingPageDisabled()
      : withLocalExplorerLink(ApolloServerPluginLandingPageLocalDefault({ embed: true, footer: false })),
    refusedDocumentStatus,
    refusalStatus as ApolloServerPlugin<RequestContext>,
    // Page sizes, the cost limit (with variable values) and the tenant's read budget, before any resolver runs.
    operationLimitsPlugin({ maxPageSize: MAX_PAGE_SIZE, maxCost: MAX_QUERY_COST, reads: new ReadRateLimiter(new TenantBudgets(orm), config.rateLimit) }),
  ];
  // Abusive documents are refused during validation, before any resolver runs. Introspection (Sandbox) is exempt
  // from the depth limit; big invites belong in variables, which these limits do not count (the cost limit does).
  const armor = new ApolloArmor({
    maxDepth: { n: 8, ignoreIntrospection: true },
    maxAliases: { n: 15 },
    maxDirectives: { n: 20 },
    // Priced in operationLimitsPlugin instead: armor's rule runs before variables are known.
    costLimit: { enabled: false },
    // Counted in a preHandler below: armor's own token check throws from a parsing hook, which Apollo answers with 500.
    maxTokens: { enabled: false },
    blockFieldSuggestion: { enabled: config.isProduction },
  }).protect();
  const apollo = new ApolloServer<RequestContext>({
    schema,
    plugins: [...(armor.plugins as ApolloServerPlugin<RequestContext>[]), ...plugins],
    validationRules: armor.validationRules,
    allowBatchedHttpRequests: false,
    introspection: !config.isProduction,
    includeStacktraceInErrorResponses: false,
    formatError: formatGraphQLError(log),
  });
  await apollo.start();

  // Pages set their own strict Content-Security-Policy (src/rest/html.ts); Sandbox and /docs load their own assets.
  await server.register(helmet, { contentSecurityPolicy: false, crossOriginEmbedderPolicy: false });
  await registerObservability(server, { orm, log });

  server.get('/health', async (_request, reply) => {
    try {
      await orm.em.getConnection().execute('select 1');
      return { status: 'ok' };
    } catch (error) {
      log.warn({ err: error }, 'health check: database unavailable');
      return reply.code(503).send({ status: 'unavailable' });
    }
  });

  await server.register(async (graphql) => {
    graphql.setErrorHandler((error: Error & { code?: string; statusCode?: number }, _request, reply) => {
      const tooLarge = error.code === 'FST_ERR_CTP_BODY_TOO_LARGE';
      const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
      if (status >= 500) log.error({ err: error }, 'GraphQL transport error');
      return reply.code(status).send({
        errors: [
          {
            message: tooLarge ? `Request body is larger than ${config.bodyLimitBytes} bytes` : status >= 500 ? 'Internal server error' : error.message,
            extensions: { code: status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'BAD_USER_INPUT' },
          },
        ],
      });
    });
    refuseLargeAnonymousBodies(graphql, (reply, error) =>
      reply.code(401).send({ errors: [{ message: error.message, extensions: { code: 'UNAUTHENTICATED' } }] }),
    );
    graphql.addHook('preHandler', async (request, reply) => {
      const source = request.method === 'GET' ? (request.query as { query?: unknown })?.query : (request.body as { query?: unknown } | null)?.query;
      if (typeof source !== 'string') return;
      try {
        new MaxTokensParserWLexer(source, { n: MAX_DOCUMENT_TOKENS }).parseDocument();
      } catch (error) {
        if (!/Token limit/.test((error as Error).message)) return; // plain syntax errors are Apollo's to report
        return reply.code(400).send({ errors: [{ message: `Documents are limited to ${MAX_DOCUMENT_TOKENS} tokens; pass large inputs as variables`, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] });
      }
    });
    await graphql.register(fastifyApollo(apollo), {
      context: async (request) => request.ctx,
    });
  });

  await registerOpenApi(server, config.publicUrl);
  await server.register(aptlydoneRoutes, { bulkInvites: services.bulkInvites });
  await server.register(royaltiRoutes, { bulkInvites: services.bulkInvites });
  await server.register(scimRoutes, { prefix: '/scim/v2', ...services.scim, admission: services.admission, contextDeps, baseUrl: `${config.publicUrl}/scim/v2` });
  await server.register(postmarkWebhookRoutes, { postmark: config.postmark });
  await server.register(importRoutes, { imports: services.imports, config });
  await server.register(acceptPageRoutes, { config, invitations: services.invitations });
  if (!config.isProduction) await server.register(devMailboxRoutes, { orm });
  if (!config.isProduction) await server.register(localExplorerRoutes);

  let closed = false;
  return {
    config,
    orm,
    server,
    services,
    contextDeps,
    async close() {
      if (closed) return;
      closed = true;
      await server.close();
    },
  };
}
