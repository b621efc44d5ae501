import { createServer } from 'node:net';
import { ConfigError } from './config';
import type { Logger } from './logger';

/**
 * How the entry points (`npm start`, `npm run worker`) start and stop. A start that cannot complete prints one line
 * naming the cause and the variable to fix, undoes what it had started (the embedded PostgreSQL above all) and exits 1;
 * Ctrl-C or SIGTERM at any moment of the start does the same undoing and exits 130/143.
 */

/** A start that cannot complete; the message is one line naming the cause and the variable to fix. */
export class StartupError extends Error {}

export interface Startup {
  /** Aborted on Ctrl-C/SIGTERM during the start: steps that own child processes stop them and reject. */
  signal: AbortSignal;
  /** Registers how to undo what was just started; run in reverse order on a failed start and on shutdown. */
  onStop(stop: () => Promise<void>): void;
  /** Once the logger exists, shutdown messages go to it (errors with their cause) instead of stderr. */
  useLogger(log: Logger): void;
}

export interface ServiceOptions {
  /** Starts everything, registering how to stop each part as it goes; resolves once the service is ready. */
  start(startup: Startup): Promise<void>;
  /** Longest wait for a graceful shutdown before exiting anyway. */
  shutdownTimeoutMs?: number;
}

const ABORT_WAIT_MS = 15_000;
const SIGNAL_EXIT_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/** The one line printed for a failed start: the message of our own errors, the first line of anything else. */
export function startupFailureLine(error: unknown): string {
  if (error instanceof ConfigError || error instanceof StartupError) return `error: ${firstLine(error.message)}`;
  const message = error instanceof Error ? error.message : String(error);
  return `error: startup failed: ${firstLine(message) || (error as Error)?.name || 'unknown error'}`;
}

function firstLine(text: string): string {
  return text.split('\n').map((line) => line.trim()).find(Boolean) ?? '';
}

export function runService(options: ServiceOptions): void {
  const controller = new AbortController();
  const stops: (() => Promise<void>)[] = [];
  let phase: 'starting' | 'running' | 'stopping' = 'starting';
  // A logger exists only once the config is read; until then shutdown messages go to stderr.
  let log: Logger | undefined;
  const say = (message: string, error?: unknown) => {
    if (!log) console.error(message);
    else if (error) log.error({ err: error }, message);
    else log.info(message);
  };

  const undo = async () => {
    while (stops.length) {
      const stop = stops.pop()!;
      try {
        await stop();
      } catch (error) {
        say(`error while stopping: ${firstLine(String((error as Error)?.message ?? error))}`, error);
      }
    }
  };

  // Registered before anything starts, so that no moment of the start is without them.
  let starting: Promise<void> = Promise.resolve();
  const onSignal = (signal: NodeJS.Signals) => {
    if (phase === 'stopping') return;
    if (phase === 'starting') {
      phase = 'stopping';
      console.error(`${signal} during startup: stopping what was started`);
      controller.abort(new StartupError(`interrupted by ${signal}`));
      // Steps that own child processes react to the abort; waiting for them lets their stops be registered first.
      // A step that does not react (a long migration) is not waited for past the cap: exiting ends it.
      const cap = new Promise<void>((resolve) => setTimeout(resolve, ABORT_WAIT_MS));
      void Promise.race([starting, cap]).finally(async () => {
        await undo();
        process.exit(SIGNAL_EXIT_CODES[signal] ?? 1);
      });
      return;
    }
    shutdown(`${signal}: shutting down, finishing in-flight work`, 0);
  };
  const shutdown = (message: string, exitCode: number, error?: unknown) => {
    phase = 'stopping';
    say(message, error);
    const force = setTimeout(() => {
      say('shutdown took too long; exiting');
      process.exit(1);
    }, options.shutdownTimeoutMs ?? 30_000);
    force.unref();
    void undo().then(() => {
      say('stopped');
      process.exit(exitCode);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const failStart = async (error: unknown) => {
    if (phase !== 'starting') return; // interrupted: the signal handler is undoing and exits
    phase = 'stopping';
    console.error(startupFailureLine(error));
    await undo();
    process.exit(1);
  };
  // An error thrown outside the awaited chain (a socket's 'error' event, say) is still a failed start, not a stack trace.
  const onStray = (error: unknown) => {
    const message = `fatal: ${firstLine(String((error as Error)?.message ?? error))}`;
    if (phase === 'starting') void failStart(error);
    else if (phase === 'running') shutdown(`${message}; shutting down`, 1, error);
    else say(message, error);
  };
  process.on('uncaughtException', onStray);
  process.on('unhandledRejection', onStray);

  starting = (async () => {
    try {
      await options.start({ signal: controller.signal, onStop: (stop) => void stops.push(stop), useLogger: (logger) => void (log = logger) });
      controller.signal.throwIfAborted();
      if (phase === 'starting') phase = 'running';
    } catch (error) {
      await failStart(error);
    }
  })();
}

/** Fails fast, before a database is started, when the address to listen on is taken or not allowed. */
export async function assertCanListen(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error) => reject(listenFailure(error, host, port)));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}

export function listenFailure(error: unknown, host: string, port: number): Error {
  const code = (error as { code?: string })?.code;
  if (code === 'EADDRINUSE') return new StartupError(`PORT ${port} is already in use on ${host}; stop what is listening there or set PORT to a free port`);
  if (code === 'EACCES') return new StartupError(`not allowed to listen on ${host}:${port}; set PORT to 1024 or above`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new StartupError(`HOST ${host} is not an address of this machine; set HOST (127.0.0.1, or 0.0.0.0 for all interfaces)`);
  }
  return error instanceof Error ? error : new Error(String(error));
}
