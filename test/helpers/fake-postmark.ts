import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedMessage {
  From: string;
  To: string;
  Subject: string;
  HtmlBody: string;
  TextBody: string;
  MessageStream: string;
  Metadata?: Record<string, string>;
  MessageID: string;
  /** Set on messages sent through /email/batchWithTemplates (which carry no Subject or bodies). */
  TemplateAlias?: string;
  TemplateModel?: Record<string, unknown>;
}

/**
 * A loopback stand-in for Postmark's API: records what it accepts and fails on cue
 * (whole-call status codes, per-recipient 406, slow answers).
 */
export class FakePostmark {
  readonly accepted: RecordedMessage[] = [];
  batchCalls = 0;
  /** Whole-call failures to answer next, in order (e.g. [500, 500]). */
  failNext: number[] = [];
  /** Recipients answered with ErrorCode 406 (inactive). */
  inactive = new Set<string>();
  /** Delay before answering a batch call; the batch is recorded before the delay (as a real provider would). */
  delayMs = 0;
  /** Called when a batch call arrives, after recording it. */
  onBatch?: (messages: RecordedMessage[]) => void;
  private server?: Server;
  acceptMs = 0;

  private port = 0;

  /** Starts listening; after stop(), start() comes back on the same port (the provider "is back"). */
  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  recipients(): string[] {
    return this.accepted.map((m) => m.To);
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.headers['x-postmark-server-token'] !== 'test-token') return send(401, { ErrorCode: 10, Message: 'Bad token' });
    const url = new URL(req.url ?? '/', 'http://localhost');

    const templated = url.pathname === '/email/batchWithTemplates';
    if (req.method === 'POST' && (url.pathname === '/email/batch' || templated)) {
      this.batchCalls++;
      const started = process.hrtime.bigint();
      const failure = this.failNext.shift();
      if (failure) return send(failure, { ErrorCode: failure === 429 ? 429 : 0, Message: `Injected ${failure}` });
      const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const messages = (templated ? parsed?.Messages : parsed) as RecordedMessage[];
      if (templated && !messages?.every((m) => m.TemplateAlias && m.TemplateModel)) return send(422, { ErrorCode: 1101, Message: 'TemplateAlias and TemplateModel required' });
      if (!Array.isArray(messages) || messages.length > 500) return send(422, { ErrorCode: 300, Message: 'Invalid batch' });
      const answers = messages.map((message) => {
        if (this.inactive.has(message.To)) {
          return { ErrorCode: 406, Message: 'You tried to send to a recipient that has been marked as inactive.', To: message.To };
        }
        const MessageID = randomUUID();
        this.accepted.push({ ...message, MessageID });
        return { ErrorCode: 0, Message: 'OK', MessageID, SubmittedAt: new Date().toISOString(), To: message.To };
      });
      this.acceptMs += Number(process.hrtime.bigint() - started) / 1e6;
      this.onBatch?.(messages as RecordedMessage[]);
      if (this.delayMs) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      return send(200, answers);
    }

    if (req.method === 'GET' && url.pathname === '/messages/outbound') {
      const claim = url.searchParams.get('metadata_claim_id');
      const count = Number(url.searchParams.get('count') ?? 100);
      const offset = Number(url.searchParams.get('offset') ?? 0);
      const matching = this.accepted.filter((m) => !claim || m.Metadata?.claim_id === claim);
      return send(200, {
        TotalCount: matching.length,
        Messages: matching.slice(offset, offset + count).map((m) => ({ MessageID: m.MessageID, To: [{ Email: m.To }], Metadata: m.Metadata })),
      });
    }
    send(404, { ErrorCode: 404, Message: 'Not found' });
  }
}
