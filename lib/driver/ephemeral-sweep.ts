import { ConfigError } from '../errors.js';
import { parseDurationMs } from '../fs/options.js';
import type { Logger } from '../log.js';
import type { DockerClient } from '../docker/client.js';
import type { SecretVolumeDriver } from './volume-driver.js';

/**
 * The driver's sweep of ephemeral volumes (`ephemeral=true`, what `docker secretfs run` creates):
 * every interval, each one that no container has mounted and that is older than one interval is
 * removed through dockerd, which refuses while a container (in any state) still refers to it and
 * otherwise calls our Remove (the token is revoked, the state saved). A volume dockerd does not
 * know is removed by the driver alone. So a run's volume and token go even when the CLI was
 * killed after its container exited, or the driver was down when dockerd removed the container;
 * the state file keeps the volumes across a driver crash and the first sweep runs at start.
 */

/** Default interval: a leftover lives at most about two of these. */
export const DEFAULT_SWEEP_INTERVAL_MS = 60_000;
/** Bounds of SECRETFS_SWEEP_INTERVAL. */
export const MIN_SWEEP_INTERVAL_MS = 1000;
export const MAX_SWEEP_INTERVAL_MS = 600_000;

/** SECRETFS_SWEEP_INTERVAL (a duration, 1s to 10m; default 60s), or a ConfigError naming the bounds. */
export function sweepIntervalFrom(env: NodeJS.ProcessEnv): number {
  const raw = env.SECRETFS_SWEEP_INTERVAL?.trim();
  if (!raw) return DEFAULT_SWEEP_INTERVAL_MS;
  const ms = parseDurationMs(raw);
  if (ms === undefined || ms < MIN_SWEEP_INTERVAL_MS || ms > MAX_SWEEP_INTERVAL_MS) {
    throw new ConfigError(`SECRETFS_SWEEP_INTERVAL=${JSON.stringify(raw)} is not a duration from 1s to 10m (e.g. 30s)`);
  }
  return ms;
}

/** What the sweep asks of dockerd. */
export type SweepEngine = Pick<DockerClient, 'removeUnusedVolume'>;

/** One pass: removes the idle ephemeral volumes; returns the names removed. Never throws. */
export async function sweepEphemeralVolumes(driver: SecretVolumeDriver, engine: SweepEngine, minAgeMs: number, log: Logger): Promise<string[]> {
  const removed: string[] = [];
  for (const name of driver.idleEphemeralVolumes(minAgeMs)) {
    try {
      const outcome = await engine.removeUnusedVolume(name);
      if (outcome === 'in use') continue;
      // dockerd removed it through our Remove; one it does not know is ours alone to remove.
      if (outcome === 'unknown') await driver.remove(name);
      removed.push(name);
      log.info('ephemeral volume swept', { volume: name, by: outcome === 'unknown' ? 'driver' : 'dockerd' });
    } catch (err) {
      log.warn('could not sweep an ephemeral volume; trying again at the next sweep', { volume: name, err });
    }
  }
  return removed;
}

/** A running sweep. */
export interface EphemeralSweep {
  /** Resolves when the pass running now (or a new one) is done: for tests and shutdown. */
  sweepNow(): Promise<string[]>;
  close(): Promise<void>;
}

/** Sweeps at start and then every `intervalMs` (one pass at a time). */
export function startEphemeralSweep(driver: SecretVolumeDriver, engine: SweepEngine, intervalMs: number, log: Logger): EphemeralSweep {
  let running: Promise<string[]> | undefined;
  let closed = false;
  const pass = () => {
    running ??= sweepEphemeralVolumes(driver, engine, intervalMs, log).finally(() => (running = undefined));
    return running;
  };
  const timer = setInterval(() => {
    if (!closed) void pass();
  }, intervalMs);
  timer.unref();
  void pass();
  return {
    sweepNow: pass,
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
    },
  };
}
