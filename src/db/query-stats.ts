import { AsyncLocalStorage } from 'node:async_hooks';
import { DefaultLogger, type LogContext, type LoggerOptions } from '@mikro-orm/core';

export interface QueryStats {
  statements: number;
  /** Filled only when asked for (profiling): each statement's start and duration. */
  timings?: Array<{ sql: string; ms: number }>;
  /** Filled only when asked for: each INSERT's table and whether it went as one unnest statement or a VALUES list. */
  inserts?: Array<{ table: string; unnest: boolean }>;
}

const storage = new AsyncLocalStorage<QueryStats>();

/** Runs `fn` and counts every SQL statement MikroORM sends on its behalf. */
export async function countStatements<T>(
  fn: () => Promise<T>,
  options: { timings?: boolean; inserts?: boolean } = {},
): Promise<{ result: T; statements: number; timings?: QueryStats['timings']; inserts?: QueryStats['inserts'] }> {
  const stats: QueryStats = { statements: 0, ...(options.timings ? { timings: [] } : {}), ...(options.inserts ? { inserts: [] } : {}) };
  const result = await storage.run(stats, fn);
  return { result, statements: stats.statements, timings: stats.timings, inserts: stats.inserts };
}

export class QueryCountingLogger extends DefaultLogger {
  constructor(options: LoggerOptions) {
    super(options);
  }

  override logQuery(context: { query: string; took?: number } & LogContext): void {
    const stats = storage.getStore();
    if (stats) {
      stats.statements++;
      stats.timings?.push({ sql: context.query.slice(0, 90), ms: Number(context.took ?? 0) });
      const insert = stats.inserts && /^insert into "?(\w+)"?/.exec(context.query);
      if (insert) stats.inserts!.push({ table: insert[1], unnest: /\) select .* from unnest\(/s.test(context.query) });
    }
    super.logQuery(context);
  }
}
