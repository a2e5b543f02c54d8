import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Every file and directory secretfs uses, from one place. `SECRETFS_HOME` moves all of them
 * (except Docker's plugin socket directory, which dockerd fixes) so tests run isolated and in parallel.
 */
export interface Paths {
  /** Root of everything below; mode 0700. */
  home: string;
  /** The config written by `init` (0600). */
  configFile: string;
  /** pid files and the embedded store's address file. */
  runDir: string;
  /** Which KV mount answers a path, remembered a few seconds across CLI commands (no secret in it). */
  kvMountCacheFile: string;
  /** What each `run` on a path no allowed path covers made in Vault, until it is removed (lib/app/run-records.ts). */
  runRecordsDir: string;
  /** Log files of the background processes. */
  logDir: string;
  /** The embedded store's data directory (0700): encrypted data file, key file, root token, audit log. */
  storeDir: string;
  storePidFile: string;
  storeLogFile: string;
  /** Holds the address the running embedded store listens on (it may have been given port 0). */
  storeAddrFile: string;
  /** How the store was last started (its `server start` flags, no secret): the one command that starts it again. */
  storeStartFile: string;
  /** The embedded store's own CA and certificate (`init --store-tls`). */
  storeTlsDir: string;
  /** The driver's own files (0700): state, credential. */
  driverDir: string;
  driverStateFile: string;
  /** The driver's Vault credential (0600): `{"addr": ..., "token": ...}`. */
  driverCredentialFile: string;
  /** The driver's AppRole login state (no secrets), for `driver status` and `doctor`. */
  driverAuthStatusFile: string;
  driverPidFile: string;
  driverLogFile: string;
  /** The FUSE mountpoints of the driver's volumes live below this, never under /var/lib/docker. */
  mountRoot: string;
  /** Audit log of secret file opens (JSON lines, 0600, no values). */
  fsAuditLog: string;
  /** Where dockerd looks for legacy plugin sockets. */
  pluginSocketDir: string;
  /** The driver (and so the Docker volume driver) name; the socket is `<pluginSocketDir>/<name>.sock`. */
  driverName: string;
  driverSocket: string;
}

export const DEFAULT_DRIVER_NAME = 'secretfs';

/**
 * The driver's name, the one source of it: SECRETFS_DRIVER_NAME, default `secretfs`. Docker
 * knows the driver by its socket's name, so the CLI, the driver and init all take it from here
 * (never from the config file).
 */
export function driverNameFrom(env: NodeJS.ProcessEnv): string {
  return env.SECRETFS_DRIVER_NAME || DEFAULT_DRIVER_NAME;
}

/** Default home: /var/lib/secretfs for root, ~/.local/share/secretfs otherwise. */
function defaultHome(env: NodeJS.ProcessEnv): string {
  if (typeof process.getuid === 'function' && process.getuid() === 0) return '/var/lib/secretfs';
  const dataHome = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share');
  return join(dataHome, 'secretfs');
}

/**
 * Resolves all paths from the environment: `SECRETFS_HOME` (root of our files),
 * `SECRETFS_DRIVER_NAME` (driver/socket name, default `secretfs`) and
 * `SECRETFS_PLUGIN_DIR` (default `/run/docker/plugins`, only moved for protocol tests).
 */
export function resolvePaths(env: NodeJS.ProcessEnv = process.env): Paths {
  const home = env.SECRETFS_HOME || defaultHome(env);
  const runDir = join(home, 'run');
  const logDir = join(home, 'log');
  const storeDir = join(home, 'store');
  const driverDir = join(home, 'driver');
  const driverName = driverNameFrom(env);
  const pluginSocketDir = env.SECRETFS_PLUGIN_DIR || '/run/docker/plugins';
  return {
    home,
    configFile: join(home, 'config.json'),
    runDir,
    kvMountCacheFile: join(runDir, 'kv-mounts.json'),
    runRecordsDir: join(runDir, 'runs'),
    logDir,
    storeDir,
    storePidFile: join(runDir, 'store.pid'),
    storeLogFile: join(logDir, 'store.log'),
    storeAddrFile: join(runDir, 'store.addr'),
    storeStartFile: join(runDir, 'store.start.json'),
    storeTlsDir: join(home, 'store-tls'),
    driverDir,
    driverStateFile: join(driverDir, 'state.json'),
    driverCredentialFile: join(driverDir, 'credential.json'),
    driverAuthStatusFile: join(driverDir, 'auth-status.json'),
    driverPidFile: join(runDir, 'driver.pid'),
    driverLogFile: join(logDir, 'driver.log'),
    mountRoot: join(home, 'mnt'),
    fsAuditLog: join(logDir, 'fs-audit.log'),
    pluginSocketDir,
    driverName,
    driverSocket: join(pluginSocketDir, `${driverName}.sock`),
  };
}
