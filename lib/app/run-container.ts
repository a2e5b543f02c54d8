import type { DockerClient } from '../docker/client.js';
import { runDockerCli } from '../docker/run-cli.js';
import { dockerRunArgs, planMounts } from './run-plan.js';
import { createSecretVolume, ephemeralVolumeName, explainDriverError, removeSecretVolume, type VolumeOpts } from './secret-volume.js';
import type { VaultClient } from '../vault/client.js';

export interface RunRequest {
  paths: string[];
  target: string;
  fsOptions: VolumeOpts;
  /** `[docker run options] IMAGE [COMMAND...]`. */
  dockerArgs: string[];
}

export interface RunContext {
  vault: VaultClient;
  docker: DockerClient;
  driverName: string;
  dockerCli: string;
  dockerGlobalFlags: string[];
  env: NodeJS.ProcessEnv;
  /** Progress reporting for the steps before and after the container. */
  step<T>(title: string, work: () => Promise<T>): Promise<T>;
  warn(message: string): void;
}

/**
 * Runs a container with each path mounted read-only from a short-lived secrets volume that has
 * its own policy and token. The volumes are removed and their tokens revoked when the container
 * stops, fails, or the run is interrupted. Resolves to the container's exit status.
 */
export async function runWithSecrets(ctx: RunContext, req: RunRequest): Promise<{ status: number; signalled?: NodeJS.Signals }> {
  const plan = planMounts(req.paths, req.target);
  const mounts: { volume: string; target: string }[] = plan.map((m) => ({ volume: ephemeralVolumeName(), target: m.target }));
  const args = dockerRunArgs(ctx.dockerGlobalFlags, mounts, req.dockerArgs);
  const deps = { vault: ctx.vault, docker: ctx.docker, driverName: ctx.driverName };
  const created: string[] = [];
  try {
    await ctx.step(`creating a secrets volume for ${req.paths.join(', ')}`, async () => {
      for (const [i, m] of plan.entries()) {
        await createSecretVolume(deps, { name: mounts[i].volume, path: m.path, fsOptions: req.fsOptions }).catch((err) => {
          throw explainDriverError(err, ctx.driverName);
        });
        created.push(mounts[i].volume);
      }
    });
    return await runDockerCli(ctx.dockerCli, args, ctx.env);
  } finally {
    // Cleanup must not be cut short by a second Ctrl-C.
    const ignore = () => {};
    process.on('SIGINT', ignore);
    try {
      for (const name of created) {
        await removeSecretVolume(deps, name).catch((err) => ctx.warn(`could not remove volume ${name}: ${(err as Error).message}`));
      }
    } finally {
      process.off('SIGINT', ignore);
    }
  }
}
