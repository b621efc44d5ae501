import type { TestApp } from './harness';
import { waitFor } from './wait';

/** Uploads `body` to POST /imports through the app's listening server (a real HTTP request, body streamed). */
export async function upload(
  base: string,
  token: string | undefined,
  body: string | Buffer | AsyncIterable<Uint8Array>,
  options: { contentType?: string; query?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const streamed = typeof body !== 'string' && !Buffer.isBuffer(body);
  const response = await fetch(`${base}/imports${options.query ? `?${options.query}` : ''}`, {
    method: 'POST',
    headers: { 'content-type': options.contentType ?? 'text/csv', ...(token ? { authorization: `Bearer ${token}` } : {}), ...options.headers },
    body: streamed ? (ReadableStreamFrom(body as AsyncIterable<Uint8Array>) as any) : (body as any),
    ...(streamed ? { duplex: 'half' } : {}),
  } as RequestInit);
  const text = await response.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

function ReadableStreamFrom(source: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  return new ReadableStream({
    async pull(controller) {
      const { value, done } = await iterator.next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}

export async function getImport(base: string, token: string, id: string) {
  const response = await fetch(`${base}/imports/${id}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as any };
}

export async function waitForImport(base: string, token: string, id: string, statuses = ['COMPLETED', 'FAILED', 'CANCELLED'], timeoutMs = 60_000) {
  return waitFor(
    async () => {
      const { body } = await getImport(base, token, id);
      return statuses.includes(body.status) ? body : null;
    },
    timeoutMs,
    `import ${id} to reach ${statuses.join('/')}`,
  );
}

export async function results(base: string, token: string, id: string, accept = 'text/csv') {
  const response = await fetch(`${base}/imports/${id}/results`, { headers: { authorization: `Bearer ${token}`, accept } });
  return { status: response.status, contentType: response.headers.get('content-type'), text: await response.text() };
}

export async function resultRows(base: string, token: string, id: string): Promise<any[]> {
  const { text } = await results(base, token, id, 'application/x-ndjson');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

export async function listen(t: TestApp): Promise<string> {
  await t.app.server.listen({ port: 0, host: '127.0.0.1' });
  const address = t.app.server.server.address() as { port: number };
  return `http://127.0.0.1:${address.port}`;
}

export function csv(header: string, rows: string[]): string {
  return [header, ...rows].join('\n') + '\n';
}
