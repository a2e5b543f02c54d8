import { PLUGIN_SOCKET_ENV, watchPluginSocket, type PluginSocketWatch } from './plugin-socket.js';

/** What asked us to stop. The docker CLI closing its plugin socket means SIGTERM. */
export type StopReason = 'SIGINT' | 'SIGTERM';

/** Exit status of a process ended by this request, as a shell reports it (128 + signal number). */
export function exitCodeFor(reason: StopReason): number {
  return reason === 'SIGINT' ? 130 : 143;
}

/** How long repeats of the first request are taken as the same request (a process-group signal and the socket close arrive together). */
export const REPEAT_GRACE_MS = 1000;

/**
 * The one place that listens for requests to stop: SIGINT, SIGTERM and the docker CLI's plugin
 * socket closing. A command that can stop cleanly (run, mount, the serve commands) calls
 * `handle()` and gets an AbortSignal whose reason is the StopReason; it cleans up and returns.
 * Any other command ends at once on a signal, as it would without handlers, and does not watch the socket. A second request after the grace
 * period ends the process at once, as SIGKILL would, after `onForcedExit` callbacks said what is left.
 */
export interface Termination {
  /** Takes over the first request: returns the signal the command watches. */
  handle(): AbortSignal;
  /** Registers a line to say when the process is ended at once (e.g. what stays behind); returns its removal. */
  onForcedExit(say: () => void): () => void;
  /** Resolves once the plugin socket is watched (false when there is none, as with docker 20.10, or before `handle()`). */
  readonly socketWatched: Promise<boolean>;
  dispose(): void;
}

export interface TerminationOptions {
  env: NodeJS.ProcessEnv;
  /** Ends the process now (only cli/main.ts passes process.exit). */
  exit(code: number): void;
  graceMs?: number;
}

/** Starts listening; call once per process, before the command runs. */
export function watchTermination(opts: TerminationOptions): Termination {
  const controller = new AbortController();
  const sayOnForcedExit = new Set<() => void>();
  const graceMs = opts.graceMs ?? REPEAT_GRACE_MS;
  let handled = false;
  let firstAt: number | undefined;

  const request = (reason: StopReason) => {
    const now = Date.now();
    if (firstAt === undefined) {
      firstAt = now;
      if (!handled) return opts.exit(exitCodeFor(reason));
      controller.abort(reason);
      return;
    }
    if (now - firstAt < graceMs) return;
    for (const say of sayOnForcedExit) {
      try {
        say();
      } catch {
        /* the exit matters more */
      }
    }
    opts.exit(exitCodeFor(controller.signal.reason as StopReason));
  };
  const onInt = () => request('SIGINT');
  const onTerm = () => request('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  // The socket is watched only by a command that stops cleanly: watching costs a perl helper
  // (see plugin-socket.ts), and any other command is short, and ends at the docker CLI's third signal.
  const address = opts.env[PLUGIN_SOCKET_ENV];
  let socket: PluginSocketWatch | undefined;

  return {
    handle() {
      handled = true;
      if (address && !socket) socket = watchPluginSocket(address, () => request('SIGTERM'));
      return controller.signal;
    },
    onForcedExit(say) {
      sayOnForcedExit.add(say);
      return () => sayOnForcedExit.delete(say);
    },
    get socketWatched() {
      return socket?.connected ?? Promise.resolve(false);
    },
    dispose() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      socket?.dispose();
    },
  };
}

/** Resolves with the reason once the signal is aborted. */
export function whenAborted(signal: AbortSignal): Promise<StopReason> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(signal.reason as StopReason);
    signal.addEventListener('abort', () => resolve(signal.reason as StopReason), { once: true });
  });
}
