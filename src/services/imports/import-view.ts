import { InviteImportStatus } from '../../entities';

/** An import as every surface shows it (REST `GET /imports/<id>`, GraphQL `InviteImport`). */
export interface InviteImportView {
  id: string;
  status: InviteImportStatus;
  format: string;
  totalRows: number | null;
  processedRows: number;
  successful: number;
  failed: number;
  /** 0 to 100: processed rows of all rows; 100 once the import has ended with every row processed. */
  percent: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
  /** Where the row results are (relative to the service's base URL). */
  resultsUrl: string | null;
  /** True once cancelInviteImport was asked and before the runner stopped. */
  cancelRequested: boolean;
}

/** A row of `invite_import` as the driver returns it. */
export interface InviteImportRecord {
  id: string;
  tenant_id: string;
  status: InviteImportStatus;
  format: string;
  total_rows: number;
  processed_rows: number;
  successful: number;
  failed: number;
  send_email: boolean;
  redirect_url: string | null;
  message: string | null;
  invited_by: string;
  idempotency_key: string | null;
  request_hash: string | null;
  cancel_requested: boolean;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export const IMPORT_COLUMNS = `id, tenant_id, status, format, total_rows, processed_rows, successful, failed, send_email, redirect_url, message,
  invited_by, idempotency_key, request_hash, cancel_requested, error, created_at, started_at, finished_at`;

const iso = (date: Date | string | null) => (date === null ? null : new Date(date).toISOString());

export function importView(record: InviteImportRecord): InviteImportView {
  const total = Number(record.total_rows);
  const processed = Number(record.processed_rows);
  return {
    id: record.id,
    status: record.status,
    format: record.format,
    totalRows: total,
    processedRows: processed,
    successful: Number(record.successful),
    failed: Number(record.failed),
    percent: total === 0 ? (record.status === InviteImportStatus.COMPLETED ? 100 : 0) : Math.floor((processed / total) * 1000) / 10,
    createdAt: iso(record.created_at)!,
    startedAt: iso(record.started_at),
    finishedAt: iso(record.finished_at),
    error: record.error,
    resultsUrl: `/imports/${record.id}/results`,
    cancelRequested: record.cancel_requested,
  };
}
