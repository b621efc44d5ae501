/** One line of an import's results (contract section 9), in the order of the file. */
export interface ImportResultRow {
  /** 1-based data row. */
  row: number;
  /** The physical line of the file where the row starts. */
  line: number;
  email: string | null;
  /** `invited` or `failed`; `pending` while the import has not reached the row, `not_processed` once it stopped before it. */
  outcome: string;
  code: string | null;
  message: string | null;
  userId: string | null;
  invitationId: string | null;
}

export const RESULT_COLUMNS = ['row', 'line', 'email', 'outcome', 'code', 'message', 'userId', 'invitationId'] as const;

export type ResultsFormat = 'csv' | 'ndjson';

/**
 * A spreadsheet opening the file must not run a cell as a formula (CSV injection, OWASP): a cell beginning with
 * `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`.
 */
export function neutralizeFormula(cell: string): string {
  return /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell;
}

/** RFC 4180: quoted when it holds a comma, a quote or a line break; quotes doubled. */
function csvCell(value: string | number | null): string {
  if (value === null) return '';
  const cell = neutralizeFormula(String(value));
  return /[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}

export function resultsHeader(format: ResultsFormat): string {
  return format === 'csv' ? `${RESULT_COLUMNS.join(',')}\r\n` : '';
}

/** One result as a line of the requested format, line end included. */
export function formatResult(result: ImportResultRow, format: ResultsFormat): string {
  if (format === 'ndjson') {
    const { row, line, email, outcome, code, message, userId, invitationId } = result;
    return `${JSON.stringify({ row, line, email, outcome, code, message, userId, invitationId })}\n`;
  }
  return `${RESULT_COLUMNS.map((column) => csvCell(result[column])).join(',')}\r\n`;
}
