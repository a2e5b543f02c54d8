import type { BenchContext } from './context.js';

/** docker run with a secretfs volume against a local volume, medians in ms. */
export interface DockerRunResult {
  secretfs_ms: number;
  local_ms: number;
  ratio: number;
  runs: number;
}

export async function measureDockerRun(ctx: BenchContext): Promise<DockerRunResult> {
  void ctx;
  throw new Error('not yet');
}
