/**
 * Characters that change how surrounding text is displayed rather than adding to it: C0 and C1 controls
 * (NUL, tab, CR/LF, DEL, U+0085 NEXT LINE), the line and paragraph separators U+2028/U+2029, and the bidirectional
 * marks, embeddings, overrides and isolates (U+061C, U+200E/F, U+202A-U+202E, U+2066-U+2069). In a name they
 * let someone forge an email subject ("Acme<RLO>moc.evil") or break a log line or header.
 */
const DISPLAY_CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const DISPLAY_CONTROL_ALL = new RegExp(DISPLAY_CONTROL.source, 'g');

export function hasDisplayControl(value: string): boolean {
  return DISPLAY_CONTROL.test(value);
}

/** For text already stored: every such character becomes a space, runs of spaces collapse, ends are trimmed. */
export function stripDisplayControls(value: string): string {
  return value.replace(DISPLAY_CONTROL_ALL, ' ').replace(/ {2,}/g, ' ').trim();
}
