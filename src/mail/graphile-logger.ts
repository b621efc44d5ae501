import { Logger as GraphileLogger } from 'graphile-worker';
import type { Logger } from '../logger';

/** graphile-worker's routine chatter goes to debug; its warnings and errors stay visible. */
export function graphileLogger(log: Logger): GraphileLogger {
  const child = log.child({ component: 'graphile-worker' });
  return new GraphileLogger(() => (level, message, meta) => {
    if (level === 'error') child.error(meta ?? {}, message);
    else if (level === 'warning') child.warn(meta ?? {}, message);
    else child.debug(meta ?? {}, message);
  });
}
