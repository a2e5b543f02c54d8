import type { TestDockerd } from '../harness/dockerd.js';
import type { NativeTools } from './native.js';
import type { Cleanup, Progress } from './util.js';

/** What every measurement group gets: the undo list, the native tools, a scratch dir, progress output, and the run's size. */
export interface BenchContext {
  cleanup: Cleanup;
  tools: NativeTools;
  /** A temp dir for this run (mountpoints, store data, SECRETFS_HOME). */
  dir: string;
  progress: Progress;
  /** --quick: fewer iterations, the same measurements. */
  quick: boolean;
  /**
   * The bench's own private dockerd (harness/dockerd.ts), started on first use and stopped by
   * cleanup: drivers put their sockets in its plugin dir and docker runs go to its socket, so the
   * user's engine never meets a bench driver.
   */
  dockerd(): Promise<TestDockerd>;
}
