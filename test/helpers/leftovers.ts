import { readFileSync, readdirSync } from 'node:fs';

/** Processes whose command line names `path` (an embedded postmaster, its backends or an initdb under a data folder). */
export function processesUsing(path: string): { pid: number; command: string }[] {
  const found: { pid: number; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (command.includes(path)) found.push({ pid: Number(entry), command });
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** The lines a failed start printed, and whether any of them looks like a stack trace. */
export function failureLines(output: string): { lines: string[]; stack: boolean } {
  const lines = output.split('\n').filter((line) => line.trim() !== '');
  return { lines, stack: lines.some((line) => /^\s+at /.test(line)) };
}
