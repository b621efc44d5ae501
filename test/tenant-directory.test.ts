import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { TenantDirectory } from '../src/auth/tenant-directory';
import { countStatements } from '../src/db/query-stats';
import { type TestApp, createTestApp } from './helpers/harness';

describe('TenantDirectory', () => {
  let t: TestApp;
  let tenantId: string;

  before(async () => {
    t = await createTestApp();
    tenantId = (await t.seedTenant()).tenantId;
  });
  after(() => t.close());

  it('answers from its cache for a tenant that exists, until the TTL passes, whatever the id case', async () => {
    let clock = 1_000_000;
    const directory = new TenantDirectory(t.orm, { ttlMs: 1000, now: () => clock });
    const first = await countStatements(() => directory.exists(tenantId));
    assert.deepEqual([first.result, first.statements], [true, 1]);
    const cached = await countStatements(() => directory.exists(tenantId.toUpperCase()));
    assert.deepEqual([cached.result, cached.statements], [true, 0]);
    clock += 1000;
    const expired = await countStatements(() => directory.exists(tenantId));
    assert.deepEqual([expired.result, expired.statements], [true, 1]);
  });

  it('does not remember a missing tenant: it is found as soon as it is created', async () => {
    const directory = new TenantDirectory(t.orm);
    const id = randomUUID();
    assert.equal(await directory.exists(id), false);
    await t.sql('insert into tenant (id, name, created_at) values ($1, $2, now())', [id, 'Late']);
    assert.equal(await directory.exists(id), true);
  });

  it('keeps at most maxEntries, dropping the least recently confirmed', async () => {
    const directory = new TenantDirectory(t.orm, { maxEntries: 1 });
    const other = (await t.seedTenant()).tenantId;
    await directory.exists(tenantId);
    await directory.exists(other);
    assert.equal((await countStatements(() => directory.exists(other))).statements, 0);
    assert.equal((await countStatements(() => directory.exists(tenantId))).statements, 1, 'evicted');
  });
});
