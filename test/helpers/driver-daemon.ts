import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { resolvePaths, type Paths } from '../../lib/paths.js';
import { allowPath } from '../../lib/access/boundary.js';
import { readDriverPid, startDriverInBackground, stopDriver } from '../../lib/driver/process.js';
import { createVaultClient, type VaultClient } from '../../lib/vault/client.js';
import { resolveKvMount, writeSecret } from '../../lib/vault/kv.js';
import { startTestStoreProcess, type TestStore } from './store.js';

/** A driver daemon of a suite's own, against an embedded store process of its own. */
export interface TestDriverDaemon {
  store: TestStore;
  /** A client of the store with its root token. */
  root: VaultClient;
  /** SECRETFS_HOME (the store's temp home), the driver name, the plugin dir; no VAULT_*. */
  env: NodeJS.ProcessEnv;
  paths: Paths;
  /** The pid of the driver this helper started. */
  pid: number;
  /**
   * Stops the driver that runs now (its pid file) and the one started here, each by its pid with
   * SIGTERM, and fails when one needed SIGKILL; then the store. Throws if a FUSE mount is left
   * under the home.
   */
  stop(): Promise<void>;
}

export interface TestDriverOptions {
  driverName: string;
  /** Written with the root token before the driver starts: path -> keys. */
  secrets: Record<string, Record<string, string>>;
  /** Gives the driver its credential in `paths` (provisionDriverCredential, provisionDriverAppRole). */
  credential(root: VaultClient, paths: Paths): Promise<unknown>;
  /** The paths volumes the driver creates may serve (what `init` and `allow` do). */
  allow: string[];
}

/** Whether pid is still a process with this home in its environment (not a pid reused since). */
async function runsWithHome(pid: number, home: string): Promise<boolean> {
  const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
  return environ.split('\0').includes(`SECRETFS_HOME=${home}`);
}

/** Sends SIGTERM to a process of this home and waits (bounded) for it to exit; false when it had to be killed. */
async function stopPid(pid: number, home: string, timeoutMs = 20_000): Promise<boolean> {
  const alive = () => runsWithHome(pid, home);
  if (!(await alive())) return true;
  process.kill(pid, 'SIGTERM');
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) if (!(await alive())) return true;
  process.kill(pid, 'SIGKILL');
  return false;
}

/**
 * Starts an embedded store process and a driver daemon on it, as `init` leaves them: the secrets
 * written, the driver's credential, the allowed paths. The driver's socket goes to a plugin dir
 * inside the store's temp home, so no dockerd ever meets this driver (doctor's lookup of an
 * unknown volume would make the user's dockerd wait on it after the suite).
 */
export async function startTestDriverDaemon(options: TestDriverOptions): Promise<TestDriverDaemon> {
  const store = await startTestStoreProcess();
  try {
    const root = createVaultClient({ addr: store.addr, token: store.rootToken });
    for (const [path, data] of Object.entries(options.secrets)) await writeSecret(root, await resolveKvMount(root, path), path, data);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SECRETFS_HOME: store.home,
      SECRETFS_DRIVER_NAME: options.driverName,
      SECRETFS_PLUGIN_DIR: join(store.home, 'plugins'),
      VAULT_ADDR: '',
      VAULT_TOKEN: '',
    };
    const paths = resolvePaths(env);
    await options.credential(root, paths);
    for (const path of options.allow) await allowPath(root, path);
    const { pid } = await startDriverInBackground(paths, env);
    return {
      store,
      root,
      env,
      paths,
      pid,
      async stop() {
        const current = await readDriverPid(paths);
        const stopped = await stopDriver(paths);
        const byTerm = [!stopped.killed];
        for (const p of new Set([pid, current])) if (p !== undefined) byTerm.push(await stopPid(p, store.home));
        const mounts = await readFile('/proc/mounts', 'utf8');
        await store.stop();
        if (byTerm.includes(false)) throw new Error('a driver did not stop on SIGTERM (it was killed)');
        if (mounts.includes(store.home)) throw new Error(`a FUSE mount is left under ${store.home}`);
      },
    };
  } catch (err) {
    await store.stop();
    throw err;
  }
}
