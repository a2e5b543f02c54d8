import { mountSecretFs, type MountSecretFsOptions, type SecretFsMount } from './mount.js';

/** What runForegroundMount needs beyond mountSecretFs's options. */
export interface ForegroundMountOptions extends MountSecretFsOptions {
  /** Called once the mount serves requests (the CLI prints where). */
  onReady?(mount: SecretFsMount): void;
  /** Ends the mount when aborted; its reason (e.g. 'SIGTERM') is what runForegroundMount resolves to. */
  stop: AbortSignal;
}

/**
 * Mounts in the foreground for `docker secretfs mount PATH DIR`: mounts, calls onReady, and serves
 * until `stop` is aborted or the mountpoint is unmounted from outside (`fusermount -u`), then
 * unmounts cleanly. Resolves to the abort reason, or 'outside'. Signals are the caller's business.
 */
export async function runForegroundMount(opts: ForegroundMountOptions): Promise<string> {
  const mount = await mountSecretFs(opts);
  let onAbort: (() => void) | undefined;
  try {
    const aborted = new Promise<string>((resolve) => {
      onAbort = () => resolve(String(opts.stop.reason));
      if (opts.stop.aborted) onAbort();
      else opts.stop.addEventListener('abort', onAbort, { once: true });
    });
    opts.onReady?.(mount);
    return await Promise.race([aborted, mount.unmountedFromOutside().then(() => 'outside')]);
  } finally {
    if (onAbort) opts.stop.removeEventListener('abort', onAbort);
    await mount.unmount();
  }
}
