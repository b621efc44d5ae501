import { AsyncLocalStorage } from 'node:async_hooks';
import { DefaultLogger, type LogContext, type LoggerOptions } from '@mikro-orm/core';

export interface QueryStats {
  statements: number;
  /** Filled only when asked for (profiling): each statement's start and duration. */
  timings?: Array<{ sql: string; ms: number }>;
}

const storage = new AsyncLocalStorage<QueryStats>();

/** Runs `fn` and counts every SQL statement MikroORM sends on its behalf. */
export async function countStatements<T>(
  fn: () => Promise<T>,
  options: { timings?: boolean } = {},
): Promise<{ result: T; statements: number; timings?: QueryStats['timings'] }> {
  const stats: QueryStats = { statements: 0, ...(options.timings ? { timings: [] } : {}) };
  const result = await storage.run(stats, fn);
  return { result, statements: stats.statements, timings: stats.timings };
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
    }
    super.logQuery(context);
  }
}
