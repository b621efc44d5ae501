import pino from 'pino';
import pretty from 'pino-pretty';

export type Logger = pino.Logger;

export interface LoggerOptions {
  /** Human-readable lines (development); otherwise one JSON object per line, for log collectors. */
  pretty?: boolean;
  /** Where lines go instead of stdout (tests read them back). */
  destination?: pino.DestinationStream;
}

/** SQLSTATE: five characters, digits and upper-case letters. */
const SQLSTATE = /^[0-9A-Z]{5}$/;
/** Longest SQL text kept in a log line; long enough to recognise the statement. */
const MAX_SQL_CHARS = 500;

interface DatabaseErrorLike {
  name?: string;
  message?: string;
  code?: unknown;
  sqlState?: unknown;
  severity?: unknown;
  constraint?: unknown;
  table?: unknown;
  column?: unknown;
  schema?: unknown;
  routine?: unknown;
  stack?: string;
  cause?: unknown;
}

/**
 * An error from PostgreSQL, raw (pg's DatabaseError) or wrapped by MikroORM (a DriverException, which copies the
 * pg fields and prefixes the message with the whole statement).
 */
export function isDatabaseError(value: unknown): value is DatabaseErrorLike {
  if (!value || typeof value !== 'object') return false;
  const error = value as DatabaseErrorLike;
  const code = error.sqlState ?? error.code;
  return typeof code === 'string' && SQLSTATE.test(code) && (typeof error.severity === 'string' || typeof error.sqlState === 'string' || /Exception$/.test(error.name ?? ''));
}

/**
 * SQL with its literal values taken out. MikroORM inlines every parameter into the statement it reports, so a
 * failed insert of 10,000 invitations carries every invitee's email in its message: quoted strings (array
 * literals included) and numbers become `?`.
 */
export function sqlWithoutValues(sql: string): string {
  const stripped = sql
    .replace(/[EeBbXxUu]?&?'(?:[^']|'')*'/g, '?')
    .replace(/\$\$[\s\S]*?\$\$/g, '?')
    .replace(/(?<![\w"$])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi, '?');
  return stripped.length > MAX_SQL_CHARS ? `${stripped.slice(0, MAX_SQL_CHARS)}…` : stripped;
}

/** Only the stack frames: the stack's first lines repeat the message, values and all. */
function framesOf(stack: string | undefined): string | undefined {
  if (!stack) return undefined;
  const frames = stack.split('\n').filter((line) => /^\s+at /.test(line));
  return frames.length ? frames.join('\n') : undefined;
}

/**
 * What a log line keeps of a database error: its kind, SQLSTATE, the constraint/table/column it names and the
 * statement without values. Never `message` as the driver wrote it (the statement with values), nor `detail`
 * (`Key (email)=(someone@example.com) already exists`), nor `where`, `hint` or parameters.
 */
function serializeDatabaseError(error: DatabaseErrorLike): Record<string, unknown> {
  // MikroORM: "<statement> - <PostgreSQL's message>", then "\n - detail: …" and "\n - hint: …" lines.
  // PostgreSQL's own messages quote values too (`invalid input syntax for type uuid: "…"`), so only the
  // statement is kept, without its values.
  const text = typeof error.message === 'string' ? error.message.replace(/\n - (?:detail|hint): [\s\S]*$/, '') : '';
  const separator = text.lastIndexOf(' - ');
  const sql = separator > 0 ? text.slice(0, separator) : undefined;
  const code = (error.sqlState ?? error.code) as string;
  const out: Record<string, unknown> = { type: error.name ?? 'DatabaseError', code, message: `database error ${code}` };
  for (const key of ['constraint', 'table', 'column', 'schema', 'routine'] as const) {
    if (typeof error[key] === 'string') out[key] = error[key];
  }
  if (out.constraint) out.message += ` on constraint ${String(out.constraint)}`;
  if (sql) out.sql = sqlWithoutValues(sql);
  const stack = framesOf(error.stack);
  if (stack) out.stack = stack;
  return out;
}

/** pino's error serializer, except that database errors (also as a `cause`) keep no row values. */
export function serializeError(value: unknown): unknown {
  if (isDatabaseError(value)) return serializeDatabaseError(value);
  if (!(value instanceof Error)) return value;
  const serialized = pino.stdSerializers.err(value) as unknown as Record<string, unknown>;
  const cause = (value as DatabaseErrorLike).cause;
  if (cause !== undefined) {
    // pino appends every cause's message and stack to the error's own; the cause is serialized on its own instead.
    serialized.message = value.message;
    serialized.stack = value.stack;
    serialized.cause = serializeError(cause);
  }
  return serialized;
}

/** A log message for an error: a database error's own message would carry the statement's values. */
export function safeErrorMessage(error: unknown): string | undefined {
  if (isDatabaseError(error)) return serializeDatabaseError(error).message as string;
  return error instanceof Error ? error.message : undefined;
}

export function createLogger(level: string, options: LoggerOptions = {}): Logger {
  const settings: pino.LoggerOptions = {
    level,
    base: undefined,
    redact: ['req.headers.authorization', 'headers.authorization'],
    serializers: { err: serializeError, error: serializeError },
  };
  if (options.destination) return pino(settings, options.destination);
  if (!options.pretty) return pino(settings);
  // In-process and synchronous (no transport thread): lines appear in order with what the process prints itself.
  return pino(
    settings,
    pretty({ sync: true, colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true }),
  );
}
