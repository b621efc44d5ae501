/**
 * Uploads a file of people and follows the import to its end.
 *   npm run import -- people.csv [--send-email=false] [--url http://localhost:4000] [--token <jwt>]
 * The token may also come from BULK_INVITE_TOKEN. Exit code 0 when the import completed (even with failed rows),
 * 1 when it was refused, failed or was cancelled, 2 for a usage error.
 */
import { createReadStream, statSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { basename, extname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Presets, SingleBar } from 'cli-progress';

const POLL_MS = 500;
const ENDED = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

interface ImportJob {
  id: string;
  status: string;
  totalRows: number | null;
  processedRows: number;
  successful: number;
  failed: number;
  percent: number;
  error: string | null;
  resultsUrl: string | null;
}

class UsageError extends Error {}

/** What the command line got wrong (an unknown option, a missing value, no such file, not a URL) is a usage error. */
function usage<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function contentTypeOf(file: string): string {
  const ext = extname(file).toLowerCase();
  if (ext === '.csv') return 'text/csv';
  if (ext === '.ndjson' || ext === '.jsonl') return 'application/x-ndjson';
  throw new UsageError(`${basename(file)}: expected a .csv, .ndjson or .jsonl file`);
}

async function readJson(response: IncomingMessage): Promise<any> {
  let text = '';
  for await (const chunk of response) text += chunk;
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 500) };
  }
}

/** Streams the file to POST /imports with a progress bar of the bytes sent. */
function uploadFile(base: URL, token: string, file: string, query: URLSearchParams): Promise<{ status: number; body: any }> {
  const size = statSync(file).size;
  const url = new URL(`/imports?${query}`, base);
  const bar = new SingleBar({ format: 'Uploading  [{bar}] {percentage}% | {value}/{total} bytes', hideCursor: true }, Presets.shades_classic);
  bar.start(size, 0);
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': contentTypeOf(file), 'content-length': String(size) } }, (response) => {
      bar.stop();
      readJson(response).then((body) => resolve({ status: response.statusCode ?? 0, body }), reject);
    });
    req.on('error', (error) => {
      bar.stop();
      reject(error);
    });
    let sent = 0;
    createReadStream(file)
      .on('data', (chunk) => {
        sent += chunk.length;
        bar.update(sent);
      })
      .on('error', reject)
      .pipe(req);
  });
}

async function getJob(base: URL, token: string, id: string): Promise<ImportJob> {
  const response = await fetch(new URL(`/imports/${id}`, base), { headers: { authorization: `Bearer ${token}` } });
  const body = (await response.json()) as ImportJob & { message?: string };
  if (!response.ok) throw new Error(`GET /imports/${id} answered ${response.status}: ${body.message ?? ''}`);
  return body;
}

/** Follows the import with a progress bar of the processed rows until it ends. */
async function follow(base: URL, token: string, job: ImportJob): Promise<ImportJob> {
  const bar = new SingleBar({ format: 'Processing [{bar}] {percentage}% | {value}/{total} rows | {status}', hideCursor: true }, Presets.shades_classic);
  bar.start(job.totalRows ?? 0, job.processedRows, { status: job.status });
  try {
    while (!ENDED.has(job.status)) {
      await sleep(POLL_MS);
      job = await getJob(base, token, job.id);
      bar.update(job.processedRows, { status: job.status });
    }
  } finally {
    bar.stop();
  }
  return job;
}

async function main(): Promise<number> {
  const { values, positionals } = usage(() =>
    parseArgs({
      allowPositionals: true,
      options: {
        'send-email': { type: 'string', default: 'true' },
        url: { type: 'string', default: process.env.BULK_INVITE_URL ?? 'http://localhost:4000' },
        token: { type: 'string', default: process.env.BULK_INVITE_TOKEN },
        'redirect-url': { type: 'string' },
        message: { type: 'string' },
      },
    }),
  );
  if (positionals.length !== 1) throw new UsageError('usage: npm run import -- <people.csv|people.ndjson> [--send-email=false] [--url <base>] [--token <jwt>]');
  if (!values.token) throw new UsageError('a token is needed: --token <jwt> or BULK_INVITE_TOKEN (npm run token prints one)');
  if (!['true', 'false'].includes(values['send-email']!)) throw new UsageError('--send-email must be true or false');
  const file = positionals[0];
  contentTypeOf(file);
  usage(() => statSync(file));
  const base = usage(() => new URL(values.url!));
  const query = new URLSearchParams({ sendEmail: values['send-email']! });
  if (values['redirect-url']) query.set('redirectUrl', values['redirect-url']);
  if (values.message) query.set('message', values.message);

  const uploaded = await uploadFile(base, values.token, file, query);
  if (uploaded.status !== 202) {
    console.error(`The import was refused (${uploaded.status}): ${uploaded.body?.message ?? 'no reason given'}`);
    return 1;
  }
  console.log(`Import ${uploaded.body.id}: ${uploaded.body.totalRows} rows stored; processing…`);
  const job = await follow(base, values.token, uploaded.body as ImportJob);
  console.log(`Import ${job.id} ${job.status}: ${job.processedRows} of ${job.totalRows} rows processed, ${job.successful} invited, ${job.failed} failed.`);
  if (job.error) console.log(`Reason: ${job.error}`);
  const results = new URL(job.resultsUrl ?? `/imports/${job.id}/results`, base);
  console.log(`Results (one line per row): curl -H "Authorization: Bearer $BULK_INVITE_TOKEN" ${results}   (JSON Lines: add -H "Accept: application/x-ndjson")`);
  return job.status === 'COMPLETED' ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    console.error(error instanceof UsageError ? error.message : `import failed: ${error.message}`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
