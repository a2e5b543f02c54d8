import { mountSecretFs, type MountSecretFsOptions, type SecretFsMount } from './mount.js';

/** What runForegroundMount needs beyond mountSecretFs's options. */
export interface ForegroundMountOptions extends MountSecretFsOptions {
  /** Called once the mount serves requests (the CLI prints where). */
  onReady?(mount: SecretFsMount): void;
  /** Signals that end the mount; default SIGINT and SIGTERM. */
  signals?: NodeJS.Signals[];
  /** Ends the mount when aborted (tests, embedding). */
  abort?: AbortSignal;
}

/**
 * Mounts in the foreground for `docker secretfs mount PATH DIR`: mounts, calls onReady, waits
 * for SIGINT or SIGTERM (or abort), unmounts cleanly, and resolves to what ended it. While it
 * runs the signal handlers replace Node's default exit, so Ctrl-C never leaves a dead mount.
 */
export async function runForegroundMount(opts: ForegroundMountOptions): Promise<string> {
  const mount = await mountSecretFs(opts);
  const signals = opts.signals ?? ['SIGINT', 'SIGTERM'];
  let onSignal: ((sig: NodeJS.Signals) => void) | undefined;
  let onAbort: (() => void) | undefined;
  try {
    const ended = new Promise<string>((resolve) => {
      onSignal = (sig) => resolve(sig);
      for (const s of signals) process.on(s, onSignal);
      onAbort = () => resolve('abort');
      if (opts.abort?.aborted) resolve('abort');
      opts.abort?.addEventListener('abort', onAbort, { once: true });
    });
    opts.onReady?.(mount);
    return await ended;
  } finally {
    for (const s of signals) if (onSignal) process.off(s, onSignal);
    if (onAbort) opts.abort?.removeEventListener('abort', onAbort);
    await mount.unmount();
  }
}
