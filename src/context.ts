import { randomUUID } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Permission, TokenVerifier, Viewer } from './auth/jwt';
import type { TenantDirectory } from './auth/tenant-directory';
import type { Logger } from './logger';
import { DomainError } from './services/errors';

/**
 * Built once per request, used by GraphQL resolvers and REST handlers alike. The EntityManager is a fork
 * whose `tenant` filter is bound to the token's tenant: tenant data of any other tenant is unreachable.
 */
export class RequestContext {
  constructor(
    readonly requestId: string,
    readonly em: EntityManager,
    readonly log: Logger,
    private readonly viewerOrError: Viewer | null | DomainError,
  ) {}

  get viewer(): Viewer | null {
    return this.viewerOrError instanceof DomainError ? null : this.viewerOrError;
  }

  /** The authenticated viewer; UNAUTHENTICATED when the token is missing or invalid. */
  requireViewer(): Viewer {
    if (this.viewerOrError instanceof DomainError) throw this.viewerOrError;
    if (!this.viewerOrError) throw new DomainError('UNAUTHENTICATED', 'Authorization: Bearer <JWT> is required');
    return this.viewerOrError;
  }

  /** Asserts one of `permissions` and returns the viewer's tenant. */
  requireTenantPermission(...permissions: Permission[]): string {
    const viewer = this.requirePermission(...permissions);
    if (!viewer.tenantId) throw new DomainError('FORBIDDEN', 'This token does not act in a tenant');
    return viewer.tenantId;
  }

  requirePermission(...permissions: Permission[]): Viewer {
    const viewer = this.requireViewer();
    if (!permissions.some((permission) => viewer.permissions.has(permission))) {
      throw new DomainError('FORBIDDEN', `Missing permission: ${permissions.join(' or ')}`);
    }
    return viewer;
  }
}

export interface ContextFactoryDeps {
  orm: MikroORM;
  verifier: TokenVerifier;
  tenants: TenantDirectory;
  log: Logger;
}

export async function createRequestContext(
  deps: ContextFactoryDeps,
  request: { authorization?: string; requestId?: string },
): Promise<RequestContext> {
  const requestId = request.requestId ?? randomUUID();
  let viewer: Viewer | null | DomainError;
  try {
    viewer = deps.verifier.verify(request.authorization);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    viewer = error;
  }
  if (!(viewer instanceof DomainError) && viewer?.tenantId && !(await tenantExists(deps, viewer.tenantId))) {
    viewer = new DomainError('UNAUTHENTICATED', 'Invalid token: the tenant does not exist');
  }
  const em = deps.orm.em.fork({ clear: true, loggerContext: { requestId } });
  if (!(viewer instanceof DomainError) && viewer?.tenantId) {
    em.setFilterParams('tenant', { tenantId: viewer.tenantId });
  }
  return new RequestContext(requestId, em, deps.log.child({ requestId }), viewer);
}

/** When the lookup itself fails (database down), the request goes on and meets the outage where it is handled. */
async function tenantExists(deps: ContextFactoryDeps, tenantId: string): Promise<boolean> {
  try {
    return await deps.tenants.exists(tenantId);
  } catch (error) {
    deps.log.warn({ err: error }, 'tenant lookup failed');
    return true;
  }
}

/** Permissions a SCIM token acts with in its tenant: it provisions members and groups, nothing else reaches it. */
const SCIM_PERMISSIONS: ReadonlySet<string> = new Set<Permission>(['tenant:admin']);

/**
 * The request context of a request authenticated by a SCIM token (src/scim): the same shape as a JWT's, bound
 * to the token's tenant; the viewer's id names the token (`invitedBy` of the members it creates).
 */
export function createScimRequestContext(deps: ContextFactoryDeps, request: { requestId: string; tenantId: string; tokenId: string }): RequestContext {
  const em = deps.orm.em.fork({ clear: true, loggerContext: { requestId: request.requestId } });
  em.setFilterParams('tenant', { tenantId: request.tenantId });
  const viewer: Viewer = { userId: `scim-token:${request.tokenId}`, tenantId: request.tenantId, permissions: SCIM_PERMISSIONS };
  return new RequestContext(request.requestId, em, deps.log.child({ requestId: request.requestId }), viewer);
}
