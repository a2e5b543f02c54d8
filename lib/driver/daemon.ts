import { unlink } from 'node:fs/promises';
import { createDockerClient } from '../docker/client.js';
import { createAuditLog } from '../fs/audit.js';
import { cleanStaleMounts } from '../fs/mount-table.js';
import type { Logger } from '../log.js';
import type { Paths } from '../paths.js';
import { ensurePrivateDir } from '../private-files.js';
import { createVaultClient } from '../vault/client.js';
import { resolveDriverCredential, writeDriverCredential } from './credential.js';
import { AppRoleLogin } from './approle-login.js';
import { ChangeWatcher, type ContainerActions } from './change-watcher.js';
import { createFsMounter } from './fs-mounter.js';
import { VaultSecretProvider, type SecretProvider } from './secret-provider.js';
import { startEphemeralSweep, sweepIntervalFrom, type SweepEngine } from './ephemeral-sweep.js';
import { createDriverServer } from './server.js';
import { DriverStateStore } from './state.js';
import { SecretVolumeDriver, type VolumeMounter, type VolumeTokens } from './volume-driver.js';
import { VaultVolumeTokens } from './volume-tokens.js';

export interface StartDriverOptions {
  log: Logger;
  /** Read only when there is no credential file yet (VAULT_ADDR, VAULT_TOKEN). */
  env?: NodeJS.ProcessEnv;
  /** TTL of volume tokens (default 1h). */
  volumeTokenTtl?: string;
  /** Bound of each Vault request (default 5 s; the filesystem keeps its own lower bound). */
  vaultTimeoutMs?: number;
  /** Replaces the FUSE mounter (tests of the daemon without FUSE). */
  mounter?: VolumeMounter;
  /** Replaces the Vault token lifecycle (tests without a store). */
  tokens?: VolumeTokens;
  /** Replaces Swarm's secret provider (which otherwise comes with the Vault credential). */
  secretProvider?: SecretProvider;
  /**
   * The Docker engine that on_change signals containers through (default: DOCKER_HOST of env, else
   * /var/run/docker.sock); null when the driver has no access to it (on_change is then refused).
   */
  docker?: (ContainerActions & SweepEngine) | null;
  /** How often ephemeral volumes are swept (lib/driver/ephemeral-sweep.ts; default SECRETFS_SWEEP_INTERVAL of env, else 60 s). */
  sweepIntervalMs?: number;
}

/** A running driver. */
export interface RunningDriver {
  readonly socketPath: string;
  readonly driver: SecretVolumeDriver;
  /** Sweeps ephemeral volumes now (tests); undefined without access to dockerd. */
  sweepNow?(): Promise<string[]>;
  /** Stops accepting requests, unmounts every volume, closes the server, unlinks the socket. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the volume driver: unmounts stale FUSE mounts under the mount root (a previous driver
 * was killed), loads the volumes from state, checks the credential, and listens on the socket.
 * Volumes are mounted again when dockerd asks, with freshly minted tokens.
 */
export async function startDriver(paths: Paths, options: StartDriverOptions): Promise<RunningDriver> {
  const { log } = options;
  await ensurePrivateDir(paths.driverDir);
  await ensurePrivateDir(paths.mountRoot);
  const stale = await cleanStaleMounts(paths.mountRoot, log);
  if (stale.length > 0) log.warn('cleaned stale mounts', { count: stale.length });

  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    let tokens = options.tokens;
    let login: AppRoleLogin | undefined;
    let secretProvider = options.secretProvider;
    if (!tokens) {
      const credential = await resolveDriverCredential(paths, options.env ?? {});
      const base = createVaultClient({ addr: credential.addr, token: credential.token, timeoutMs: options.vaultTimeoutMs, tls: credential.tls, namespace: credential.namespace });
      let driverVault = base;
      if (credential.approle) {
        // No long-lived token: log in with the role, renew, log in again (lib/driver/approle-login.ts).
        const approle = credential.approle;
        const session = await AppRoleLogin.start({
          base,
          credential: approle,
          paths,
          log: log.child('approle'),
          forgetSecretId: () => writeDriverCredential(paths, { ...credential, approle: { ...approle, secretId: undefined } }),
        });
        cleanups.push(() => session.close());
        login = session;
        driverVault = session.client;
      }
      tokens = await VaultVolumeTokens.start({
        driverVault,
        log: log.child('tokens'),
        ttl: options.volumeTokenTtl,
        driverName: paths.driverName,
        timeoutMs: options.vaultTimeoutMs,
        credentialKeptAlive: login !== undefined,
      });
      secretProvider ??= new VaultSecretProvider({ driverVault, log: log.child('swarm'), driverName: paths.driverName, timeoutMs: options.vaultTimeoutMs });
    }
    const ownProvider = secretProvider;
    if (ownProvider) cleanups.push(() => ownProvider.close());
    const ownTokens = tokens;
    cleanups.push(() => ownTokens.close());
    const audit = createAuditLog({ file: paths.fsAuditLog });
    cleanups.push(() => audit.close());
    const mounter = options.mounter ?? createFsMounter({ log, audit });
    const docker = options.docker === null ? undefined : (options.docker ?? createDockerClient(options.env?.DOCKER_HOST || undefined));
    const watcher = new ChangeWatcher({ docker, audit, log: log.child('watch') });
    const driver = await SecretVolumeDriver.open({
      state: new DriverStateStore(paths.driverStateFile, log.child('state')),
      mounter,
      tokens,
      mountRoot: paths.mountRoot,
      log: log.child('volumes'),
      watcher,
    });
    cleanups.push(() => driver.close());
    const sweepIntervalMs = options.sweepIntervalMs ?? sweepIntervalFrom(options.env ?? {});
    const server = createDriverServer(driver, { socketPath: paths.driverSocket, log: log.child('http'), secretProvider });
    await server.listen();
    // After listen: dockerd calls our Remove while it answers the sweep's removal.
    const sweep = docker ? startEphemeralSweep(driver, docker, sweepIntervalMs, log.child('sweep')) : undefined;
    if (sweep) cleanups.push(() => sweep.close());
    log.info('driver started', { name: paths.driverName, socket: paths.driverSocket, mountRoot: paths.mountRoot, pid: process.pid });

    let closing: Promise<void> | undefined;
    return {
      socketPath: paths.driverSocket,
      driver,
      sweepNow: sweep?.sweepNow,
      close() {
        closing ??= (async () => {
          log.info('driver stopping');
          await sweep?.close();
          // Stop taking requests first so nothing mounts while we unmount.
          await server.close();
          await driver.close();
          secretProvider?.close();
          login?.close();
          await audit.close();
          await unlink(paths.driverSocket).catch(() => {});
          log.info('driver stopped');
        })();
        return closing;
      },
    };
  } catch (err) {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => {});
    throw err;
  }
}
