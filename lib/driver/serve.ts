import { readOptionalFile, writePrivateFile } from '../private-files.js';
import { unlink } from 'node:fs/promises';
import { createLogger, type Logger, type LogLevel } from '../log.js';
import type { Paths } from '../paths.js';
import { startDriver } from './daemon.js';
import { loadFuseBinding } from '../fs/fuse-binding.js';

export interface ServeDriverOptions {
  /** Defaults to JSON lines appended to paths.driverLogFile. */
  log?: Logger;
  /** Stops the driver when aborted (besides SIGTERM and SIGINT). */
  signal?: AbortSignal;
  /** Called once the socket is listening. */
  onReady?: (info: { pid: number; socket: string }) => void;
}

/**
 * Runs the driver in the foreground (`docker secretfs driver serve`): writes the pid file,
 * starts, and on SIGTERM or SIGINT shuts down cleanly (unmounts, closes the socket, removes
 * the pid file). Resolves once stopped. Environment: SECRETFS_VOLUME_TOKEN_TTL (volume token
 * TTL, default 1h), SECRETFS_LOG_LEVEL; VAULT_ADDR and VAULT_TOKEN only before a credential
 * file exists.
 */
export async function serveDriver(paths: Paths, env: NodeJS.ProcessEnv, options: ServeDriverOptions = {}): Promise<void> {
  const level = (['debug', 'info', 'warn', 'error'] as const).find((l) => l === env.SECRETFS_LOG_LEVEL) as LogLevel | undefined;
  const log = options.log ?? createLogger({ file: paths.driverLogFile, component: 'driver', level });
  // Fail at start, not at the first Mount, when the FUSE binding cannot load.
  loadFuseBinding();
  const running = await startDriver(paths, { log, env, volumeTokenTtl: env.SECRETFS_VOLUME_TOKEN_TTL || undefined });
  await writePrivateFile(paths.driverPidFile, `${process.pid}\n`);
  options.onReady?.({ pid: process.pid, socket: running.socketPath });

  await new Promise<void>((resolve) => {
    const stop = (why: string) => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      options.signal?.removeEventListener('abort', onAbort);
      log.info('stop requested', { by: why });
      resolve();
    };
    const onTerm = () => stop('SIGTERM');
    const onInt = () => stop('SIGINT');
    const onAbort = () => stop('abort');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    if (options.signal?.aborted) stop('abort');
    else options.signal?.addEventListener('abort', onAbort);
  });

  try {
    await running.close();
  } finally {
    // Only our own pid file: a newer driver may have replaced it.
    if ((await readOptionalFile(paths.driverPidFile))?.trim() === String(process.pid)) await unlink(paths.driverPidFile).catch(() => {});
  }
}
