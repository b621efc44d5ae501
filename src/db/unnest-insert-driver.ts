import {
  type Configuration,
  type EntityDictionary,
  type EntityMetadata,
  type EntityProperty,
  type NativeInsertUpdateManyOptions,
  type QueryResult,
  JsonType,
  ReferenceKind,
  Utils,
  raw,
} from '@mikro-orm/core';
import { PostgreSqlDriver, type PostgreSqlPlatform } from '@mikro-orm/postgresql';
import { pgArrayLiteral } from './pg-array';
import { TenantPostgreSqlPlatform } from './tenant-schema';

/** A row's value could not go into an array literal: the row set goes through MikroORM's own insert. */
const UNSUPPORTED = Symbol('unsupported');


/**
 * MikroORM's PostgreSQL driver, with multi-row inserts (`em.insertMany`, and flushes of many new entities of one
 * type) sent as one `INSERT … SELECT * FROM unnest(?::type[], …)` statement: one array literal per column instead
 * of a VALUES list with one tuple per row. MikroORM inlines every value into the SQL text; a VALUES list for
 * 10,000 invitations cost tens of MB of transient heap per table and a long parse, the arrays a fraction of both.
 *
 * Rows it cannot express that way go to `super.nativeInsertMany` unchanged: a single row, an entity or value it
 * does not know (embeddables, composite or STI columns, array columns, binary, raw SQL), a missing value for a
 * column with a database default (MikroORM writes `default` for it), and any insert whose caller needs columns
 * back: `returning` of autoincrement or generated columns, or of a column with a database default that the first
 * row leaves out. So rows should carry every column, defaults included, to take this path.
 * Values must not contain NUL characters (PostgreSQL text cannot); input validation refuses them.
 */
export class UnnestInsertDriver extends PostgreSqlDriver {
  constructor(config: Configuration) {
    super(config);
    // PostgreSqlDriver fixes its platform; ours registers the tenant-aware schema generator (src/db/tenant-schema.ts).
    // Nothing has read the platform yet: MikroORM takes it from the driver once constructed.
    Object.assign(this, { platform: new TenantPostgreSqlPlatform() });
  }

  override async nativeInsertMany<T extends object>(
    entityName: string,
    data: EntityDictionary<T>[],
    options: NativeInsertUpdateManyOptions<T> = {},
    transform?: (sql: string) => string,
  ): Promise<QueryResult<T>> {
    const meta = data.length > 1 && !transform ? this.metadata.find<T>(entityName) : undefined;
    const statement = meta ? this.unnestInsert(meta, data, options) : undefined;
    if (!meta || !statement) return super.nativeInsertMany(entityName, data, options, transform);
    const res = await this.execute<QueryResult<T>>(statement.sql, statement.params, 'run', options.ctx, options.loggerContext);
    const pk = meta.primaryKeys.length === 1 ? meta.primaryKeys[0] : undefined;
    // `em.insertMany` returns these: the primary keys the rows came with.
    if (pk) res.insertedIds = data.map((row) => (row as Record<string, unknown>)[pk]) as QueryResult<T>['insertedIds'];
    return res;
  }

  /** The statement and its one parameter per column, or undefined when the rows need MikroORM's own path. */
  private unnestInsert<T extends object>(
    meta: EntityMetadata<T>,
    data: EntityDictionary<T>[],
    options: NativeInsertUpdateManyOptions<T>,
  ): { sql: string; params: unknown[] } | undefined {
    if (meta.root !== meta || meta.discriminatorColumn || meta.embeddable || meta.virtual) return undefined;
    const rows = data as Array<Record<string, unknown>>;
    const keys = new Set<string>();
    for (const row of rows) for (const key in row) keys.add(key);
    const props: EntityProperty<T>[] = [];
    for (const key of keys) {
      const prop = (meta.properties as Record<string, EntityProperty<T> | undefined>)[key];
      if (!prop || !this.fitsArrayColumn(prop)) return undefined;
      props.push(prop);
    }
    if (!props.length) return undefined;
    // What MikroORM would have asked back with `returning` (see AbstractSqlDriver.nativeInsertMany).
    const needsReturning = meta.props.some(
      (prop) =>
        ((prop.persist !== false && prop.defaultRaw) || prop.autoincrement || prop.generated) &&
        (!(prop.name in rows[0]) || Utils.isRawSql(rows[0][prop.name])),
    );
    if (needsReturning) return undefined;

    const columns: Array<{ prop: EntityProperty<T>; texts: Array<string | null> }> = [];
    for (const prop of props) {
      const texts = this.columnTexts(prop, rows, options.convertCustomTypes ?? true);
      if (texts === UNSUPPORTED) return undefined;
      columns.push({ prop, texts });
    }
    // A column with one value for every row (the tenant, a shared timestamp, a status) is sent once as a scalar:
    // only the columns that vary travel as arrays, which PostgreSQL then parses element by element.
    const constant = columns.map(({ texts }) => texts.every((t) => t === texts[0]));
    if (constant.every(Boolean)) constant[0] = false;
    const params: unknown[] = [];
    const selected: string[] = [];
    const arrays: string[] = [];
    const aliases: string[] = [];
    columns.forEach(({ prop, texts }, i) => {
      const type = prop.columnTypes[0];
      if (constant[i]) {
        selected.push(texts[0] === null ? `null::${type}` : `?::${type}`);
        if (texts[0] !== null) params.push(texts[0]);
      } else {
        const alias = `c${i}`;
        selected.push(`v.${alias}`);
        arrays.push(`?::${type}[]`);
        aliases.push(alias);
      }
    });
    // Array parameters follow the scalar ones in the statement text: select list first, then unnest(...).
    for (let i = 0; i < columns.length; i++) if (!constant[i]) params.push(arrayLiteral(columns[i].texts));
    const names = props.map((prop) => this.platform.quoteIdentifier(prop.fieldNames[0])).join(', ');
    return {
      sql: `insert into ${this.getTableName(meta, options)} (${names}) select ${selected.join(', ')} from unnest(${arrays.join(', ')}) as v(${aliases.join(', ')})`,
      params,
    };
  }

  private fitsArrayColumn(prop: EntityProperty): boolean {
    if (prop.persist === false || prop.stiFieldNames || prop.array || prop.embedded || prop.object) return false;
    if (prop.fieldNames?.length !== 1 || prop.columnTypes?.length !== 1 || prop.columnTypes[0].endsWith(']')) return false;
    // A type that wraps its placeholder in SQL cannot sit in an array element. JsonType declares such a wrapper but
    // it is only a cast to the column's own type, which the array's cast already makes.
    if (prop.customType && !(prop.customType instanceof JsonType) && 'convertToDatabaseValueSQL' in prop.customType) return false;
    return (
      prop.kind === ReferenceKind.SCALAR ||
      prop.kind === ReferenceKind.MANY_TO_ONE ||
      (prop.kind === ReferenceKind.ONE_TO_ONE && !!prop.owner)
    );
  }

  /** One column of every row as PostgreSQL text input (null for NULL), converted as `super.nativeInsertMany` converts. */
  private columnTexts(prop: EntityProperty, rows: Array<Record<string, unknown>>, convertCustomTypes: boolean): Array<string | null> | typeof UNSUPPORTED {
    const json = prop.customType instanceof JsonType;
    const convert = convertCustomTypes && prop.customType ? prop.customType : undefined;
    const texts = new Array<string | null>(rows.length);
    // Rows of one request share their timestamps: format each distinct one once.
    let lastDate: Date | undefined;
    let lastDateText = '';
    for (let i = 0; i < rows.length; i++) {
      let value = rows[i][prop.name];
      if (value === null && prop.nullable) {
        texts[i] = null;
        continue;
      }
      value ??= prop.default;
      if (value === undefined) {
        // MikroORM writes `default` here, which an array element cannot say; for a nullable column without a
        // database default (the schema test keeps columns and metadata in step) that is NULL.
        if (!prop.nullable || prop.defaultRaw) return UNSUPPORTED;
        texts[i] = null;
        continue;
      }
      if (Utils.isRawSql(value)) return UNSUPPORTED;
      if (convert) value = convert.convertToDatabaseValue(value, this.platform, { key: prop.name, mode: 'query-data' });
      if (value === null || value === undefined) texts[i] = null;
      else if (typeof value === 'string') texts[i] = value;
      else if (json) texts[i] = JSON.stringify(value);
      else if (typeof value === 'number' || typeof value === 'bigint') texts[i] = String(value);
      else if (typeof value === 'boolean') texts[i] = value ? 't' : 'f';
      else if (value instanceof Date) {
        if (value !== lastDate) {
          lastDate = value;
          lastDateText = (this.platform as PostgreSqlPlatform).formatDate(value);
        }
        texts[i] = lastDateText;
      } else if (Utils.isPlainObject(value)) texts[i] = JSON.stringify(value);
      else return UNSUPPORTED;
    }
    return texts;
  }
}

/**
 * A column as a string literal holding a PostgreSQL array literal, `E'{"a","b",NULL}'`, handed to MikroORM as raw
 * SQL: it inlines parameters into the statement, and its own quoting would walk such a string one character at a time.
 */
function arrayLiteral(texts: ReadonlyArray<string | null>) {
  const literal = pgArrayLiteral(texts);
  const escaped = literal.includes('\\') || literal.includes("'") ? literal.replace(/\\/g, '\\\\').replace(/'/g, "''") : literal;
  return raw(`E'${escaped}'`);
}
