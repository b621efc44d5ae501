const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/**
 * Ids compare case-insensitively (a UUID in upper case is the same id): every id that reaches a lookup or a row
 * goes through here. The same id twice counts once, first occurrence kept.
 */
export function canonicalId(id: string): string {
  return id.toLowerCase();
}
