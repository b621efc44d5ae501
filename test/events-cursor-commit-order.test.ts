import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { appendEvents } from '../src/services/events';
import { type SeededTenant, type TestApp, createTestApp } from './helpers/harness';

const EVENTS = `query($after: String) { events(first: 500, after: $after) { nodes { id type data } pageInfo { endCursor } } }`;

/**
 * Review of issue 15: `events(after:)` pages by the event sequence number. A sequence number is taken when the event
 * is inserted, not when its transaction commits, so a long transaction (a 10,000-person invite) can commit events
 * with numbers below a cursor a client already holds: paging on from that cursor never shows them.
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
      // A quick change commits meanwhile, with a higher number.
      await t.orm.em.fork().transactional((tx) => appendEvents(tx, [{ tenantId: a.tenantId, type: 'import.completed', data: { marker: 'quick' } }]));

      const first = await t.gql(EVENTS, {}, a.token);
      const seen = first.data.events.nodes.map((e: any) => e.data.marker);
      const cursor = first.data.events.pageInfo.endCursor;
      await slow.query('commit');

      const next = await t.gql(EVENTS, { after: cursor }, a.token);
      const all = [...seen, ...next.data.events.nodes.map((e: any) => e.data.marker)];
      assert.ok(all.includes('quick'));
      assert.ok(all.includes('slow'), `the slow transaction's event is never listed to a client paging by cursor (saw ${JSON.stringify(all)})`);
    } finally {
      await slow.end();
    }
  });
});
