import type { ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import type { FastifyReply } from 'fastify';
import { httpStatusOf } from '../rest/error-envelope';
import { DomainError } from '../services/errors';
import { graphqlCodeOf } from './format-error';

/** A request refused before GraphQL runs (admission by Content-Length): the same error shape Apollo would send. */
export function sendGraphQLRefusal(reply: FastifyReply, error: DomainError): FastifyReply {
  const retryAfterSeconds = error.details.retryAfterSeconds;
  if (retryAfterSeconds !== undefined) reply.header('retry-after', String(retryAfterSeconds));
  return reply
    .code(httpStatusOf(error.kind))
    .type('application/json')
    .send({ errors: [{ message: error.message, extensions: { code: graphqlCodeOf(error.kind), ...(retryAfterSeconds !== undefined && { retryAfterSeconds }) } }] });
}

/**
 * An operation refused as a whole by a rate limit or by admission (no data) answers like the REST shims do:
 * 429 (tenant's budget) or 503 (process busy) with `Retry-After`, so HTTP clients and proxies back off too.
 * The body is the usual GraphQL error with `extensions.code` RATE_LIMITED and `retryAfterSeconds`.
 */
export const refusalStatus: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async willSendResponse({ response, errors }) {
        if (response.body.kind !== 'single' || response.body.singleResult.data || !errors?.length) return;
        const refusal = errors.map((e) => unwrapResolverError(e)).find((e): e is DomainError => e instanceof DomainError && (e.kind === 'RATE_LIMITED' || e.kind === 'OVERLOADED'));
        if (!refusal) return;
        response.http.status = httpStatusOf(refusal.kind);
        if (refusal.details.retryAfterSeconds !== undefined) response.http.headers.set('retry-after', String(refusal.details.retryAfterSeconds));
      },
    };
  },
};
