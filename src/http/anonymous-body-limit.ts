import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../services/errors';

/** The most an endpoint that needs a bearer token reads of a request that has none (or an invalid one). */
export const ANONYMOUS_BODY_LIMIT_BYTES = 64 * 1024;

const watched = new WeakSet<FastifyRequest>();

/**
 * Endpoints that need a bearer token refuse a request without a valid one whose body is over 64 KiB, with 401,
 * before its body is parsed (OWASP API4): an anonymous caller cannot make the process buffer and parse megabytes.
 * A declared `content-length` is judged in `onRequest`, before a byte of the body is read; a chunked body is
 * read up to the limit and refused there. Small anonymous requests (GraphQL's `acceptInvitation`) go on as
 * usual and meet the endpoint's own authentication. The refusal closes the connection, so the rest of the body
 * is never read either.
 *
 * `send` renders the refusal in the scope's format; by default the scope's error handler does.
 * Register on the scope of the endpoints concerned, after the request context (`useRequestContext`).
 */
export function refuseLargeAnonymousBodies(
  scope: FastifyInstance,
  send: (reply: FastifyReply, error: DomainError) => unknown = (reply, error) => reply.send(error),
  limitBytes = ANONYMOUS_BODY_LIMIT_BYTES,
): void {
  const refusal = (request: FastifyRequest): DomainError | undefined => {
    try {
      request.ctx.requireViewer();
      return undefined;
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return new DomainError('UNAUTHENTICATED', `${error.message} (a request without a valid bearer token may carry at most ${limitBytes} bytes)`);
    }
  };
  const refuse = (reply: FastifyReply, error: DomainError) => {
    reply.header('connection', 'close');
    send(reply, error);
    return reply;
  };

  scope.addHook('onRequest', async (request, reply) => {
    const declared = request.headers['content-length'];
    if (declared === undefined && request.headers['transfer-encoding'] === undefined) return; // no body
    if (declared !== undefined && !(Number(declared) > limitBytes)) return;
    const error = refusal(request);
    if (!error) return;
    if (declared !== undefined) return refuse(reply, error);
    watched.add(request); // chunked: judged in preParsing, as it arrives
  });

  scope.addHook('preParsing', async (request, reply, payload) => {
    if (!watched.has(request)) return payload;
    const chunks = await readAtMost(payload, limitBytes);
    if (chunks) return Readable.from(chunks, { objectMode: false });
    refuse(reply, refusal(request)!);
    return payload;
  });
}

/** The whole body when it is at most `limit` bytes; otherwise null, and the stream is left paused. */
function readAtMost(payload: NodeJS.ReadableStream, limit: number): Promise<Buffer[] | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onError);
    };
    const onData = (chunk: Buffer | string) => {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buffer.length;
      if (size > limit) {
        cleanup();
        payload.pause();
        resolve(null);
        return;
      }
      chunks.push(buffer);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks);
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
  });
}
