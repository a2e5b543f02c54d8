import { releasePidFile, writePidFile } from '../daemon/process.js';
import { createLogger, type Logger, type LogLevel } from '../log.js';
import type { Paths } from '../paths.js';
import { startDriver } from './daemon.js';
import { loadFuseBinding } from '../fs/fuse-binding.js';

export interface ServeDriverOptions {
  /** Defaults to JSON lines appended to paths.driverLogFile. */
  log?: Logger;
}

/** A driver serving in this process. */
export interface ServedDriver {
  pid: number;
  socket: string;
  /** Shuts down cleanly (unmounts, closes the socket, removes our pid file). Idempotent. */
  stop(why?: string): Promise<void>;
}

/**
 * Runs the driver in this process (`docker secretfs driver serve`): starts it and writes the pid
 * file. The caller decides when it stops (the command layer on SIGTERM, SIGINT or the docker CLI's
 * plugin socket). Environment: SECRETFS_VOLUME_TOKEN_TTL (volume token TTL, default 1h),
 * SECRETFS_SWEEP_INTERVAL (how often ephemeral volumes are swept, 1s-10m, default 60s),
 * SECRETFS_LOG_LEVEL; VAULT_ADDR and VAULT_TOKEN only before a credential file exists.
 */
export async function serveDriver(paths: Paths, env: NodeJS.ProcessEnv, options: ServeDriverOptions = {}): Promise<ServedDriver> {
  const level = (['debug', 'info', 'warn', 'error'] as const).find((l) => l === env.SECRETFS_LOG_LEVEL) as LogLevel | undefined;
  const log = options.log ?? createLogger({ file: paths.driverLogFile, component: 'driver', level });
  // Fail at start, not at the first Mount, when the FUSE binding cannot load.
  loadFuseBinding();
  const running = await startDriver(paths, { log, env, volumeTokenTtl: env.SECRETFS_VOLUME_TOKEN_TTL || undefined });
  await writePidFile(paths.driverPidFile, process.pid);
  let stopping: Promise<void> | undefined;
  return {
    pid: process.pid,
    socket: running.socketPath,
    stop(why = 'stop') {
      stopping ??= (async () => {
        log.info('stop requested', { by: why });
        try {
          await running.close();
        } finally {
          // Only our own pid file: a newer driver may have replaced it.
          await releasePidFile(paths.driverPidFile, process.pid);
        }
      })();
      return stopping;
    },
  };
}
