import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestDockerd, type TestDockerd } from '../../harness/dockerd.js';
import { runCli, runCommand, type CliResult, type RunOptions } from '../../harness/run-cli.js';

/** An isolated secretfs set-up for one test file: its own home, driver name and embedded store, on a private dockerd. */
export interface SecretfsEnv {
  home: string;
  driverName: string;
  /** SECRETFS_HOME, SECRETFS_DRIVER_NAME, SECRETFS_PLUGIN_DIR, DOCKER_HOST, no VAULT_*: pass it to every child. */
  env: NodeJS.ProcessEnv;
  dockerd: TestDockerd;
  cli(args: string[], options?: RunOptions): Promise<CliResult>;
  /** `docker ARGS` against the private dockerd. */
  docker(args: string[], options?: RunOptions): Promise<CliResult>;
  /** Runs `docker-secretfs init --yes` on a free port; asserts success. */
  init(): Promise<CliResult>;
  /** Stops the driver (it unmounts) and the store by their pids (SIGTERM; fails if one needed SIGKILL), removes leftover volumes of this driver and the home. */
  teardown(): Promise<void>;
}

/**
 * A fresh environment on `dockerd` (harness/dockerd.ts): the home lives under the dockerd's
 * root (so the driver's FUSE mounts reach that dockerd), the driver's socket goes to its plugin
 * dir, and every docker call goes to its socket. Nothing runs until `init`.
 */
export async function createSecretfsEnv(dockerd: TestDockerd, opts: { driverName?: string } = {}): Promise<SecretfsEnv> {
  const home = dockerd.homeDir();
  // A random name by default. `secretfs` (for commands run exactly as the docs write them) is safe
  // only here: the socket goes to the private dockerd's plugin dir, never /run/docker/plugins.
  const driverName = opts.driverName ?? `sfse${randomBytes(4).toString('hex')}`;
  // No VAULT_* from the developer's shell: init must choose the embedded store.
  const env: NodeJS.ProcessEnv = {
    SECRETFS_HOME: home,
    SECRETFS_DRIVER_NAME: driverName,
    SECRETFS_PLUGIN_DIR: dockerd.pluginDir,
    ...dockerd.env,
    VAULT_ADDR: '',
    VAULT_TOKEN: '',
    VAULT_CACERT: '',
    HOME: home,
  };
  const cli = (args: string[], options: RunOptions = {}) => runCli(args, { ...options, env: { ...env, ...options.env } });
  const docker = (args: string[], options: RunOptions = {}) => runCommand('docker', args, { ...options, env: { ...env, ...options.env } });
  let tornDown = false;
  return {
    home,
    driverName,
    env,
    dockerd,
    cli,
    docker,
    async init() {
      const res = await cli(['init', '--yes', '--store-addr', 'http://127.0.0.1:0']);
      if (res.code !== 0) throw new Error(`init failed (${res.code}): ${res.stderr}`);
      return res;
    },
    async teardown() {
      if (tornDown) return;
      tornDown = true;
      const volumes = await docker(['volume', 'ls', '-q', '--filter', `driver=${driverName}`]);
      // A name ending in "/" cannot be addressed through dockerd's API (asking probes every driver it has
      // seen, ~30 s each for dead ones); its dockerd record goes with the private dockerd.
      for (const name of volumes.stdout.split('\n').filter((n) => n && !n.endsWith('/'))) await docker(['volume', 'rm', '-f', name]);
      // Both stop by the pid in their pid file, with SIGTERM: a daemon that needed more is a failure.
      const driver = await cli(['driver', 'stop']);
      const server = await cli(['server', 'stop']);
      await rm(home, { recursive: true, force: true });
      if (driver.code !== 0 || driver.stderr.includes('with SIGKILL')) throw new Error(`the driver did not stop on SIGTERM: ${driver.stderr.trim()}`);
      if (server.code !== 0) throw new Error(`the store did not stop on SIGTERM: ${server.stderr.trim()}`);
    },
  };
}

/** A secretfs set-up on a dockerd of its own; `stop()` tears down both. */
export interface PrivateSecretfsEnv extends SecretfsEnv {
  stop(): Promise<void>;
}

/**
 * An initialised secretfs set-up on a private dockerd of the suite's own (startTestDockerd), for a
 * suite that stops the driver or times lookups of unknown volume names: a stopped driver makes
 * every later lookup on its engine wait ~30 s, and drivers other suites stopped would slow its
 * own timings on the shared engine. If init fails, both are torn down before the error is thrown.
 */
export async function startPrivateSecretfsEnv(): Promise<PrivateSecretfsEnv> {
  const dockerd = await startTestDockerd();
  const sfs = await createSecretfsEnv(dockerd);
  const stop = async () => {
    try {
      await sfs.teardown();
    } finally {
      await dockerd.stop();
    }
  };
  try {
    await sfs.init();
  } catch (err) {
    await stop();
    throw err;
  }
  return { ...sfs, stop };
}

/**
 * Installs the docker CLI plugin (install.sh's launcher, scripts/plugin-shim.sh) into a
 * DOCKER_CONFIG of this env's home, as a user's install does; returns that DOCKER_CONFIG.
 */
export async function installCliPlugin(sfs: SecretfsEnv): Promise<string> {
  const dockerConfig = join(sfs.home, 'docker-config');
  const install = fileURLToPath(new URL('../../install.sh', import.meta.url));
  const res = await runCommand(install, ['--no-system', '--no-build'], { env: { DOCKER_CONFIG: dockerConfig } });
  if (res.code !== 0) throw new Error(`install.sh failed (${res.code}): ${res.stderr}`);
  return dockerConfig;
}
