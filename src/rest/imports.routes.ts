import { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppConfig } from '../config';
import { refuseLargeAnonymousBodies } from '../http/anonymous-body-limit';
import type { Logger } from '../logger';
import { DomainError } from '../services/errors';
import type { ImportFormat } from '../services/imports/import-file';
import type { InviteImportService } from '../services/imports/invite-import.service';
import { formatResult, resultsHeader, type ResultsFormat } from '../services/imports/results-format';
import { classifyRestError, sendError } from './error-envelope';
import { idempotencyKeyOf, useStrictValidation } from './rest-support';

const MEDIA_TYPES: Record<string, ImportFormat> = { 'text/csv': 'csv', 'application/x-ndjson': 'ndjson' };

const ImportQuery = Type.Object(
  {
    sendEmail: Type.Optional(Type.Boolean({ default: true, description: 'Send the invitation emails (default true).' })),
    redirectUrl: Type.Optional(Type.String({ description: 'Where the accept page sends each person afterwards (allow-listed).' })),
    message: Type.Optional(Type.String({ description: 'Personal note for the invitation emails (at most 2,000 characters).' })),
  },
  { additionalProperties: false },
);

const ImportParams = Type.Object({ id: Type.String({ description: 'The import id.' }) });

const ERROR = { description: '`{ "statusCode": <status>, "message": "<reason>" }`' };

const NDJSON_TYPES = new Set(['application/x-ndjson', 'application/ndjson', 'application/jsonl']);

/**
 * CSV unless `Accept` names JSON Lines with a higher quality than CSV: `text/csv, application/x-ndjson;q=0` or
 * `application/x-ndjson;q=0.1, text/csv` still ask for CSV.
 */
export function resultsFormatFor(accept: string | undefined): ResultsFormat {
  let ndjson = 0;
  let csv = 0;
  for (const entry of (accept ?? '').split(',')) {
    const [type, ...params] = entry.split(';').map((part) => part.trim().toLowerCase());
    const q = params.find((p) => /^q\s*=/.test(p));
    const quality = q === undefined ? 1 : Number(q.replace(/^q\s*=\s*/, '')) || 0;
    if (NDJSON_TYPES.has(type)) ndjson = Math.max(ndjson, quality);
    else if (type === 'text/csv') csv = Math.max(csv, quality);
  }
  return ndjson > 0 && ndjson > csv ? 'ndjson' : 'csv';
}

/**
 * Async imports (contract section 9). The upload's body is never parsed by Fastify: the route's content-type
 * parsers hand the raw stream to the service, which stores it row by row as it arrives, so the 1 MiB body limit
 * of the other routes does not apply here and IMPORT_MAX_BYTES does instead (413 as soon as it is passed).
 */
export async function importRoutes(app: FastifyInstance, options: { imports: InviteImportService; config: AppConfig }) {
  const { imports, config } = options;
  useStrictValidation(app);
  app.setErrorHandler((error, request, reply) => {
    if (request.raw.socket?.destroyed || reply.raw.destroyed) {
      // The client went away mid-upload: the upload's transaction was rolled back and there is no one to answer.
      request.log.info({ err: error }, 'import upload aborted by the client');
      return;
    }
    const { status, message, retryAfter } = classifyRestError(error, request.log as unknown as Logger);
    // A refused upload is answered before its body has been read: the connection closes instead of reading the rest.
    if (request.method === 'POST') reply.header('connection', 'close');
    return sendError(reply, status, { statusCode: status, message }, retryAfter);
  });
  refuseLargeAnonymousBodies(app);
  // The raw body, unread: the service streams it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(Object.keys(MEDIA_TYPES), (_request, payload, done) => done(null, payload));

  app.post(
    '/imports',
    {
      bodyLimit: config.imports.maxBytes,
      schema: {
        // Documented in docs/api.md: the OpenAPI document describes the JSON endpoints (its tests hold them to named JSON schemas).
        hide: true,
        summary: 'Upload a file of people to invite (CSV with a header row, or JSON Lines); processed asynchronously',
        tags: ['imports'],
        querystring: ImportQuery,
        headers: { type: 'object', properties: { 'idempotency-key': { type: 'string', description: 'The same key again replays the first import (or 409 with another file).' } } },
        response: {
          202: { description: 'The import was stored and queued; `Location` is its URL. Body: the import.', type: 'object', additionalProperties: true },
          400: ERROR,
          401: ERROR,
          403: ERROR,
          409: ERROR,
          413: ERROR,
          415: ERROR,
        },
      },
      preValidation: async (request) => {
        // Before a byte of the body is read: a declared length over the limit is refused at once.
        const declared = Number(request.headers['content-length']);
        if (Number.isFinite(declared) && declared > config.imports.maxBytes) {
          throw new DomainError('TOO_MANY_USERS', `The file is larger than ${config.imports.maxBytes} bytes (IMPORT_MAX_BYTES)`);
        }
      },
    },
    async (request, reply) => {
      const mediaType = String(request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      const query = request.query as { sendEmail?: boolean; redirectUrl?: string; message?: string };
      const { view } = await imports.startImport(
        request.ctx,
        { format: MEDIA_TYPES[mediaType], sendEmail: query.sendEmail, redirectUrl: query.redirectUrl, message: query.message, idempotencyKey: idempotencyKeyOf(request) },
        request.body as Readable,
      );
      return reply.code(202).header('location', `/imports/${view.id}`).send(view);
    },
  );

  app.get(
    '/imports/:id',
    { schema: { hide: true, summary: 'An import and its progress', tags: ['imports'], params: ImportParams, response: { 200: { description: 'The import.', type: 'object', additionalProperties: true }, 404: ERROR } } },
    async (request: FastifyRequest, reply: FastifyReply) => {
      const view = await imports.getImport(request.ctx, (request.params as { id: string }).id);
      if (!view) throw new DomainError('NOT_FOUND', 'No such import');
      return reply.send(view);
    },
  );

  app.get(
    '/imports/:id/results',
    {
      schema: {
        hide: true,
        summary: 'One line per row of the file, in file order: CSV, or JSON Lines with `Accept: application/x-ndjson`',
        tags: ['imports'],
        params: ImportParams,
        response: { 200: { description: 'Columns row, line, email, outcome, code, message, userId, invitationId.' }, 404: ERROR },
      },
    },
    async (request: FastifyRequest, reply: FastifyReply) => {
      const id = (request.params as { id: string }).id;
      const format = resultsFormatFor(request.headers.accept);
      const pages = await imports.openResults(request.ctx, id);
      // Page by page as the client reads: a million rows stream without being held in memory.
      const lines = (async function* () {
        const header = resultsHeader(format);
        if (header) yield header;
        for await (const page of pages) yield page.map((row) => formatResult(row, format)).join('');
      })();
      return reply
        .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="import-${id.toLowerCase()}-results.${format === 'csv' ? 'csv' : 'ndjson'}"`)
        .send(Readable.from(lines));
    },
  );
}
