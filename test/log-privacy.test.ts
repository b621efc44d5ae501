import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { User } from '../src/entities';
import { createLogger, sqlWithoutValues } from '../src/logger';
import { type TestApp, createTestApp } from './helpers/harness';

/** A logger whose lines the test reads back. */
function capturingLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: createLogger('info', { destination }), text: () => lines.join('') };
}

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/;

describe('logs: database errors without row values', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => t.close());

  /** A real unique violation from MikroORM, raised by an insert of people who are already on the platform. */
  async function failingInsert(count: number): Promise<Error> {
    const em = t.orm.em.fork();
    const rows = () =>
      Array.from({ length: count }, (_, i) => ({ id: randomUUID(), email: `Person.${i}.${count}@Example.com`, emailNormalized: `person.${i}.${count}@example.com`, createdAt: new Date() }));
    await em.insertMany(User, rows());
    try {
      await t.orm.em.fork().insertMany(User, rows());
    } catch (error) {
      return error as Error;
    }
    throw new Error('the duplicate insert did not fail');
  }

  for (const count of [1, 50]) {
    it(`logs the code, constraint and table of a failed ${count}-row insert, and no email address`, async () => {
      const error = await failingInsert(count);
      assert.match(error.message, EMAIL, 'the driver error itself carries the values (what must not reach the log)');
      const { log, text } = capturingLogger();
      log.error({ err: error }, 'insert failed');
      log.child({ component: 'x' }).warn({ err: new Error('wrapped', { cause: error }) }, 'wrapped insert failure');
      const output = text();
      assert.doesNotMatch(output, EMAIL, output);
      assert.doesNotMatch(output, /Key \(/, 'no detail');
      const [first, second] = output.trim().split('\n').map((line) => JSON.parse(line));
      assert.equal(first.err.code, '23505');
      assert.equal(first.err.constraint, 'users_email_normalized_unique');
      assert.equal(first.err.table, 'users');
      assert.equal(first.err.type, 'UniqueConstraintViolationException');
      assert.match(first.err.sql, /^insert into "users"/);
      assert.equal(second.err.cause.code, '23505');
    });
  }

  it('takes every literal out of SQL', () => {
    const sql = `insert into "users" ("email", "n") values ('a@b.co', 12), (E'it''s\\n', -3.5) select '{"x@y.io","z@w.io"}'::text[]`;
    assert.equal(sqlWithoutValues(sql), `insert into "users" ("email", "n") values (?, ?), (?, ?) select ?::text[]`);
  });
});
