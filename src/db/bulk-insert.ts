import { raw } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';

type Row = Record<string, unknown>;

const NEEDS_ESCAPE = /["\\]/;

/** One column as a SQL string holding a PostgreSQL array literal: E'{"a","b",NULL}'. */
function arrayLiteral(values: unknown[]) {
  const parts = new Array<string>(values.length);
  let lastDate: Date | undefined;
  let lastIso = '';
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value === null || value === undefined) {
      parts[i] = 'NULL';
      continue;
    }
    let text: string;
    if (typeof value === 'string') text = value;
    else if (value instanceof Date) {
      // Rows of one request share their timestamps: format each distinct one once.
      if (value !== lastDate) {
        lastDate = value;
        lastIso = value.toISOString();
      }
      text = lastIso;
    } else if (typeof value === 'boolean') text = value ? 't' : 'f';
    else if (typeof value === 'object') text = JSON.stringify(value);
    else text = String(value);
    parts[i] = NEEDS_ESCAPE.test(text) ? `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : `"${text}"`;
  }
  const literal = `{${parts.join(',')}}`;
  // Escaped here, in native passes, and handed to MikroORM as raw SQL: its own escaping walks such a string one
  // character at a time.
  const escaped = literal.includes('\\') || literal.includes("'") ? literal.replace(/\\/g, '\\\\').replace(/'/g, "''") : literal;
  return raw(`E'${escaped}'`);
}

/**
 * Inserts rows of one entity in a single `INSERT … SELECT FROM unnest(…)` statement, each column sent as one
 * array. Table, columns and their types come from the entity's MikroORM metadata; the statement runs on the
 * EntityManager's transaction and through its logger like any other. MikroORM's own `insertMany` inlines every
 * value into a multi-row VALUES list, which cost 30-70 MB of transient heap per table at 10,000 rows.
 * Values must not contain NUL characters (PostgreSQL text cannot); input validation refuses them.
 * Rows are keyed by entity property (relations by primary key); every row must have the same keys.
 */
export async function insertRows(em: EntityManager, entityName: string, rows: Row[]): Promise<void> {
  if (!rows.length) return;
  const meta = em.getMetadata().get(entityName);
  const keys = Object.keys(rows[0]);
  const columns = keys.map((key) => {
    const prop = meta.properties[key];
    if (!prop?.fieldNames?.length || !prop.columnTypes?.length) throw new Error(`${entityName}.${key} is not a column`);
    return { key, name: prop.fieldNames[0], type: prop.columnTypes[0] };
  });
  const sql =
    `insert into "${meta.tableName}" (${columns.map((c) => `"${c.name}"`).join(', ')}) ` +
    `select * from unnest(${columns.map((c) => `?::${c.type}[]`).join(', ')})`;
  await em.execute(
    sql,
    columns.map((c) => arrayLiteral(rows.map((row) => row[c.key]))),
    'run',
  );
}
