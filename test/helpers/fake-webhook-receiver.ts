import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ReceivedWebhook {
  headers: Record<string, string>;
  body: string;
  at: number;
}

/** What the receiver does with the next request: answer a status, hang, drop the connection, or redirect. */
export type Behaviour = number | 'hang' | 'close' | { redirect: string };

/**
 * A loopback webhook receiver that records every request and misbehaves on cue: `script` is consumed one
 * behaviour per request, then `otherwise` answers.
 */
export class FakeWebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  script: Behaviour[] = [];
  otherwise: Behaviour = 200;
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  bodies(): Array<{ type: string; timestamp: string; data: Record<string, any> }> {
    return this.received.map((r) => JSON.parse(r.body));
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    this.received.push({ headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
    const behaviour = this.script.length ? this.script.shift()! : this.otherwise;
    if (behaviour === 'hang') return; // never answers; the sender's timeout ends it
    if (behaviour === 'close') {
      req.socket.destroy();
      return;
    }
    if (typeof behaviour === 'object') {
      res.writeHead(302, { location: behaviour.redirect });
      res.end();
      return;
    }
    res.writeHead(behaviour, { 'content-type': 'text/plain' });
    res.end('ok');
  }
}
