import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, runCommand, type CliResult, type RunOptions } from './run-cli.js';

/** An isolated secretfs set-up for one test file: its own home, driver name and embedded store. */
export interface SecretfsEnv {
  home: string;
  driverName: string;
  env: NodeJS.ProcessEnv;
  cli(args: string[], options?: RunOptions): Promise<CliResult>;
  /** Runs `docker-secretfs init --yes` on a free port; asserts success. */
  init(): Promise<CliResult>;
  /** Stops the driver (it unmounts) and the store, removes leftover volumes of this driver and the home. */
  teardown(): Promise<void>;
}

/** A fresh environment; nothing runs until `init`. */
export async function createSecretfsEnv(): Promise<SecretfsEnv> {
  const home = await mkdtemp(join(tmpdir(), 'secretfs-e2e-'));
  const driverName = `sfse${randomBytes(4).toString('hex')}`;
  // No VAULT_* from the developer's shell: init must choose the embedded store.
  const env = { SECRETFS_HOME: home, SECRETFS_DRIVER_NAME: driverName, VAULT_ADDR: '', VAULT_TOKEN: '', HOME: home };
  const cli = (args: string[], options: RunOptions = {}) => runCli(args, { ...options, env: { ...env, ...options.env } });
  return {
    home,
    driverName,
    env,
    cli,
    async init() {
      const res = await cli(['init', '--yes', '--store-addr', 'http://127.0.0.1:0']);
      if (res.code !== 0) throw new Error(`init failed (${res.code}): ${res.stderr}`);
      return res;
    },
    async teardown() {
      const volumes = await runCommand('docker', ['volume', 'ls', '-q', '--filter', `driver=${driverName}`]);
      for (const name of volumes.stdout.split('\n').filter(Boolean)) await runCommand('docker', ['volume', 'rm', '-f', name]);
      await cli(['driver', 'stop']);
      await cli(['server', 'stop']);
      await rm(home, { recursive: true, force: true });
    },
  };
}
