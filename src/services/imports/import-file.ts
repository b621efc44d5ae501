import { Parser } from 'csv-parse';
import type { GroupAssignment, InviteUserCommand } from '../bulk-invite';
import { DomainError } from '../errors';

export type ImportFormat = 'csv' | 'ndjson';

/** One data row of an uploaded file, as stored before it is processed. */
export interface ImportFileRow {
  /** 1-based data row (the header is not a row). */
  row: number;
  /** The physical line of the file where the row starts (1-based; the CSV header is line 1). */
  line: number;
  /** What the row asks for; null when the file itself is broken at this row (`error` says how). */
  input: InviteUserCommand | null;
  /** The row's email as written, when it can be read: shown in the results even for a broken row. */
  email: string | null;
  error: string | null;
}

export interface ImportFileLimits {
  maxRows: number;
  maxBytes: number;
}

/** The CSV columns (contract section 9): named like InviteUserInput; list columns hold ids separated by `;`. */
export const CSV_COLUMNS = [
  'email',
  'existingUserId',
  'firstName',
  'lastName',
  'nickName',
  'userType',
  'ipi',
  'role',
  'roleIds',
  'groupIds',
  'primaryGroupId',
  'positionIds',
  'managerId',
  'phone',
  'country',
  'locale',
  'metadata',
] as const;
type CsvColumn = (typeof CSV_COLUMNS)[number];

/** The fields of one JSON Lines object: InviteUserInput's. */
const NDJSON_FIELDS = new Set([
  'email',
  'existingUserId',
  'firstName',
  'lastName',
  'nickName',
  'userType',
  'ipi',
  'role',
  'roleIds',
  'groups',
  'managerId',
  'positionIds',
  'phone',
  'country',
  'locale',
  'metadata',
]);
const TEXT_FIELDS = ['email', 'existingUserId', 'firstName', 'lastName', 'nickName', 'userType', 'ipi', 'role', 'managerId', 'phone', 'country', 'locale'] as const;

const COLUMN_BY_LOWER = new Map<string, CsvColumn>(CSV_COLUMNS.map((c) => [c.toLowerCase(), c]));

function tooLarge(message: string): DomainError {
  return new DomainError('TOO_MANY_USERS', message);
}

/**
 * The file's bytes as text, refused as a whole when it is over `maxBytes` (413) or not UTF-8 (400). CRLF line
 * ends become LF (also inside quoted fields), so that every line break counts as one line.
 */
async function* utf8Text(body: AsyncIterable<Buffer | string>, maxBytes: number): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let bytes = 0;
  let lines = 1;
  let pendingCr = false;
  for await (const piece of body) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece) : piece;
    bytes += chunk.length;
    if (bytes > maxBytes) throw tooLarge(`The file is larger than ${maxBytes} bytes (IMPORT_MAX_BYTES)`);
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      // The line of the first undecodable byte, as far as this chunk tells.
      const lenient = new TextDecoder('utf-8').decode(chunk);
      const before = lenient.slice(0, Math.max(0, lenient.indexOf('\uFFFD')));
      throw new DomainError('BAD_USER_INPUT', `The file is not valid UTF-8 (from line ${lines + countLines(before)})`);
    }
    if (pendingCr) text = '\r' + text;
    pendingCr = text.endsWith('\r');
    if (pendingCr) text = text.slice(0, -1);
    text = text.replace(/\r\n/g, '\n');
    lines += countLines(text);
    if (text) yield text;
  }
  let rest: string;
  try {
    rest = decoder.decode();
  } catch {
    throw new DomainError('BAD_USER_INPUT', `The file is not valid UTF-8 (it ends inside a character, line ${lines})`);
  }
  if (pendingCr) rest = '\r' + rest;
  if (rest) yield rest;
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function text(value: string | undefined): string | null {
  const trimmed = value?.trim();
  return trimmed ? trimmed : null;
}

function idList(value: string | undefined): string[] {
  return (value ?? '')
    .split(';')
    .map((id) => id.trim())
    .filter(Boolean);
}

/** The header row: every column named (case-insensitively) as in CSV_COLUMNS, none twice; else 400 naming them. */
export function checkCsvHeader(fields: readonly string[]): CsvColumn[] {
  const columns: CsvColumn[] = [];
  const unknown: string[] = [];
  for (const field of fields) {
    const column = COLUMN_BY_LOWER.get(field.trim().toLowerCase());
    if (column) columns.push(column);
    else unknown.push(field.trim() === '' ? '(empty)' : field.trim());
  }
  if (unknown.length) throw new DomainError('BAD_USER_INPUT', `Unknown column${unknown.length > 1 ? 's' : ''}: ${unknown.map((u) => u.slice(0, 100)).join(', ')} (expected some of: ${CSV_COLUMNS.join(', ')})`);
  const twice = columns.filter((c, i) => columns.indexOf(c) !== i);
  if (twice.length) throw new DomainError('BAD_USER_INPUT', `Column named twice: ${[...new Set(twice)].join(', ')}`);
  if (!columns.includes('email') && !columns.includes('existingUserId')) {
    throw new DomainError('BAD_USER_INPUT', 'The header row needs an email (or existingUserId) column');
  }
  return columns;
}

/** One CSV record as the person it names. Empty cells are absent values. */
export function csvRecordToInvite(columns: readonly CsvColumn[], record: readonly string[]): InviteUserCommand {
  const cell: Partial<Record<CsvColumn, string>> = {};
  columns.forEach((column, i) => (cell[column] = record[i]));
  const input: InviteUserCommand = {};
  for (const field of TEXT_FIELDS) {
    const value = text(cell[field]);
    if (value !== null) input[field] = value;
  }
  const roleIds = idList(cell.roleIds);
  if (roleIds.length) input.roleIds = roleIds;
  const positionIds = idList(cell.positionIds);
  if (positionIds.length) input.positionIds = positionIds;
  const primary = text(cell.primaryGroupId);
  const groups: GroupAssignment[] = idList(cell.groupIds).map((groupId) => ({ groupId, isPrimaryOrg: primary !== null && groupId.toLowerCase() === primary.toLowerCase() }));
  if (primary !== null && !groups.some((g) => g.isPrimaryOrg)) groups.push({ groupId: primary, isPrimaryOrg: true });
  if (groups.length) input.groups = groups;
  const metadata = text(cell.metadata);
  if (metadata !== null) {
    // Not JSON: handed over as the text it is, which the person's checks refuse like any metadata that is not an object.
    try {
      input.metadata = JSON.parse(metadata);
    } catch {
      input.metadata = metadata;
    }
  }
  return input;
}

/**
 * One JSON Lines object as the person it names; a string naming what is wrong when the line is not one.
 * A field InviteUserInput does not have refuses the whole file (like an unknown CSV column), so a typo cannot
 * be mistaken for an absent value.
 */
export function jsonLineToInvite(line: string, lineNumber: number): InviteUserCommand | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return `Line ${lineNumber} is not valid JSON: ${(error as Error).message.slice(0, 200)}`;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return `Line ${lineNumber} is not a JSON object`;
  const object = value as Record<string, unknown>;
  const unknown = Object.keys(object).filter((key) => !NDJSON_FIELDS.has(key));
  if (unknown.length) throw new DomainError('BAD_USER_INPUT', `Unknown field${unknown.length > 1 ? 's' : ''} on line ${lineNumber}: ${unknown.map((u) => u.slice(0, 100)).join(', ')}`);
  for (const field of TEXT_FIELDS) {
    const v = object[field];
    if (v !== undefined && v !== null && typeof v !== 'string') return `Line ${lineNumber}: ${field} must be a string`;
  }
  for (const field of ['roleIds', 'positionIds'] as const) {
    const v = object[field];
    if (v !== undefined && v !== null && !(Array.isArray(v) && v.every((id) => typeof id === 'string'))) return `Line ${lineNumber}: ${field} must be a list of ids`;
  }
  const groups = object.groups;
  if (
    groups !== undefined &&
    groups !== null &&
    !(
      Array.isArray(groups) &&
      groups.every((g) => g && typeof g === 'object' && typeof g.groupId === 'string' && (g.isPrimaryOrg === undefined || g.isPrimaryOrg === null || typeof g.isPrimaryOrg === 'boolean'))
    )
  ) {
    return `Line ${lineNumber}: groups must be a list of { groupId, isPrimaryOrg }`;
  }
  return object as InviteUserCommand;
}

/**
 * Reads an uploaded file as it arrives, yielding its rows in batches (never the whole file). Problems of the
 * file as a whole (over the limits, not UTF-8, an unknown column or field, no header) throw a DomainError;
 * problems of one row (a CSV record with the wrong number of fields or broken quoting, a line that is not a JSON
 * object) become that row's `error`, and the other rows go on.
 */
export async function* readImportFile(body: AsyncIterable<Buffer | string>, format: ImportFormat, limits: ImportFileLimits): AsyncGenerator<ImportFileRow[]> {
  const reader = format === 'csv' ? csvRows : jsonLines;
  let rows = 0;
  for await (const batch of reader(utf8Text(body, limits.maxBytes))) {
    rows += batch.length;
    if (rows > limits.maxRows) throw tooLarge(`The file has more than ${limits.maxRows} rows (IMPORT_MAX_ROWS)`);
    if (batch.length) yield batch;
  }
}

async function* jsonLines(chunks: AsyncIterable<string>): AsyncGenerator<ImportFileRow[]> {
  /** The text after the last line break so far, in the pieces it came in. */
  let carry: string[] = [];
  let lineNumber = 0;
  let row = 0;
  const toRow = (line: string): ImportFileRow | null => {
    lineNumber++;
    if (lineNumber === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    if (line.trim() === '') return null; // blank lines separate nothing
    const input = jsonLineToInvite(line, lineNumber);
    row++;
    if (typeof input === 'string') {
      const email = /"email"\s*:\s*"([^"\\]{1,254})"/.exec(line)?.[1] ?? null;
      return { row, line: lineNumber, input: null, email, error: input };
    }
    return { row, line: lineNumber, input, email: typeof input.email === 'string' ? input.email : null, error: null };
  };
  for await (const chunk of chunks) {
    const end = chunk.lastIndexOf('\n');
    if (end === -1) {
      // A line longer than a chunk: its pieces are joined once, when it ends, not once per chunk (quadratic).
      carry.push(chunk);
      continue;
    }
    carry.push(chunk.slice(0, end));
    const lines = carry.join('').split('\n');
    carry = [chunk.slice(end + 1)];
    const batch: ImportFileRow[] = [];
    for (const line of lines) {
      const parsed = toRow(line);
      if (parsed) batch.push(parsed);
    }
    yield batch;
  }
  const last = toRow(carry.join(''));
  if (last) yield [last];
}

async function* csvRows(chunks: AsyncIterable<string>): AsyncGenerator<ImportFileRow[]> {
  let columns: CsvColumn[] | null = null;
  let failure: unknown = null;
  let pending: ImportFileRow[] = [];
  let row = 0;
  /** The line the last record ended on, and the blank lines skipped by then: the next record starts after both. */
  let lastEndLine = 0;
  let lastEmptyLines = 0;
  const startOf = (endLine: number, emptyLines: number) => {
    const start = lastEndLine + 1 + (emptyLines - lastEmptyLines);
    lastEndLine = endLine;
    lastEmptyLines = emptyLines;
    return start;
  };
  const parser = new Parser({
    bom: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    // Every record is taken here, synchronously and in order with the skipped ones; none goes through the stream.
    on_record: (record: string[], context: { lines: number; empty_lines: number }) => {
      const line = startOf(context.lines, context.empty_lines);
      if (failure) return null;
      try {
        if (!columns) {
          columns = checkCsvHeader(record);
          return null;
        }
        row++;
        const emailAt = columns.indexOf('email');
        const email = emailAt >= 0 ? (text(record[emailAt]) ?? null) : null;
        if (record.length !== columns.length) {
          pending.push({ row, line, input: null, email, error: `Line ${line} has ${record.length} fields; the header has ${columns.length}` });
        } else {
          pending.push({ row, line, input: csvRecordToInvite(columns, record), email, error: null });
        }
      } catch (error) {
        failure = error;
      }
      return null;
    },
  });
  parser.on('skip', (error: Error & { lines?: number; empty_lines?: number }) => {
    const line = startOf(error.lines ?? lastEndLine + 1, error.empty_lines ?? lastEmptyLines);
    if (failure) return;
    if (!columns) {
      failure = new DomainError('BAD_USER_INPUT', `The header row cannot be read: ${error.message}`);
      return;
    }
    row++;
    pending.push({ row, line, input: null, email: null, error: `Line ${line}: ${error.message}` });
  });
  const take = () => {
    if (failure) throw failure;
    const batch = pending;
    pending = [];
    return batch;
  };
  // Written chunk by chunk: csv-parse handles each write synchronously, calling on_record for each record.
  for await (const chunk of chunks) {
    parser.write(chunk);
    yield take();
  }
  const ended = new Promise<void>((resolve, reject) => {
    parser.on('end', resolve);
    parser.on('error', reject);
  });
  parser.end();
  parser.resume();
  await ended;
  const last = take();
  if (!columns) throw new DomainError('BAD_USER_INPUT', 'The file is empty: a CSV import starts with a header row');
  yield last;
}
