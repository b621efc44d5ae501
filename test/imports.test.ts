import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startImportWorker, type ImportWorker } from '../src/imports/import-worker';
import { createLogger } from '../src/logger';
import { type SeededTenant, type TestApp, createTestApp } from './helpers/harness';
import { csv, listen, resultRows, results, upload, waitForImport } from './helpers/imports';
import { ROOT } from './helpers/processes';

function runCli(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/import.ts', ...args], { cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME } });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

describe('async imports: upload, processing, results', () => {
  let t: TestApp;
  let a: SeededTenant;
  let b: SeededTenant;
  let base: string;
  let worker: ImportWorker;

  before(async () => {
    t = await createTestApp({ IMPORT_CHUNK_ROWS: '50', IMPORT_MAX_ROWS: '5000', IMPORT_MAX_BYTES: String(2 * 1024 * 1024) });
    a = await t.seedTenant('Importer A');
    b = await t.seedTenant('Importer B');
    base = await listen(t);
    worker = await startImportWorker({ config: t.config, orm: t.orm, databaseUrl: t.databaseUrl, log: createLogger('silent') });
  });
  after(async () => {
    await worker.stop();
    await t.close();
  });

  it('imports a CSV file of people with role, groups and positions; every row gets its outcome in file order', async () => {
    const rows = Array.from({ length: 240 }, (_, i) => `csv-${i}@example.com,P,${i},Member,${a.groups[0]};${a.groups[1]},${a.groups[1]},${a.positions[0]}`);
    const res = await upload(base, a.token, csv('email,firstName,lastName,role,groupIds,primaryGroupId,positionIds', rows), { query: 'sendEmail=false' });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.headers.get('location'), `/imports/${res.body.id}`);
    assert.equal(res.body.totalRows, 240);
    assert.equal(res.body.format, 'csv');
    const done = await waitForImport(base, a.token, res.body.id);
    assert.equal(done.status, 'COMPLETED');
    assert.deepEqual([done.processedRows, done.successful, done.failed, done.percent], [240, 240, 0, 100]);
    const out = await resultRows(base, a.token, res.body.id);
    assert.deepEqual(out.map((r) => r.row), Array.from({ length: 240 }, (_, i) => i + 1));
    assert.deepEqual(out.map((r) => r.line).slice(0, 3), [2, 3, 4]);
    assert.ok(out.every((r) => r.outcome === 'invited' && r.userId && r.invitationId));
    const [links] = await t.sql(
      `select count(distinct m.id)::int as members, count(*) filter (where mg.is_primary_org)::int as primaries
         from membership m join membership_group mg on mg.membership_id = m.id where m.tenant_id = $1`,
      [a.tenantId],
    );
    assert.deepEqual(links, { members: 240, primaries: 240 });

    // Events, written by the chunks' transactions: one invitation.created per invited row (chunks of 50, no
    // repeats), then import.completed with the counts.
    const events = await t.sql(
      `select type, data from event where tenant_id = $1 and (type = 'import.completed' or data->>'batchId' = $2) order by seq`,
      [a.tenantId, res.body.id],
    );
    const created = events.filter((e) => e.type === 'invitation.created');
    assert.equal(created.length, 240);
    assert.deepEqual(new Set(created.map((e) => e.data.invitationId)), new Set(out.map((r) => r.invitationId)));
    const completed = events.filter((e) => e.type === 'import.completed');
    assert.equal(completed.length, 1);
    assert.equal(events.at(-1).type, 'import.completed');
    assert.deepEqual(
      [completed[0].data.importId, completed[0].data.status, completed[0].data.totalRows, completed[0].data.successful, completed[0].data.failed],
      [res.body.id, 'COMPLETED', 240, 240, 0],
    );
  });

  it('refuses what is not a file of people as a whole, creating nothing: empty, unknown column, invalid UTF-8, no auth', async () => {
    const before = await t.sql(`select count(*)::int as n from invite_import`);
    const empty = await upload(base, a.token, '');
    assert.equal(empty.status, 400);
    assert.match(empty.body.message, /empty/);
    const unknown = await upload(base, a.token, 'email,firstName,sendEmails,Colour\nx@example.com,X,true,red\n');
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.message, /sendEmails, Colour/);
    const utf8 = await upload(base, a.token, Buffer.concat([Buffer.from('email\nok@example.com\nbad-'), Buffer.from([0xc3, 0x28]), Buffer.from('@example.com\n')]));
    assert.equal(utf8.status, 400);
    assert.match(utf8.body.message, /UTF-8/);
    const ndUnknown = await upload(base, a.token, '{"email":"a@example.com"}\n{"email":"b@example.com","sendEmails":true}\n', { contentType: 'application/x-ndjson' });
    assert.equal(ndUnknown.status, 400);
    assert.match(ndUnknown.body.message, /sendEmails/);
    const anonymous = await upload(base, undefined, 'email\nx@example.com\n');
    assert.equal(anonymous.status, 401);
    const noPermission = await upload(base, t.token({ tenantId: a.tenantId, permissions: ['users:read'] }), 'email\nx@example.com\n');
    assert.equal(noPermission.status, 403);
    const wrongType = await upload(base, a.token, '{}', { contentType: 'application/json' });
    assert.equal(wrongType.status, 415);
    const after = await t.sql(`select count(*)::int as n from invite_import`);
    assert.deepEqual(after, before);
    assert.deepEqual(await t.sql(`select count(*)::int as n from invite_import_row where import_id not in (select id from invite_import)`), [{ n: 0 }]);
  });

  it('refuses an anonymous large body with 401 before reading it', async () => {
    let sent = 0;
    const body = (async function* () {
      for (let i = 0; i < 1000; i++) {
        sent += 64 * 1024;
        yield new Uint8Array(64 * 1024).fill(0x61);
      }
    })();
    const res = await upload(base, undefined, body).catch((error) => ({ status: 0, error }) as any);
    assert.ok(res.status === 401 || res.status === 0, `status ${res.status}`);
    assert.ok(sent < 64 * 1024 * 1000, 'the server did not read the whole body');
  });

  it('refuses an oversize body with 413 as it streams, without buffering it, and stores nothing', async () => {
    let sent = 0;
    // 64 MiB offered against a 2 MiB limit; the stream stops being pulled once the server answers.
    const body = (async function* () {
      yield new TextEncoder().encode('email,firstName\n');
      for (let i = 0; i < 1024; i++) {
        sent += 64 * 1024;
        yield new TextEncoder().encode(`big-${i}@example.com,${'x'.repeat(64 * 1024 - 40)}\n`.padEnd(64 * 1024, ' '));
      }
    })();
    const res = await upload(base, a.token, body).catch((error) => ({ status: 0, error }) as any);
    assert.ok(res.status === 413 || res.status === 0, `status ${res.status}`);
    if (res.status === 413) assert.match(res.body.message, /IMPORT_MAX_BYTES/);
    assert.ok(sent < 32 * 1024 * 1024, `the client sent ${sent} bytes`);
    const declared = await fetch(`${base}/imports`, { method: 'POST', headers: { authorization: `Bearer ${a.token}`, 'content-type': 'text/csv', 'content-length': String(3 * 1024 * 1024) }, body: 'email\n'.padEnd(3 * 1024 * 1024, 'x') });
    assert.equal(declared.status, 413);
    const tooManyRows = await upload(base, a.token, csv('email', Array.from({ length: 5001 }, (_, i) => `r-${i}@example.com`)));
    assert.equal(tooManyRows.status, 413);
    assert.match(tooManyRows.body.message, /IMPORT_MAX_ROWS/);
    assert.deepEqual(await t.sql(`select count(*)::int as n from invite_import_row r join membership m on false`), [{ n: 0 }]);
    assert.deepEqual(await t.sql(`select count(*)::int as n from users where email like 'big-%' or email like 'r-%'`), [{ n: 0 }]);
  });

  it('reads a header-only file as an import of no rows, and BOM, CRLF, quoted commas and newlines, blank lines as they are meant', async () => {
    const headerOnly = await upload(base, a.token, 'email,firstName\r\n');
    assert.equal(headerOnly.status, 202);
    assert.equal(headerOnly.body.totalRows, 0);
    const finished = await waitForImport(base, a.token, headerOnly.body.id);
    assert.deepEqual([finished.status, finished.percent], ['COMPLETED', 100]);

    const file = '\ufeffemail,firstName,metadata\r\nq1@example.com,"Doe, Jane","{\r\n""note"": ""a, b""\r\n}"\r\n\r\nq2@example.com,Bob,"{""say"": ""hi""}"\r\nq3@example.com,OnlyTwo\r\nq4@example.com,a,b,c\r\n';
    const res = await upload(base, a.token, file, { query: 'sendEmail=false' });
    assert.equal(res.status, 202);
    assert.equal(res.body.totalRows, 4);
    await waitForImport(base, a.token, res.body.id);
    const out = await resultRows(base, a.token, res.body.id);
    assert.deepEqual(
      out.map((r) => [r.row, r.line, r.email, r.outcome, r.code]),
      [
        [1, 2, 'q1@example.com', 'invited', null],
        [2, 6, 'q2@example.com', 'invited', null],
        [3, 7, 'q3@example.com', 'failed', 'INVALID_INPUT'],
        [4, 8, 'q4@example.com', 'failed', 'INVALID_INPUT'],
      ],
    );
    assert.match(out[2].message, /Line 7 has 2 fields; the header has 3/);
    const [member] = await t.sql(`select first_name, metadata from membership m join users u on u.id = m.user_id where u.email = 'q1@example.com'`);
    assert.deepEqual(member, { first_name: 'Doe, Jane', metadata: { note: 'a, b' } });
  });

  it('reads JSON Lines with a broken line: that row fails with its line number, the others go on', async () => {
    const file = ['{"email":"nd1@example.com","firstName":"A","roleIds":["' + a.roles.member + '"]}', '{"email":"nd2@example.com",', '', '{"email":"nd3@example.com","groups":[{"groupId":"' + a.groups[0] + '","isPrimaryOrg":true}]}'].join('\n');
    const res = await upload(base, a.token, file, { contentType: 'application/x-ndjson', query: 'sendEmail=false' });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.format, 'ndjson');
    await waitForImport(base, a.token, res.body.id);
    const out = await resultRows(base, a.token, res.body.id);
    assert.deepEqual(
      out.map((r) => [r.row, r.line, r.email, r.outcome, r.code]),
      [
        [1, 1, 'nd1@example.com', 'invited', null],
        [2, 2, 'nd2@example.com', 'failed', 'INVALID_INPUT'],
        [3, 4, 'nd3@example.com', 'invited', null],
      ],
    );
    assert.match(out[1].message, /Line 2 is not valid JSON/);
  });

  it('gives a row with every field wrong the first failure of the priority order, and other rows theirs', async () => {
    const header = 'email,firstName,ipi,phone,country,role,groupIds,positionIds,managerId,metadata,locale';
    const rows = [
      'not-an-email,' + 'x'.repeat(150) + ',12,abc,ZZ,Nope,' + b.groups[0] + ',' + b.positions[0] + ',' + b.tenantId + ',[1],!!',
      'ok1@example.com,' + 'x'.repeat(150) + ',12,abc,ZZ,Nope,,,,,',
      'ok2@example.com,A,12,+1 (555) 123-4567,US,,,,,,',
      'ok3@example.com,A,,,,,' + b.groups[0] + ',,,,',
      'ok4@example.com,A,,,,,,' + b.positions[0] + ',,,',
      'ok5@example.com,A,,,,,,,,"{""a"":1}",de-ch',
    ];
    const res = await upload(base, a.token, csv(header, rows), { query: 'sendEmail=false' });
    await waitForImport(base, a.token, res.body.id);
    const out = await resultRows(base, a.token, res.body.id);
    assert.deepEqual(out.map((r) => r.code), ['INVALID_EMAIL', 'INVALID_INPUT', 'INVALID_IPI', 'UNKNOWN_GROUP', 'UNKNOWN_POSITION', null]);
  });

  it('makes every later row naming the same person DUPLICATE_IN_BATCH naming the first row, across chunks', async () => {
    const rows = Array.from({ length: 1000 }, (_, i) => (i % 250 === 0 ? `Other-${i}@example.com` : 'Same.Person@Example.com'));
    rows.splice(500, 0, 'same.person@example.com');
    const res = await upload(base, a.token, csv('email', rows), { query: 'sendEmail=false' });
    const done = await waitForImport(base, a.token, res.body.id);
    assert.deepEqual([done.successful, done.failed], [5, 996]);
    const out = await resultRows(base, a.token, res.body.id);
    const duplicates = out.filter((r) => r.code === 'DUPLICATE_IN_BATCH');
    assert.equal(duplicates.length, 996);
    assert.ok(duplicates.every((r) => r.message === 'Same person as users[1]'), duplicates.find((r) => r.message !== 'Same person as users[1]')?.message);
    assert.deepEqual(await t.sql(`select count(*)::int as n from users where email_normalized = 'same.person@example.com'`), [{ n: 1 }]);
  });

  it("keeps imports tenant-scoped: another tenant's id is not found anywhere", async () => {
    const res = await upload(base, a.token, csv('email', ['scoped@example.com']), { query: 'sendEmail=false' });
    const id = res.body.id as string;
    await waitForImport(base, a.token, id);
    const get = await fetch(`${base}/imports/${id}`, { headers: { authorization: `Bearer ${b.token}` } });
    assert.equal(get.status, 404);
    const upper = await fetch(`${base}/imports/${id.toUpperCase()}`, { headers: { authorization: `Bearer ${a.token}` } });
    assert.equal(upper.status, 200);
    assert.equal((await results(base, b.token, id)).status, 404);
    assert.equal((await fetch(`${base}/imports/not-a-uuid`, { headers: { authorization: `Bearer ${a.token}` } })).status, 404);
    const gql = await t.gql(`query($id: ID!) { inviteImport(id: $id) { id } inviteImports { nodes { id } } }`, { id }, b.token);
    assert.equal(gql.data.inviteImport, null);
    assert.ok(!gql.data.inviteImports.nodes.some((n: { id: string }) => n.id === id));
    const cancel = await t.gql(`mutation($id: ID!) { cancelInviteImport(id: $id) { id } }`, { id }, b.token);
    assert.equal(cancel.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.match(cancel.errors![0].message, /No such import/);
    const mine = await t.gql(`query($id: ID!) { inviteImport(id: $id) { id status format totalRows processedRows successful failed percent resultsUrl } }`, { id }, a.token);
    assert.deepEqual(mine.data.inviteImport, { id, status: 'COMPLETED', format: 'csv', totalRows: 1, processedRows: 1, successful: 1, failed: 0, percent: 100, resultsUrl: `/imports/${id}/results` });
  });

  it('escapes CSV injection in the results and serves them as CSV by default', async () => {
    const res = await upload(base, a.token, csv('email,firstName', ['=cmd@example.com,A', '+1@example.com,B', '-x@example.com,C', '@at,D']), { query: 'sendEmail=false' });
    await waitForImport(base, a.token, res.body.id);
    const out = await results(base, a.token, res.body.id);
    assert.match(out.contentType!, /text\/csv/);
    const lines = out.text.trim().split('\r\n');
    assert.equal(lines[0], 'row,line,email,outcome,code,message,userId,invitationId');
    assert.ok(lines[1].startsWith("1,2,'=cmd@example.com,"), lines[1]);
    assert.ok(lines[2].startsWith("2,3,'+1@example.com,"), lines[2]);
    assert.ok(lines[3].startsWith("3,4,'-x@example.com,"), lines[3]);
    assert.ok(lines[4].startsWith("4,5,'@at,failed,INVALID_EMAIL,"), lines[4]);
  });

  it('replays an upload with the same Idempotency-Key and refuses the key with another file', async () => {
    const file = csv('email', ['idem-1@example.com', 'idem-2@example.com']);
    const first = await upload(base, a.token, file, { query: 'sendEmail=false', headers: { 'idempotency-key': 'import-1' } });
    const again = await upload(base, a.token, file, { query: 'sendEmail=false', headers: { 'idempotency-key': 'import-1' } });
    assert.equal(first.status, 202);
    assert.equal(again.status, 202);
    assert.equal(again.body.id, first.body.id);
    const other = await upload(base, a.token, csv('email', ['idem-3@example.com']), { query: 'sendEmail=false', headers: { 'idempotency-key': 'import-1' } });
    assert.equal(other.status, 409);
    assert.deepEqual(await t.sql(`select count(*)::int as n from invite_import where idempotency_key = 'import-1'`), [{ n: 1 }]);
  });

  it('lists imports newest first with a cursor', async () => {
    const page1 = await t.gql(`{ inviteImports(first: 2) { nodes { id createdAt } pageInfo { hasNextPage endCursor } } }`, {}, a.token);
    assert.equal(page1.data.inviteImports.nodes.length, 2);
    assert.equal(page1.data.inviteImports.pageInfo.hasNextPage, true);
    const page2 = await t.gql(`query($after: String) { inviteImports(first: 2, after: $after) { nodes { id } } }`, { after: page1.data.inviteImports.pageInfo.endCursor }, a.token);
    assert.equal(page2.data.inviteImports.nodes.length, 2);
    assert.ok(!page2.data.inviteImports.nodes.some((n: { id: string }) => page1.data.inviteImports.nodes.some((m: { id: string }) => m.id === n.id)));
  });

  it('npm run import: uploads, follows to the end, prints the counts and where the results are; exit code by outcome', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'import-cli-'));
    const good = join(dir, 'people.csv');
    writeFileSync(good, csv('email,firstName', ['cli-1@example.com,A', 'cli-2@example.com,B', 'broken,C']));
    const ok = await runCli([good, '--send-email=false', '--url', base, '--token', a.token]);
    assert.equal(ok.code, 0, ok.output);
    assert.match(ok.output, /COMPLETED: 3 of 3 rows processed, 2 invited, 1 failed\./);
    assert.match(ok.output, new RegExp(`${base}/imports/[0-9a-f-]{36}/results`));
    const refused = join(dir, 'refused.csv');
    writeFileSync(refused, csv('email,shoeSize', ['x@example.com,42']));
    const no = await runCli([refused, '--url', base, '--token', a.token]);
    assert.equal(no.code, 1, no.output);
    assert.match(no.output, /refused \(400\): Unknown column: shoeSize/);
    const usage = await runCli([good, '--url', base]);
    assert.equal(usage.code, 2, usage.output);
    // A mistyped option or a file that is not there is a usage error too, not a failed import.
    const mistyped = await runCli([good, '--sendEmail=false', '--url', base, '--token', a.token]);
    assert.equal(mistyped.code, 2, mistyped.output);
    const missing = await runCli([join(dir, 'missing.csv'), '--url', base, '--token', a.token]);
    assert.equal(missing.code, 2, missing.output);
  });
});
