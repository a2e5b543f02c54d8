import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type FuseClass from 'fuse-native';
import { MountError } from '../errors.js';

/** The constructor fuse-native exports. */
export type FuseCtor = typeof FuseClass;

/** The Debian/Ubuntu package that provides libfuse.so.2, which fuse-native's prebuilt addon links. */
export const FUSE_LIBRARY_PACKAGE = 'libfuse2';

let fuseCtor: FuseCtor | undefined;

/**
 * Loads fuse-native (the FUSE binding) from this install's node_modules, once. The one check that
 * the binding works, with one message, used at mount, at driver start, by `doctor` and at the end
 * of install.sh: a MountError naming the package to install when the shared library cannot be
 * loaded (the usual case: libfuse2 missing), or `npm ci` when the module itself is missing.
 */
export function loadFuseBinding(): FuseCtor {
  if (fuseCtor) return fuseCtor;
  try {
    fuseCtor = createRequire(import.meta.url)('fuse-native') as FuseCtor;
    return fuseCtor;
  } catch (err) {
    const why = String((err as Error)?.message ?? err).split('\n')[0];
    const moduleMissing = (err as NodeJS.ErrnoException)?.code === 'MODULE_NOT_FOUND' && /'fuse-native'/.test(why);
    const hint = moduleMissing ? 'run npm ci in the secretfs checkout (or ./install.sh)' : `apt-get install -y ${FUSE_LIBRARY_PACKAGE}`;
    throw new MountError(`cannot load fuse-native (the FUSE binding): ${why}`, { cause: err, hint });
  }
}

/** The error loadFuseBinding would throw, or undefined when the binding loads. */
export function fuseBindingProblem(): MountError | undefined {
  try {
    loadFuseBinding();
    return undefined;
  } catch (err) {
    if (err instanceof MountError) return err;
    throw err;
  }
}

/**
 * After an unmount from outside, fuse-native's own unmount fails at its `fusermount -uz` and never
 * reaches the native step that lets go of the event loop, so the process would never exit. That
 * step alone (fuse_native_unmount: unref the thread's async handle) is what is left to do.
 */
export function releaseFuseThread(fuse: InstanceType<FuseCtor>): void {
  const require = createRequire(import.meta.url);
  const fuseDir = dirname(require.resolve('fuse-native/package.json'));
  const binding = createRequire(join(fuseDir, 'index.js'))('node-gyp-build')(fuseDir) as { fuse_native_unmount(mnt: string, thread: Buffer): void };
  const internals = fuse as unknown as { mnt: string; _thread: Buffer };
  binding.fuse_native_unmount(internals.mnt, internals._thread);
}
