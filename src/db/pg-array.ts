/**
 * A PostgreSQL array literal (`{"a",NULL}`) for one text parameter that the statement casts (`?::uuid[]`): one
 * parameter however many values, instead of a placeholder (or an inlined literal) per value.
 */
export function pgArrayLiteral(values: ReadonlyArray<string | null>): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i) out += ',';
    out += v === null ? 'NULL' : /["\\]/.test(v) ? `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : `"${v}"`;
  }
  return `${out}}`;
}
