import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { ResolvedTarget } from '../services/webhooks/target-guard';

export type AttemptResult = { kind: 'answered'; status: number } | { kind: 'error'; error: string };

/**
 * One POST to a checked target. Connects to `target.address` (the address the guard approved), sends the host
 * name for TLS (SNI, certificate check) and in Host; follows no redirect (a 3xx is an answer like any other);
 * gives up after `timeoutMs` in total, a receiver that hangs included.
 */
export function postWebhook(target: ResolvedTarget, headers: Record<string, string>, body: string, timeoutMs: number): Promise<AttemptResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: AttemptResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    // Every lookup Node makes for this request answers the checked address: no second DNS query to rebind.
    const pinned: LookupFunction = (_hostname, options, callback) => {
      if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address: target.address, family: target.family }]);
      else callback(null, target.address, target.family);
    };
    const url = target.url;
    const options: RequestOptions & { servername?: string } = {
      method: 'POST',
      hostname: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'bulk-invite-webhooks' },
      lookup: pinned,
      agent: false,
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(options, (res) => {
      // The status decides, as soon as it arrives: a 2xx whose body is slow to follow is a success (not a timeout
      // and a duplicate delivery). The body is never used, so it is not read.
      finish({ kind: 'answered', status: res.statusCode ?? 0 });
      res.destroy();
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish({ kind: 'error', error: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
    req.on('error', (error) => finish({ kind: 'error', error: error.message.slice(0, 300) }));
    req.end(body);
  });
}
