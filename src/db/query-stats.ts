import { AsyncLocalStorage } from 'node:async_hooks';
import { DefaultLogger, type LogContext, type LoggerOptions } from '@mikro-orm/core';

export interface QueryStats {
  statements: number;
}

const storage = new AsyncLocalStorage<QueryStats>();

/** Runs `fn` and counts every SQL statement MikroORM sends on its behalf. */
export async function countStatements<T>(fn: () => Promise<T>): Promise<{ result: T; statements: number }> {
  const stats: QueryStats = { statements: 0 };
  const result = await storage.run(stats, fn);
  return { result, statements: stats.statements };
}

export function currentQueryStats(): QueryStats | undefined {
  return storage.getStore();
}

export class QueryCountingLogger extends DefaultLogger {
  constructor(options: LoggerOptions) {
    super(options);
  }

  override logQuery(context: { query: string } & LogContext): void {
    const stats = storage.getStore();
    if (stats) stats.statements++;
    super.logQuery(context);
  }
}
