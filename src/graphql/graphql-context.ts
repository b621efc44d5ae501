import type { RequestContext } from '../context';

export interface GraphQLContext {
  ctx: RequestContext;
}
