import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './processes';

export const SHARED_SEEDS = join(ROOT, '..', 'shared', 'seeds');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'seed-samples.json');

export interface SeedSamples {
  aptlydone: { request: any; response: any };
  royalti: { request: any; response: any };
}

/** Every top-level JSON object in a text (the seeds are curl commands with JSON bodies and answers). */
export function jsonObjectsIn(text: string): any[] {
  const found: any[] = [];
  for (let start = text.indexOf('{'); start >= 0; start = text.indexOf('{', start + 1)) {
    let depth = 0;
    let inString = false;
    let escaped = false;
    for (let i = start; i < text.length; i++) {
      const c = text[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === '\\') escaped = true;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{') depth++;
      else if (c === '}' && --depth === 0) {
        try {
          found.push(JSON.parse(text.slice(start, i + 1)));
          start = i;
        } catch {
          // not JSON: keep scanning from the next brace
        }
        break;
      }
    }
  }
  return found;
}

export function samplesFromSharedSeeds(): SeedSamples | null {
  if (!existsSync(SHARED_SEEDS)) return null;
  const objects = readdirSync(SHARED_SEEDS)
    .filter((f) => f.endsWith('.txt'))
    .flatMap((f) => jsonObjectsIn(readFileSync(join(SHARED_SEEDS, f), 'utf8')));
  const find = (pred: (o: any) => boolean) => {
    const hit = objects.find(pred);
    if (!hit) throw new Error('a sample is missing from shared/seeds');
    return hit;
  };
  return {
    aptlydone: { request: find((o) => 'tenantId' in o && 'users' in o), response: find((o) => 'statusCode' in o && 'data' in o) },
    royalti: { request: find((o) => 'users' in o && 'sendEmail' in o), response: find((o) => 'createdUsers' in o) },
  };
}

/** The seeds' samples: from ../shared/seeds when it is there, else the committed copy (kept identical by a test). */
export function seedSamples(): SeedSamples {
  return samplesFromSharedSeeds() ?? JSON.parse(readFileSync(FIXTURE, 'utf8'));
}

export function committedSamples(): SeedSamples {
  return JSON.parse(readFileSync(FIXTURE, 'utf8'));
}

/** The shape of a JSON value: key sets of objects (recursively) and JSON types of leaves. */
export function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.length ? [shapeOf(value[0])] : [];
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, shapeOf((value as Record<string, unknown>)[k])]));
  }
  return value === null ? 'null' : Number.isInteger(value) ? 'integer' : typeof value;
}
