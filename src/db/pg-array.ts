/**
 * A PostgreSQL array literal (`{"a",NULL}`) for one text parameter that the statement casts (`?::uuid[]`): one
 * parameter however many values, instead of a placeholder (or an inlined literal) per value.
 */
export function pgArrayLiteral(values: ReadonlyArray<string | null>): string {
  const elements = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    elements[i] =
      v === null ? 'NULL' : v.includes('"') || v.includes('\\') ? `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : `"${v}"`;
  }
  // One join builds a flat string; appending element by element builds a rope that is flattened later anyway.
  return `{${elements.join(',')}}`;
}
