import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startImportWorker, type ImportWorker } from '../src/imports/import-worker';
import { createLogger } from '../src/logger';
import { type SeededTenant, type TestApp, createTestApp } from './helpers/harness';
import { csv, listen, resultRows, results, upload, waitForImport } from './helpers/imports';

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
  });
});
