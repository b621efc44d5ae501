import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { appendEvents } from '../src/services/events';
import { type SeededTenant, type TestApp, createTestApp } from './helpers/harness';

const EVENTS = `query($after: String) { events(first: 500, after: $after) { nodes { id type data } pageInfo { endCursor } } }`;

/**
 * `events(after:)` pages by the event sequence number. Events of one tenant take their numbers in commit order (a
 * per-tenant lock from the append to the commit), so a long transaction cannot commit numbers below a cursor a
 * client already holds.
 */
describe('events(after:) under concurrent transactions', () => {
  let t: TestApp;
  let a: SeededTenant;

  before(async () => {
    t = await createTestApp();
    a = await t.seedTenant();
  });
  after(async () => {
    await t.close();
  });

  it('a client paging with endCursor sees an event whose transaction committed after it read the page', async () => {
    const slow = new Client({ connectionString: t.databaseUrl });
    await slow.connect();
    try {
      // The slow transaction takes the lower sequence number and stays open.
      await slow.query('begin');
      await appendEvents(slow, [{ tenantId: a.tenantId, type: 'import.completed', data: { marker: 'slow' } }]);
      // A quick change of the same tenant meanwhile: its append waits for the slow one's commit.
      let quickDone = false;
      const quick = t.orm.em
        .fork()
        .transactional((tx) => appendEvents(tx, [{ tenantId: a.tenantId, type: 'import.completed', data: { marker: 'quick' } }]))
        .then(() => (quickDone = true));

      const first = await t.gql(EVENTS, {}, a.token);
      const seen = first.data.events.nodes.map((e: any) => e.data.marker);
      assert.deepEqual(seen, [], 'nothing is listed while the older transaction is open');
      assert.equal(quickDone, false, 'the later append waits for the earlier one to commit');
      const cursor = first.data.events.pageInfo.endCursor;
      await slow.query('commit');
      await quick;

      const next = await t.gql(EVENTS, { after: cursor }, a.token);
      const all = [...seen, ...next.data.events.nodes.map((e: any) => e.data.marker)];
      assert.deepEqual(all, ['slow', 'quick'], 'every event is listed once, in commit order');

      // Another tenant's appends do not wait for this tenant's open transaction.
      const other = await t.seedTenant('Other');
      await slow.query('begin');
      await appendEvents(slow, [{ tenantId: a.tenantId, type: 'import.completed', data: { marker: 'held' } }]);
      await t.orm.em.fork().transactional((tx) => appendEvents(tx, [{ tenantId: other.tenantId, type: 'import.completed', data: { marker: 'other' } }]));
      await slow.query('rollback');
    } finally {
      await slow.end();
    }
  });
});
