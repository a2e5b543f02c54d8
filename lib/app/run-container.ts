import type { DockerClient } from '../docker/client.js';
import { runDockerCli, type StopSignalName } from '../docker/run-cli.js';
import { isVaultFailure } from '../errors.js';
import { parseKeySelection } from '../fs/key-selection.js';
import { readSecret, resolveKvMount } from '../vault/kv.js';
import { dockerRunArgs, fileEnvVars, planMounts, type PlannedMount } from './run-plan.js';
import { createSecretVolume, ephemeralVolumeName, explainDriverError, removeSecretVolume, type VolumeOpts } from './secret-volume.js';
import type { VaultClient } from '../vault/client.js';

export interface RunRequest {
  paths: string[];
  target: string;
  fsOptions: VolumeOpts;
  /** `[docker run options] IMAGE [COMMAND...]`. */
  dockerArgs: string[];
  /** `--env-files`: a `<KEY>_FILE` variable (a path, never a value) for each file, with this prefix. */
  envFiles?: { prefix: string };
}

export interface RunContext {
  vault: VaultClient;
  docker: DockerClient;
  driverName: string;
  /** This installation's policy scope (lib/access/policy-scope.ts). */
  policyScope: string;
  dockerCli: string;
  dockerGlobalFlags: string[];
  env: NodeJS.ProcessEnv;
  /** Progress reporting for the steps before and after the container. */
  step<T>(title: string, work: () => Promise<T>): Promise<T>;
  warn(message: string): void;
  /** Aborted when we are asked to stop (reason 'SIGINT' or 'SIGTERM'): the container is stopped, then everything is cleaned up. */
  stop?: AbortSignal;
  /** Told the volumes that exist at each moment, so a forced exit can say what it leaves behind. */
  onVolumes?(names: readonly string[]): void;
}

/** How often, after a SIGTERM request, we look for the container to stop (docker may still be creating it). */
const STOP_POLL_MS = 250;

/**
 * Runs a container with each path mounted read-only from a short-lived secrets volume that has
 * its own policy and token. The volumes are removed and their tokens revoked when the container
 * stops, fails, or the run is interrupted. Resolves to the container's exit status.
 */
export async function runWithSecrets(ctx: RunContext, req: RunRequest): Promise<{ status: number; signalled?: StopSignalName }> {
  const plan = planMounts(req.paths, req.target);
  const mounts: { volume: string; target: string }[] = plan.map((m) => ({ volume: ephemeralVolumeName(), target: m.target }));
  const env = req.envFiles ? fileEnvVars(await filesOf(ctx.vault, plan, req.fsOptions), req.envFiles.prefix) : [];
  const args = dockerRunArgs(ctx.dockerGlobalFlags, mounts, req.dockerArgs, env);
  const deps = { vault: ctx.vault, docker: ctx.docker, driverName: ctx.driverName, policyScope: ctx.policyScope };
  const created: string[] = [];
  try {
    await ctx.step(`creating a secrets volume for ${req.paths.join(', ')}`, async () => {
      for (const [i, m] of plan.entries()) {
        if (ctx.stop?.aborted) break;
        await createSecretVolume(deps, { name: mounts[i].volume, path: m.path, fsOptions: req.fsOptions }).catch((err) => {
          throw explainDriverError(err, ctx.driverName);
        });
        created.push(mounts[i].volume);
        ctx.onVolumes?.(created);
      }
    });
    if (ctx.stop?.aborted) return { status: 128, signalled: ctx.stop.reason as StopSignalName };
    let running = true;
    let stopping: Promise<void> | undefined;
    const result = await runDockerCli(ctx.dockerCli, args, ctx.env, {
      stop: ctx.stop,
      onTerminate: () => {
        stopping = stopContainersOf(ctx, created, () => running);
      },
    }).finally(() => {
      running = false;
    });
    await stopping;
    return result;
  } finally {
    for (const name of [...created]) {
      await removeSecretVolume(deps, name).then(
        () => created.splice(created.indexOf(name), 1),
        (err) => ctx.warn(`could not remove volume ${name}: ${(err as Error).message}`),
      );
      ctx.onVolumes?.(created);
    }
  }
}

/**
 * A SIGTERM request means `docker stop` of our container: its stop signal, then SIGKILL after its
 * stop timeout (`docker run --stop-signal`, `--stop-timeout` are honoured by dockerd). Docker may
 * still be creating the container, so we keep looking for it (by our volumes) until the docker CLI exits.
 */
async function stopContainersOf(ctx: RunContext, volumes: readonly string[], stillRunning: () => boolean): Promise<void> {
  const stopped = new Map<string, Promise<void>>();
  while (stillRunning()) {
    for (const volume of volumes) {
      const ids = await ctx.docker.containersUsingVolume(volume).catch(() => [] as string[]);
      for (const id of ids) {
        if (!stopped.has(id)) stopped.set(id, ctx.docker.stopContainer(id).catch((err) => ctx.warn((err as Error).message)));
      }
    }
    await new Promise((r) => setTimeout(r, STOP_POLL_MS));
  }
  await Promise.all(stopped.values());
}

/**
 * The files each mount will show at its root: the selected names with `keys=`, else the keys of
 * the secret (read with the caller's token; only the names are kept).
 */
async function filesOf(vault: VaultClient, plan: PlannedMount[], fsOptions: Record<string, string>): Promise<{ target: string; files: string[] }[]> {
  const out: { target: string; files: string[] }[] = [];
  for (const m of plan) {
    if (fsOptions.keys !== undefined) {
      out.push({ target: m.target, files: parseKeySelection(fsOptions.keys).map((k) => k.name) });
      continue;
    }
    const mount = await resolveKvMount(vault, m.path);
    const data = await readSecret(vault, mount, m.path).then(
      (s) => s.data,
      (err) => {
        if (isVaultFailure(err, 'not_found')) return {};
        throw err;
      },
    );
    out.push({ target: m.target, files: Object.keys(data).filter((k) => k !== '' && k !== '.' && k !== '..' && !k.includes('/') && !k.includes('\0')) });
  }
  return out;
}
