import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_ENTRY, runCli, type CliResult } from '../../../harness/run-cli.js';
import { writeConfigFile } from '../../../lib/config.js';
import { isProcessAlive } from '../../../lib/daemon/process.js';
import { resolvePaths, type Paths } from '../../../lib/paths.js';
import { missingRequirement, skipped } from '../../helpers/environment.js';

/**
 * After the store or the driver dies (kill -9 of the real processes, started by the built CLI in
 * a temp SECRETFS_HOME), the next command that needs it says so with the one command that starts
 * it again, and that command works. No Docker engine is reached: DOCKER_HOST names nothing.
 */
const test = suite('daemon/dead store and driver: the next command says so');
let home = '';
let paths: Paths;
let env: NodeJS.ProcessEnv;
let address = '';
let skip: string | undefined;

const cli = (args: string[], input?: string): Promise<CliResult> => runCli(args, { env, input, timeoutMs: 60_000 });
const pidOf = async (file: string) => Number((await readFile(file, 'utf8')).trim());
async function kill9(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 200 && isProcessAlive(pid); i++) await new Promise((r) => setTimeout(r, 25));
  assert.not.ok(isProcessAlive(pid), `pid ${pid} is gone`);
}
/** The hint's command, run through the built CLI (`docker secretfs X` is `node dist/cli/main.js X`). */
const hintedCommand = (stderr: string) => /^hint: start it again with `docker secretfs (.*)`$/m.exec(stderr)?.[1].split(' ');

test.before(async () => {
  if (!existsSync(CLI_ENTRY)) throw new Error(`${CLI_ENTRY} is missing: run npm run build`);
  home = await mkdtemp(join(tmpdir(), 'sfs-dead-'));
  const driverName = `sfsd${randomBytes(4).toString('hex')}`;
  env = { SECRETFS_HOME: home, SECRETFS_DRIVER_NAME: driverName, SECRETFS_PLUGIN_DIR: join(home, 'plugins'), DOCKER_HOST: `unix://${join(home, 'no-docker.sock')}`, HOME: home, VAULT_ADDR: '', VAULT_TOKEN: '' };
  paths = resolvePaths(env);
  const started = await cli(['server', 'start', '--addr', 'http://127.0.0.1:0']);
  assert.is(started.code, 0, started.stderr);
  address = started.stdout.trim();
  // What init writes for the embedded store (init itself needs a Docker engine).
  await writeConfigFile(paths, { backend: 'embedded', vaultAddr: address, tokenFile: join(paths.storeDir, 'root-token'), kvMount: 'secret/', defaultPath: 'secret/app-1' });
  assert.is((await cli(['put', 'secret/app-1', 'db-password'], 'pw-1')).code, 0);
});

test.after(async () => {
  if (!home) return;
  await cli(['driver', 'stop']);
  await cli(['server', 'stop']);
  assert.not.ok((await readFile('/proc/mounts', 'utf8')).includes(home), 'no mount left');
  await rm(home, { recursive: true, force: true });
});

test('the store killed with -9: `get` says it died and how to start it again at the same address; that command works', async () => {
  const pid = await pidOf(paths.storePidFile);
  await kill9(pid);
  const got = await cli(['get', 'secret/app-1', 'db-password']);
  assert.is(got.code, 2);
  assert.is(got.stderr, `error: the embedded store died (pid ${pid} is gone): nothing answers at ${address}\nhint: start it again with \`docker secretfs server start --addr ${address}\`\n`);
  assert.not.match(got.stderr, /ECONNREFUSED/);

  const again = await cli(hintedCommand(got.stderr)!);
  assert.is(again.code, 0, again.stderr);
  assert.is(again.stdout.trim(), address, 'the same address: the config stays right');
  const value = await cli(['get', 'secret/app-1', 'db-password']);
  assert.is(value.code, 0, value.stderr);
  assert.is(value.stdout, 'pw-1');
});

test('the store stopped cleanly: `ls` says it is not running, with the same command', async () => {
  assert.is((await cli(['server', 'stop'])).code, 0);
  const ls = await cli(['ls', 'secret/']);
  assert.is(ls.code, 2);
  assert.is(ls.stderr, `error: the embedded store is not running: nothing answers at ${address}\nhint: start it again with \`docker secretfs server start --addr ${address}\`\n`);
  assert.is((await cli(hintedCommand(ls.stderr)!)).code, 0);
});

test('the driver killed with -9: volume create and run say it died and name `driver start`, before writing any policy', async () => {
  skip = await missingRequirement({ fuse: true });
  if (skip) return skipped(skip);
  const rootToken = (await readFile(join(paths.storeDir, 'root-token'), 'utf8')).trim();
  // The first start copies VAULT_ADDR/VAULT_TOKEN into the driver's credential file, as init does.
  const started = await runCli(['driver', 'start'], { env: { ...env, VAULT_ADDR: address, VAULT_TOKEN: rootToken }, timeoutMs: 60_000 });
  assert.is(started.code, 0, started.stderr);
  const pid = await pidOf(paths.driverPidFile);
  await kill9(pid);
  const expected = `error: the volume driver died (pid ${pid} is gone): nothing answers on ${paths.driverSocket}\nhint: start it again with \`docker secretfs driver start\`\n`;

  const create = await cli(['volume', 'create', 'dead-v1', '--path', 'secret/app-1']);
  assert.is(create.code, 2);
  assert.is(create.stderr, expected);
  const run = await cli(['run', '--', 'alpine', 'true']);
  assert.is(run.code, 125);
  assert.is(run.stderr, expected);
  const policies = await cli(['policy', 'ls', '--format', 'json']);
  assert.is(policies.code, 0, policies.stderr);
  assert.not.match(policies.stdout, /secretfs-volume-dead-v1/, 'nothing written before the check');

  assert.equal(hintedCommand(create.stderr), ['driver', 'start']);
  const restarted = await cli(['driver', 'start']);
  assert.is(restarted.code, 0, restarted.stderr);
  assert.ok(isProcessAlive(await pidOf(paths.driverPidFile)));
  assert.is((await cli(['driver', 'status'])).code, 0);
});

test('doctor names both: the dead driver and the dead store, each with the one command that starts it', async () => {
  if (skip) return skipped(skip);
  const driverPid = await pidOf(paths.driverPidFile);
  const storePid = await pidOf(paths.storePidFile);
  await kill9(driverPid);
  await kill9(storePid);
  const doctor = await cli(['doctor', '--format', 'json']);
  assert.is(doctor.code, 1);
  const checks = JSON.parse(doctor.stdout).checks as { name: string; ok: boolean; detail: string; hint?: string }[];
  const byName = (n: string) => checks.find((c) => c.name === n)!;
  assert.equal(byName('driver socket'), { name: 'driver socket', ok: false, detail: `the volume driver died (pid ${driverPid} is gone): nothing answers on ${paths.driverSocket}`, hint: 'docker secretfs driver start' });
  assert.equal(byName('vault'), { name: 'vault', ok: false, detail: `the embedded store died (pid ${storePid} is gone): nothing answers at ${address}`, hint: `docker secretfs server start --addr ${address}` });
  assert.equal(byName('after a reboot'), {
    name: 'after a reboot',
    ok: true,
    warn: true,
    detail: `no systemd here: nothing brings the embedded store and the volume driver back after a reboot or a crash; after one, run \`docker secretfs server start --addr ${address}\` and then \`docker secretfs driver start\` (or run the driver as the managed plugin, \`docker secretfs init --managed\`, which dockerd starts itself)`,
  });
  assert.is((await cli(['server', 'start', '--addr', address])).code, 0);
  assert.is((await cli(['driver', 'start'])).code, 0);
});

const STOP_COST =
  'warning: until it runs again, dockerd waits ~30 s for it on every lookup of a volume name it does not know (docker volume inspect, docker run -v new:..., compose up of a new project); start it again with `docker secretfs driver start`, or restart dockerd to make it forget the driver; the managed plugin (init --managed) avoids this\n';

test('driver stop says what stopping costs and how to avoid it, also for a driver that had died', async () => {
  if (skip) return skipped(skip);
  const pid = await pidOf(paths.driverPidFile);
  const stop = await cli(['driver', 'stop']);
  assert.is(stop.code, 0, stop.stderr);
  assert.is(stop.stderr, `stopped the volume driver (pid ${pid})\n${STOP_COST}`);
  assert.is((await cli(['driver', 'stop'])).stderr, 'the volume driver is not running\n');

  assert.is((await cli(['driver', 'start'])).code, 0);
  const again = await pidOf(paths.driverPidFile);
  await kill9(again);
  const dead = await cli(['driver', 'stop']);
  assert.is(dead.code, 0, dead.stderr);
  assert.is(dead.stderr, `the volume driver was not running: it had died (pid ${again} is gone); removed its pid file and socket\n${STOP_COST}`);
  assert.not.ok(existsSync(paths.driverPidFile));
  assert.not.ok(existsSync(paths.driverSocket));
});

test('with the managed plugin as the volume driver, a dead host driver of the home is not what volume create reports', async () => {
  if (skip) return skipped(skip);
  assert.is((await cli(['driver', 'start'])).code, 0);
  await kill9(await pidOf(paths.driverPidFile));
  await writeConfigFile(paths, { backend: 'embedded', vaultAddr: address, tokenFile: join(paths.storeDir, 'root-token'), kvMount: 'secret/', defaultPath: 'secret/app-1', managedPlugin: 'secretfs/secretfs:latest' });
  const create = await cli(['volume', 'create', 'managed-v1', '--path', 'secret/app-1']);
  assert.is(create.code, 2);
  assert.not.match(create.stderr, /volume driver died/);
  // It went to Docker, which here does not answer at DOCKER_HOST: dockerd knows the plugin's state, not the pid file.
  assert.is(create.stderr, 'error: cannot reach the Docker engine (ENOENT)\nhint: is dockerd running? `docker info` should answer\n');
});

test.run();
