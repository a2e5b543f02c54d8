import { randomBytes } from 'node:crypto';
import { findAllowPolicy } from '../access/boundary.js';
import { volumePolicyName } from '../access/volume-access.js';
import type { DockerClient, VolumeInfo } from '../docker/client.js';
import { runDockerCli, type StopSignalName } from '../docker/run-cli.js';
import { UsageError, isVaultFailure } from '../errors.js';
import { parseKeySelection } from '../fs/key-selection.js';
import { readSecret, resolveKvMount } from '../vault/kv.js';
import { RUN_LABEL, dockerRunArgs, fileEnvVars, planMounts, type PlannedMount, type RunMount } from './run-plan.js';
import { createSecretVolume, ephemeralVolumeName, explainDriverError, removeCreatedVolume, type VolumeOpts } from './secret-volume.js';
import type { VaultClient } from '../vault/client.js';
import { deletePolicy } from '../vault/policy.js';
import { deadRunRecords, removeRunRecord, writeRunRecord } from './run-records.js';

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
  /** Told the containers being stopped (at a SIGTERM request), so a forced exit can say they stay until they stop. */
  onStopping?(ids: readonly string[]): void;
  /** Where runs record the policies they write until they delete them (paths.runRecordsDir); none: not recorded. */
  runRecordsDir?: string;
  /**
   * Told, before the container starts, that the driver mints for every path of this run (the
   * paths as planned, in the order given): the fast lane's record (run-lane.ts) is written from it.
   */
  onDriverMints?(paths: readonly string[]): Promise<void>;
}

/** How often, after a SIGTERM request, we look for the container to stop (docker may still be creating it). */
const STOP_POLL_MS = 250;

/**
 * Runs a container with each path mounted read-only from a short-lived secrets volume of our
 * driver, with a token of its own that is revoked when the volume goes. Resolves to the
 * container's exit status.
 *
 * When an allowed path (`docker secretfs allow`) covers every path, the volumes are anonymous
 * `--mount`s that dockerd creates with the container: the driver mints their tokens through its
 * role at Create, and `--rm` removes them with the container, which makes the driver revoke the
 * tokens. Nothing is asked of Vault or Docker before or after `docker run` but the allow check,
 * and the command ends when the container does, whatever happens to this process. Otherwise
 * each volume gets a policy and a wrapped token of ours and is created first, and removed after.
 * Either way the volumes are `ephemeral`: the driver's sweep removes any that is left behind.
 */
export async function runWithSecrets(ctx: RunContext, req: RunRequest): Promise<{ status: number; signalled?: StopSignalName }> {
  const plan = planMounts(req.paths, req.target);
  const runId = randomBytes(6).toString('hex');
  // The allow check, --env-files' reads and the policies of killed runs do not depend on each other.
  const [mints, env] = await Promise.all([
    Promise.all(plan.map((m) => driverMayMint(ctx.vault, m.path))),
    req.envFiles ? filesOf(ctx.vault, plan, req.fsOptions).then((files) => fileEnvVars(files, req.envFiles!.prefix)) : [],
    ctx.runRecordsDir ? deletePoliciesOfDeadRuns(ctx.vault, ctx.runRecordsDir).catch((err) => ctx.warn(`could not clean up after an earlier run: ${(err as Error).message}`)) : undefined,
  ]);
  if (mints.every(Boolean)) {
    const options = { ...req.fsOptions, ephemeral: 'true' };
    const mounts: RunMount[] = plan.map((m) => ({ target: m.target, driver: ctx.driverName, options: { ...options, path: m.path } }));
    const args = dockerRunArgs(ctx.dockerGlobalFlags, runId, mounts, req.dockerArgs, env);
    // The record is a shortcut for later runs only: this one goes on without it. Only an allow
    // policy seen covers a path; a token that may not read policies only lets the driver decide.
    const recorded = mints.every((m) => m === 'allowed')
      ? ctx.onDriverMints?.(plan.map((m) => m.path)).catch((err) => ctx.warn(`could not record the fast lane of run: ${(err as Error).message}`))
      : undefined;
    const result = await runContainer(ctx, args, runId);
    await recorded;
    return result;
  }
  const deps = { vault: ctx.vault, docker: ctx.docker, driverName: ctx.driverName, policyScope: ctx.policyScope };
  const names = plan.map(() => ephemeralVolumeName());
  const args = dockerRunArgs(ctx.dockerGlobalFlags, runId, plan.map((m, i) => ({ volume: names[i], target: m.target })), req.dockerArgs, env);
  // The names createSecretVolume gives them (one rule, lib/access), known before anything is written.
  const policies = names.map((name, i) => volumePolicyName(name, plan[i].path, ctx.policyScope));
  const created: VolumeInfo[] = [];
  const report = () => ctx.onVolumes?.(created.map((v) => v.name));
  // On disk before the first write: a run killed before its teardown has its policies deleted by the next one.
  if (ctx.runRecordsDir) await writeRunRecord(ctx.runRecordsDir, runId, { pid: process.pid, policies });
  let failed = false;
  try {
    await ctx.step(`creating a secrets volume for ${req.paths.join(', ')}`, async () => {
      const results = await Promise.allSettled(
        plan.map(async (m, i) => {
          const volume = await createSecretVolume(deps, { name: names[i], path: m.path, fsOptions: req.fsOptions, ephemeral: true });
          created.push(volume);
          report();
        }),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw explainDriverError(failed.reason, ctx.driverName);
    });
    if (ctx.stop?.aborted) return { status: 128, signalled: ctx.stop.reason as StopSignalName };
    return await runContainer(ctx, args, runId);
  } finally {
    await Promise.all(
      [...created].map((volume) =>
        removeCreatedVolume(deps, volume).then(
          () => {
            created.splice(created.indexOf(volume), 1);
            report();
          },
          (err) => {
            failed = true;
            ctx.warn(`could not remove volume ${volume.name}: ${(err as Error).message}`);
          },
        ),
      ),
    );
    // Kept when something stayed: the next run deletes its policies (the driver's sweep the volumes).
    if (ctx.runRecordsDir && !failed) await removeRunRecord(ctx.runRecordsDir, runId);
  }
}

/** Deletes the policies of runs that were killed before their teardown (the driver's sweep removes their volumes and tokens). */
async function deletePoliciesOfDeadRuns(vault: VaultClient, dir: string): Promise<void> {
  for (const [runId, record] of await deadRunRecords(dir)) {
    // Deleting a policy that is gone already succeeds (Vault answers 204 either way).
    await Promise.all(record.policies.map((policy) => deletePolicy(vault, policy)));
    await removeRunRecord(dir, runId);
  }
}

/**
 * Whether the driver may mint the token for `path` itself: `allowed` when an allowed path covers
 * it; `assumed` when our token may not read policies (it could not write one either: the driver,
 * which refuses what is not allowed, is then the only way); false when no allowed path covers it.
 */
async function driverMayMint(vault: VaultClient, path: string): Promise<'allowed' | 'assumed' | false> {
  try {
    await findAllowPolicy(vault, path);
    return 'allowed';
  } catch (err) {
    if (err instanceof UsageError) return false;
    if (isVaultFailure(err, 'forbidden')) return 'assumed';
    throw err;
  }
}

/** Runs the docker CLI; on a SIGTERM request stops our container (found by its label) and waits for the CLI. */
async function runContainer(ctx: RunContext, args: string[], runId: string): Promise<{ status: number; signalled?: StopSignalName }> {
  let running = true;
  let stopping: Promise<void> | undefined;
  const result = await runDockerCli(ctx.dockerCli, args, ctx.env, {
    stop: ctx.stop,
    onTerminate: () => {
      stopping = stopContainersOf(ctx, `${RUN_LABEL}=${runId}`, () => running);
    },
  })
    .catch((err) => {
      throw explainDriverError(err, ctx.driverName);
    })
    .finally(() => {
      running = false;
    });
  await stopping;
  return result;
}

/**
 * A SIGTERM request means `docker stop` of our container: its stop signal, then SIGKILL after its
 * stop timeout (`docker run --stop-signal`, `--stop-timeout` are honoured by dockerd). Docker may
 * still be creating the container, so we keep looking for it (by its label) until the docker CLI exits.
 */
async function stopContainersOf(ctx: RunContext, label: string, stillRunning: () => boolean): Promise<void> {
  const stopped = new Map<string, Promise<void>>();
  while (stillRunning()) {
    const ids = await ctx.docker.containersLabelled(label).catch(() => [] as string[]);
    for (const id of ids) {
      if (!stopped.has(id)) {
        stopped.set(id, ctx.docker.stopContainer(id).catch((err) => ctx.warn((err as Error).message)));
        ctx.onStopping?.([...stopped.keys()]);
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
