import { readConfigFile } from '../config.js';
import { DockerError, VaultError, isVaultFailure } from '../errors.js';
import type { Paths } from '../paths.js';
import { DRIVER_START_COMMAND, driverDaemon, storeDaemon, storeStartCommand } from './daemons.js';
import { daemonLiveness, type Liveness } from './process.js';

/**
 * What a user is told when a daemon a command needs is not there: that it died (or is not
 * running) and the one command that starts it again, instead of a raw ECONNREFUSED or dockerd's
 * 30 s wait on a dead socket.
 */

/** `died (pid N is gone)` or `is not running`: what the pid file says happened. */
function whatHappened(label: string, live: Liveness): string {
  return live.state === 'dead' ? `the ${label} died (pid ${live.pid} is gone)` : `the ${label} is not running`;
}

/**
 * Before a command asks dockerd for one of our volumes: a driver that died (its pid file left
 * behind) is said at once, rather than after dockerd's ~30 s of retries on its socket. A driver
 * that was never started here, or the managed plugin (`volumeDriver` is then its name), is dockerd's to report.
 */
export async function assertDriverNotDead(paths: Paths, volumeDriver: string): Promise<void> {
  // A managed plugin is dockerd's: it knows the plugin's state and says it.
  if (volumeDriver !== paths.driverName) return;
  const live = await daemonLiveness(driverDaemon(paths));
  if (live.state !== 'dead') return;
  throw new DockerError(`${whatHappened('volume driver', live)}: nothing answers on ${paths.driverSocket}`, { hint: `start it again with \`${DRIVER_START_COMMAND}\`` });
}

/** The driver's state for doctor: undefined when it runs, else what to say and the command that restarts it. */
export async function driverDown(paths: Paths): Promise<{ detail: string; hint: string } | undefined> {
  const live = await daemonLiveness(driverDaemon(paths));
  if (live.state === 'running') return undefined;
  return { detail: `${whatHappened('volume driver', live)}: nothing answers on ${paths.driverSocket}`, hint: DRIVER_START_COMMAND };
}

/**
 * A Vault request that found nothing listening, while the config points at the embedded store
 * of this home and that store is not running: said as such, with the command that starts it
 * again at the same address. Any other error is returned as it is.
 */
export async function explainUnreachableStore(err: unknown, paths: Paths, env: NodeJS.ProcessEnv): Promise<unknown> {
  if (!isVaultFailure(err, 'unreachable')) return err;
  const config = await readConfigFile(paths).catch(() => undefined);
  if (config?.backend !== 'embedded' || !config.vaultAddr) return err;
  // VAULT_ADDR elsewhere: the Vault that did not answer is not our store.
  if (env.VAULT_ADDR && env.VAULT_ADDR.replace(/\/+$/, '') !== config.vaultAddr.replace(/\/+$/, '')) return err;
  const down = await storeDown(paths, config.vaultAddr);
  if (!down) return err;
  return new VaultError(down.detail, 'unreachable', undefined, { cause: err, hint: `start it again with \`${down.hint}\`` });
}

/** The store's state: undefined when it runs, else what to say and the command that restarts it at `address`. */
export async function storeDown(paths: Paths, address: string): Promise<{ detail: string; hint: string } | undefined> {
  const live = await daemonLiveness(storeDaemon(paths));
  if (live.state === 'running') return undefined;
  return { detail: `${whatHappened('embedded store', live)}: nothing answers at ${address}`, hint: await storeStartCommand(paths, address) };
}
