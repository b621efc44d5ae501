/**
 * The async import section of `npm run bench`: N CSV rows (each with a role, a primary group and a position)
 * uploaded to a server process and processed by a worker process, on a database of their own that already holds
 * another tenant's rows (analyzed, as a database in use is). Reports the upload and processing rates, the
 * end-to-end users/s, both processes' peak RSS, and the results file streamed back (its lines, the time to read it
 * and how much the server's peak RSS grew meanwhile). With `sendEmail: true` the worker also sends the emails to a
 * fake Postmark, and the run waits for the queue to drain and counts messages, calls and distinct recipients.
 *   npm run bench -- --imports-only --import-rows=100000
 */
import { readFileSync } from 'node:fs';
import { Client } from 'pg';
import { mintToken } from '../src/auth/jwt';
import { createOrm, migrate } from '../src/db/orm';
import { Group, Position, Role, Tenant } from '../src/entities';
import { createLogger } from '../src/logger';
import { FakePostmark } from '../test/helpers/fake-postmark';
import { freePort, spawnEntry, type Spawned } from '../test/helpers/processes';
import { floorRun, seedTenant } from './run';
import { BENCH_SECRET, NO_BUDGETS } from './settings';

const SECRET = BENCH_SECRET;
const POLL_MS = 250;
/** IMPORT_CHUNK_ROWS's default (src/config.ts), for the report. */
const DEFAULT_CHUNK_ROWS = 5000;

export interface ImportBenchResult {
  rows: number;
  uploadSeconds: number;
  processingSeconds: number;
  totalSeconds: number;
  /** Rows per second from the start of the upload to the import's completion. */
  usersPerSecond: number;
  processingUsersPerSecond: number;
  successful: number;
  failed: number;
  apiPeakRssMb: number;
  workerPeakRssMb: number;
  resultsLines: number;
  resultsSeconds: number;
  /** How much the server's peak RSS rose while it streamed the results file. */
  resultsRssGrowthMb: number;
  chunkRows: number;
  sendEmail: boolean;
  /** With sendEmail: the emails the fake Postmark accepted, in how many batch calls, to how many recipients. */
  emails?: { accepted: number; distinctRecipients: number; batchCalls: number; drainSeconds: number };
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

/** The file, generated as it is sent: the bench never holds it either. */
async function* csvFile(rows: number, run: string, catalog: { role: string; group: string; position: string }) {
  yield new TextEncoder().encode('email,firstName,lastName,role,groupIds,primaryGroupId,positionIds\n');
  const batch = 5_000;
  for (let start = 0; start < rows; start += batch) {
    let text = '';
    for (let i = start; i < Math.min(rows, start + batch); i++) {
      text += `${run}-${i}@bench.example.com,Bench,User ${i},${catalog.role},${catalog.group},${catalog.group},${catalog.position}\n`;
    }
    yield new TextEncoder().encode(text);
  }
}

function toStream(source: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  return new ReadableStream({
    async pull(controller) {
      const { value, done } = await iterator.next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
  });
}

export async function runImportBench(
  serverUrl: string,
  rows: number,
  options: { sendEmail?: boolean } = {},
): Promise<ImportBenchResult> {
  const sendEmail = options.sendEmail === true;
  const log = createLogger('warn');
  const name = `bulk_invite_bench_imports_${Date.now()}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  const url = Object.assign(new URL(serverUrl), { pathname: `/${name}` }).toString();
  const processes: Spawned[] = [];
  const postmark = new FakePostmark();
  const postmarkUrl = sendEmail ? await postmark.start() : undefined;
  const db = new Client({ connectionString: url });
  try {
    const orm = await createOrm(url);
    await migrate(orm, url, log);
    const em = orm.em.fork();
    const tenant = em.create(Tenant, { name: 'Import bench' });
    em.create(Role, { tenant, name: 'Member' });
    const group = em.create(Group, { tenant, name: 'Main' });
    const position = em.create(Position, { tenant, title: 'Staff' });
    await em.flush();
    await orm.close();
    await db.connect();
    // The other tenant's invitations went out long ago: the worker has nothing of theirs to send.
    await floorRun(db, await seedTenant(url, 'Other tenant'), 20_000, 'public');
    await db.query(`update invitation set email_status = 'SENT', email_next_attempt_at = null`);
    await db.query('analyze');

    const common = {
      NODE_ENV: 'test',
      DATABASE_URL: url,
      JWT_SECRET: SECRET,
      ...NO_BUDGETS,
      IMPORT_MAX_ROWS: String(Math.max(rows, 1_000_000)),
      LOG_LEVEL: 'warn',
      ...(process.env.IMPORT_CHUNK_ROWS ? { IMPORT_CHUNK_ROWS: process.env.IMPORT_CHUNK_ROWS } : {}),
      ...(postmarkUrl ? { POSTMARK_SERVER_TOKEN: 'test-token', POSTMARK_API_URL: postmarkUrl, EMAIL_POLL_INTERVAL_MS: '100' } : {}),
    };
    const port = await freePort();
    const api = spawnEntry('src/main.ts', { ...common, PORT: String(port), RUN_WORKER: 'false' });
    processes.push(api);
    await api.waitFor(/Bulk invite service ready/, 120_000);
    const base = `http://127.0.0.1:${port}`;
    const token = mintToken({ secret: SECRET, subject: 'bench', tenantId: tenant.id, permissions: ['users:invite', 'users:read'], expiresInSeconds: 24 * 3600 });
    const auth = { authorization: `Bearer ${token}` };

    const started = performance.now();
    const response = await fetch(`${base}/imports?sendEmail=${sendEmail}`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/csv' },
      body: toStream(csvFile(rows, `imp${Date.now()}`, { role: 'Member', group: group.id, position: position.id })),
      duplex: 'half',
    } as RequestInit);
    const job = (await response.json()) as { id: string; totalRows: number; message?: string };
    if (response.status !== 202) throw new Error(`upload refused (${response.status}): ${job.message}`);
    const uploaded = performance.now();

    // The worker starts once the upload is stored, so that the upload and the processing are measured apart.
    const worker = spawnEntry('src/worker.ts', common);
    processes.push(worker);
    const processingStarted = performance.now();
    let status: { status: string; processedRows: number; successful: number; failed: number };
    for (;;) {
      status = (await (await fetch(`${base}/imports/${job.id}`, { headers: auth })).json()) as typeof status;
      if (['COMPLETED', 'FAILED', 'CANCELLED'].includes(status.status)) break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    const finished = performance.now();
    if (status.status !== 'COMPLETED') throw new Error(`import ended ${status.status}`);

    let emails: ImportBenchResult['emails'];
    if (sendEmail) {
      // Waits while the queue moves; a queue that stops moving (a refused token, a stuck worker) ends the run.
      let last = -1;
      let lastMoved = performance.now();
      for (;;) {
        const { rows: queued } = await db.query(`select count(*)::int as n from invitation where email_status in ('QUEUED', 'SENDING')`);
        if (queued[0].n === 0) break;
        if (queued[0].n !== last) [last, lastMoved] = [queued[0].n, performance.now()];
        if (performance.now() - lastMoved > 60_000) throw new Error(`the email queue stopped at ${last} waiting`);
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      emails = {
        accepted: postmark.accepted.length,
        distinctRecipients: new Set(postmark.accepted.map((m) => m.To)).size,
        batchCalls: postmark.batchCalls,
        drainSeconds: Number(((performance.now() - finished) / 1000).toFixed(1)),
      };
    }

    const rssBeforeResults = peakRssMb(api.child.pid!);
    const resultsStarted = performance.now();
    const results = await fetch(`${base}/imports/${job.id}/results`, { headers: auth });
    let resultsLines = 0;
    for await (const chunk of results.body as unknown as AsyncIterable<Uint8Array>) for (const byte of chunk) if (byte === 10) resultsLines++;
    const resultsSeconds = (performance.now() - resultsStarted) / 1000;
    const resultsRssGrowthMb = peakRssMb(api.child.pid!) - rssBeforeResults;

    const result: ImportBenchResult = {
      rows,
      uploadSeconds: Number(((uploaded - started) / 1000).toFixed(1)),
      processingSeconds: Number(((finished - processingStarted) / 1000).toFixed(1)),
      totalSeconds: Number(((finished - started) / 1000).toFixed(1)),
      usersPerSecond: Math.round(rows / ((finished - started) / 1000)),
      processingUsersPerSecond: Math.round(rows / ((finished - processingStarted) / 1000)),
      successful: status.successful,
      failed: status.failed,
      apiPeakRssMb: peakRssMb(api.child.pid!),
      workerPeakRssMb: peakRssMb(worker.child.pid!),
      // The header line is counted too.
      resultsLines: resultsLines - 1,
      resultsSeconds: Number(resultsSeconds.toFixed(1)),
      resultsRssGrowthMb,
      chunkRows: Number(process.env.IMPORT_CHUNK_ROWS ?? DEFAULT_CHUNK_ROWS),
      sendEmail,
      emails,
    };
    return result;
  } finally {
    for (const p of processes) {
      p.child.kill('SIGTERM');
      await p.exited().catch(() => p.child.kill('SIGKILL'));
    }
    await db.end().catch(() => undefined);
    if (postmarkUrl) await postmark.stop();
    await admin.query(`drop database if exists "${name}" with (force)`);
    await admin.end();
  }
}

export function importBenchReport(r: ImportBenchResult): string {
  const lines = [
    `Async import, ${r.rows.toLocaleString('en')} CSV rows (role, primary group, position; sendEmail=${r.sendEmail}; chunks of ${r.chunkRows}):`,
    `upload ${r.uploadSeconds} s, processing ${r.processingSeconds} s (${r.processingUsersPerSecond} users/s), end to end ${r.totalSeconds} s = ${r.usersPerSecond} users/s;`,
    `${r.successful.toLocaleString('en')} invited, ${r.failed} failed; peak RSS API ${r.apiPeakRssMb} MB, worker ${r.workerPeakRssMb} MB;`,
    `results streamed back: ${r.resultsLines.toLocaleString('en')} lines in ${r.resultsSeconds} s, the server's peak RSS rising ${r.resultsRssGrowthMb} MB meanwhile.`,
  ];
  if (r.emails) {
    lines.push(
      `Emails: ${r.emails.accepted.toLocaleString('en')} accepted by the fake Postmark for ${r.emails.distinctRecipients.toLocaleString('en')} distinct recipients in ${r.emails.batchCalls} batch calls; queue drained ${r.emails.drainSeconds} s after the import completed.`,
    );
  }
  return lines.join(' ');
}
