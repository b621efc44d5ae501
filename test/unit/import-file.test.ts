import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { csvRecordToInvite, readImportFile, type ImportFileRow } from '../../src/services/imports/import-file';
import { resultsFormatFor } from '../../src/rest/imports.routes';
import { formatResult, neutralizeFormula, resultsHeader, type ImportResultRow } from '../../src/services/imports/results-format';

async function read(parts: Array<string | Buffer>, format: 'csv' | 'ndjson' = 'csv', limits = { maxRows: 1000, maxBytes: 100_000 }): Promise<ImportFileRow[]> {
  const rows: ImportFileRow[] = [];
  const body = (async function* () {
    for (const part of parts) yield Buffer.from(part);
  })();
  for await (const batch of readImportFile(body, format, limits)) rows.push(...batch);
  return rows;
}

const brief = (rows: ImportFileRow[]) => rows.map((r) => [r.row, r.line, r.email, r.error === null ? null : r.error.replace(/:.*/, '')]);

describe('import file reader (CSV)', () => {
  it('numbers rows and physical lines through BOM, CRLF split across chunks, quoted newlines and commas, blank lines', async () => {
    const rows = await read(['\ufeffemail,firstName\r', '\na@x.com,"Doe, J"\r\nb@x.com,"two\r\n', 'lines"\r\n\r\n\r\nc@x.com,C\r\n']);
    assert.deepEqual(brief(rows), [
      [1, 2, 'a@x.com', null],
      [2, 3, 'b@x.com', null],
      [3, 7, 'c@x.com', null],
    ]);
    assert.equal(rows[0].input?.firstName, 'Doe, J');
    assert.equal(rows[1].input?.firstName, 'two\nlines');
  });

  it('reports records with the wrong number of fields, or broken quoting, as row errors and goes on', async () => {
    const rows = await read(['email,firstName\nshort@x.com\nlong@x.com,a,b\nbad@x.com,x"y\nok@x.com,O\n']);
    assert.deepEqual(brief(rows), [
      [1, 2, 'short@x.com', 'Line 2 has 1 fields; the header has 2'],
      [2, 3, 'long@x.com', 'Line 3 has 3 fields; the header has 2'],
      [3, 4, 'bad@x.com', null],
      [4, 5, 'ok@x.com', null],
    ]);
    const unclosed = await read(['email,firstName\na@x.com,"never closed\nb@x.com,B\n']);
    assert.deepEqual(brief(unclosed), [[1, 2, null, 'Line 2']]);
  });

  it('maps columns to the person: lists split on ";", the primary group, metadata JSON, empty cells absent', () => {
    const input = csvRecordToInvite(['email', 'roleIds', 'groupIds', 'primaryGroupId', 'positionIds', 'metadata', 'phone'], ['a@x.com', 'r1; r2;', 'g1;G2', 'g2', '', '{"k":1}', '']);
    assert.deepEqual(input, {
      email: 'a@x.com',
      roleIds: ['r1', 'r2'],
      groups: [
        { groupId: 'g1', isPrimaryOrg: false },
        { groupId: 'G2', isPrimaryOrg: true },
      ],
      metadata: { k: 1 },
    });
    assert.deepEqual(csvRecordToInvite(['email', 'primaryGroupId', 'metadata'], ['a@x.com', 'g9', 'not json']), { email: 'a@x.com', groups: [{ groupId: 'g9', isPrimaryOrg: true }], metadata: 'not json' });
  });

  it('refuses the file as a whole: empty, unknown or repeated columns, no email column, invalid UTF-8, over the limits', async () => {
    await assert.rejects(read(['']), /empty/);
    await assert.rejects(read(['email,Favourite Colour,x\n']), /Unknown columns: Favourite Colour, x/);
    await assert.rejects(read(['email,EMAIL\n']), /Column named twice: email/);
    await assert.rejects(read(['firstName\nA\n']), /email/);
    await assert.rejects(read([Buffer.from('email\na@x.com\n'), Buffer.from([0xff, 0xfe, 0x0a])]), (e: Error) => /not valid UTF-8 \(from line 3\)/.test(e.message));
    await assert.rejects(read(['email\n', 'a@x.com\n'.repeat(11)], 'csv', { maxRows: 10, maxBytes: 1000 }), /IMPORT_MAX_ROWS/);
    await assert.rejects(read(['email\n', 'a@x.com\n'.repeat(200)], 'csv', { maxRows: 1000, maxBytes: 1000 }), /IMPORT_MAX_BYTES/);
    assert.deepEqual(await read(['Email,FIRSTNAME\n']), []);
  });
});

describe('import file reader (JSON Lines)', () => {
  it('reads one object per line, skipping blank lines; a broken or mistyped line is that row’s error', async () => {
    const rows = await read(['{"email":"a@x.com","groups":[{"groupId":"g","isPrimaryOrg":true}]}\n{"email":"b@x', '.com",\n\n[1]\n{"email":"c@x.com","roleIds":"r"}\r\n{"email":"d@x.com"}'], 'ndjson');
    assert.deepEqual(brief(rows), [
      [1, 1, 'a@x.com', null],
      [2, 2, 'b@x.com', 'Line 2 is not valid JSON'],
      [3, 4, null, 'Line 4 is not a JSON object'],
      [4, 5, 'c@x.com', 'Line 5'],
      [5, 6, 'd@x.com', null],
    ]);
    await assert.rejects(read(['{"email":"a@x.com","sendEmails":false}\n'], 'ndjson'), /Unknown field on line 1: sendEmails/);
  });

  it('reads a line far longer than a chunk in time linear in its length (not re-joining it for every chunk)', async () => {
    const piece = Buffer.alloc(64 * 1024, 'a');
    const chunks = 32 * 16; // a 32 MiB line
    async function* body() {
      yield Buffer.from('{"email":"long@x.com","firstName":"');
      for (let i = 0; i < chunks; i++) yield piece;
      yield Buffer.from('"}\n{"email":"next@x.com"}\n');
    }
    const started = Date.now();
    const rows: ImportFileRow[] = [];
    for await (const batch of readImportFile(body(), 'ndjson', { maxRows: 10, maxBytes: 64 * 1024 * 1024 })) rows.push(...batch);
    const ms = Date.now() - started;
    assert.deepEqual(brief(rows), [
      [1, 1, 'long@x.com', null],
      [2, 2, 'next@x.com', null],
    ]);
    assert.equal(rows[0].input?.firstName?.length, chunks * piece.length);
    assert.ok(ms < 4000, `a 32 MiB line took ${ms} ms`);
  });
});

describe('import results formatter', () => {
  const row: ImportResultRow = { row: 3, line: 4, email: '=HYPERLINK("x")@x.com', outcome: 'failed', code: 'INVALID_EMAIL', message: 'Invalid, "quoted"\nline', userId: null, invitationId: null };

  it('prefixes cells that a spreadsheet would run as formulas', () => {
    for (const cell of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx']) assert.equal(neutralizeFormula(cell), `'${cell}`);
    for (const cell of ['a=1', 'x@y.com', '1-2']) assert.equal(neutralizeFormula(cell), cell);
  });

  it('writes RFC 4180 CSV with the contract columns, and JSON Lines unescaped', () => {
    assert.equal(resultsHeader('csv'), 'row,line,email,outcome,code,message,userId,invitationId\r\n');
    assert.equal(formatResult(row, 'csv'), `3,4,"'=HYPERLINK(""x"")@x.com",failed,INVALID_EMAIL,"Invalid, ""quoted""\nline",,\r\n`);
    assert.deepEqual(JSON.parse(formatResult(row, 'ndjson')), row);
    assert.equal(resultsHeader('ndjson'), '');
  });
});

describe('import results: Accept negotiation', () => {
  it('serves JSON Lines only when Accept prefers it over CSV', () => {
    assert.equal(resultsFormatFor(undefined), 'csv');
    assert.equal(resultsFormatFor('*/*'), 'csv');
    assert.equal(resultsFormatFor('application/x-ndjson'), 'ndjson');
    assert.equal(resultsFormatFor('application/x-ndjson; charset=utf-8, */*;q=0.1'), 'ndjson');
    assert.equal(resultsFormatFor('text/csv, application/x-ndjson;q=0'), 'csv');
    assert.equal(resultsFormatFor('application/x-ndjson;q=0.1, text/csv'), 'csv');
    assert.equal(resultsFormatFor('text/csv;q=0.5, application/x-ndjson'), 'ndjson');
  });
});
