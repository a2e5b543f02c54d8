import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMounted } from '../../../lib/fs/mount-table.js';
import { TEST_IMAGE } from '../../../harness/docker-image.js';
import { sharedTestDockerd } from '../../../harness/dockerd.js';
import { missingRequirement, skipped } from '../../helpers/environment.js';
import { startFakePluginParent, type FakePluginParent } from '../../helpers/plugin-socket-parent.js';
import { startBackground, type BackgroundProcess } from '../../helpers/children.js';
import { CLI_ENTRY, runCommand } from '../../../harness/run-cli.js';
import { createSecretfsEnv, installCliPlugin, type SecretfsEnv } from '../../helpers/secretfs-env.js';
import { startTestStore, type TestStore } from '../../helpers/store.js';

/**
 * The docker CLI's termination signal (DOCKER_CLI_PLUGIN_SOCKET closing) and signals, for `mount`,
 * `driver serve` and `run`: first with a fake parent socket, then through the real docker CLI
 * (v25+ has the socket; Debian's 20.10 has none and must still work).
 */
const test = suite('e2e/termination: plugin socket and signals for mount, driver serve and run');
const CANARY = `CANARY-${randomBytes(6).toString('hex')}`;
let store: TestStore;
let tmp = '';
let skipFuse: string | undefined;
const children: ChildProcess[] = [];
let parent: FakePluginParent | undefined;

const start = (command: string, args: string[], env: NodeJS.ProcessEnv) => startBackground(command, args, env, children);

const storeEnv = () => ({ VAULT_ADDR: store.addr, VAULT_TOKEN: store.rootToken, SECRETFS_HOME: join(tmp, 'home') });

test.before(async () => {
  skipFuse = await missingRequirement({ fuse: true });
  tmp = await mkdtemp(join(tmpdir(), 'secretfs-term-'));
  store = await startTestStore();
  const put = await runCommand(process.execPath, [CLI_ENTRY, 'put', 'secret/app-1', 'db-password'], { env: storeEnv(), input: CANARY });
  assert.is(put.code, 0, put.stderr);
});

test.after.each(() => {
  parent?.dispose();
  parent = undefined;
});

test.after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await store?.stop();
  await rm(tmp, { recursive: true, force: true });
});

async function startMount(dir: string, env: NodeJS.ProcessEnv = {}): Promise<BackgroundProcess> {
  const proc = start(process.execPath, [CLI_ENTRY, 'mount', 'secret/app-1', dir], { ...storeEnv(), ...env });
  await proc.waitFor(`mounted secret/app-1 at ${dir}`);
  assert.is(await readFile(join(dir, 'db-password'), 'utf8'), CANARY);
  return proc;
}

test('mount: the parent closing its plugin socket unmounts and exits 0, as SIGTERM does', async () => {
  if (skipFuse) return skipped(skipFuse);
  parent = await startFakePluginParent();
  const dir = join(tmp, 'socket-close');
  const proc = await startMount(dir, { DOCKER_CLI_PLUGIN_SOCKET: parent.address, DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND: 'docker' });
  await parent.accepted(1);
  await parent.close();
  assert.is(await proc.exited(), 0);
  assert.match(proc.output(), `unmounted ${dir} (SIGTERM)`);
  assert.not.ok(await isMounted(dir));
});

test('mount: a SIGTERM arriving with the socket close is the same request (within the grace period): one clean unmount', async () => {
  if (skipFuse) return skipped(skipFuse);
  parent = await startFakePluginParent();
  const dir = join(tmp, 'socket-and-signal');
  const proc = await startMount(dir, { DOCKER_CLI_PLUGIN_SOCKET: parent.address });
  await parent.accepted(1);
  await parent.close();
  proc.child.kill('SIGTERM');
  assert.is(await proc.exited(), 0);
  assert.match(proc.output(), `unmounted ${dir} (SIGTERM)`);
  assert.not.ok(await isMounted(dir));
});

test('mount: unmounted from outside (fusermount -u), it notices and exits 0 by itself', async () => {
  if (skipFuse) return skipped(skipFuse);
  const dir = join(tmp, 'outside');
  const proc = await startMount(dir);
  const res = await runCommand('fusermount', ['-u', dir]);
  assert.is(res.code, 0, res.stderr);
  assert.is(await proc.exited(10_000), 0);
  assert.match(proc.output(), `${dir} was unmounted from outside; exiting`);
  assert.not.match(proc.output(), /unmount failed/);
});

test('driver serve: the parent closing its socket stops it cleanly (socket and pid file removed)', async () => {
  parent = await startFakePluginParent();
  const home = join(tmp, 'driver-home');
  const pluginDir = join(tmp, 'plugins');
  const name = `sfst${randomBytes(4).toString('hex')}`;
  const proc = start(process.execPath, [CLI_ENTRY, 'driver', 'serve'], {
    ...storeEnv(),
    SECRETFS_HOME: home,
    SECRETFS_DRIVER_NAME: name,
    SECRETFS_PLUGIN_DIR: pluginDir,
    DOCKER_CLI_PLUGIN_SOCKET: parent.address,
  });
  await proc.waitFor('volume driver listening on');
  await parent.accepted(1);
  assert.ok(existsSync(join(pluginDir, `${name}.sock`)));
  await parent.close();
  assert.is(await proc.exited(), 0);
  assert.match(proc.output(), 'volume driver stopped (SIGTERM)');
  assert.not.ok(existsSync(join(pluginDir, `${name}.sock`)), 'socket removed');
  assert.not.ok(existsSync(join(home, 'run', 'driver.pid')), 'pid file removed');
});

// ---- Through the real docker CLI, with a real dockerd --------------------------------------------

/** The docker CLIs here, with whether they give plugins a socket (v25 and later). */
async function dockerClis(): Promise<{ path: string; version: string; socket: boolean }[]> {
  const found = new Map<string, { path: string; version: string; socket: boolean }>();
  for (const path of ['/usr/local/bin/docker', '/usr/bin/docker']) {
    if (!existsSync(path)) continue;
    const res = await runCommand(path, ['version', '--format', '{{.Client.Version}}'], { timeoutMs: 20_000 });
    const version = res.stdout.trim().split('\n')[0];
    if (!/^\d+\./.test(version) || found.has(version)) continue;
    found.set(version, { path, version, socket: Number(version.split('.')[0]) >= 25 });
  }
  return [...found.values()];
}

let sfs: SecretfsEnv | undefined;
let dockerConfig = '';
const image = TEST_IMAGE;
let skipDocker: string | undefined;
let withSocket: { path: string; version: string } | undefined;
let withoutSocket: { path: string; version: string } | undefined;

async function dockerSetup(): Promise<boolean> {
  if (sfs) return true;
  if (skipDocker) return false;
  skipDocker = await missingRequirement({ docker: true, fuse: true });
  if (skipDocker) return false;
  const clis = await dockerClis();
  withSocket = clis.find((c) => c.socket);
  withoutSocket = clis.find((c) => !c.socket);
  sfs = await createSecretfsEnv(await sharedTestDockerd());
  await sfs.init();
  assert.is((await sfs.cli(['put', 'secret/app-1', 'db-password'], { input: CANARY })).code, 0);
  dockerConfig = await installCliPlugin(sfs);
  return true;
}

test.after(async () => {
  await sfs?.teardown();
});

async function leftovers(): Promise<{ volumes: string[]; policies: string[] }> {
  const volumes = (await sfs!.docker(['volume', 'ls', '-q', '--filter', `driver=${sfs!.driverName}`])).stdout.split('\n').filter(Boolean);
  const policies = (JSON.parse((await sfs!.cli(['policy', 'ls', '--format', 'json'])).stdout) as string[]).filter((p) => p.startsWith('secretfs-volume-secretfs-run-'));
  return { volumes, policies };
}

async function removedAccessors(): Promise<string[]> {
  const log = await readFile(join(sfs!.home, 'log', 'driver.log'), 'utf8');
  return log.split('\n').filter((l) => l.includes('"volume removed"')).map((l) => JSON.parse(l).accessor).filter(Boolean);
}

const viaDocker = (cli: string, args: string[]) => start(cli, ['secretfs', ...args], { ...sfs!.env, DOCKER_CONFIG: dockerConfig });

test('kill <docker pid> (v25+ CLI) during `docker secretfs run`: container stopped, volume removed, token revoked', async () => {
  if (!(await dockerSetup())) return skipped(skipDocker ?? 'no Docker engine');
  if (!withSocket) return skipped('no docker CLI v25+ here (its plugin socket is what this tests)');
  const before = (await removedAccessors()).length;
  const proc = viaDocker(withSocket.path, ['run', '--', image, 'sh', '-c', 'trap "exit 143" TERM; echo ready; sleep 60 & wait']);
  await proc.waitFor('ready');
  proc.child.kill('SIGTERM');
  assert.is(await proc.exited(), 143);
  assert.equal(await leftovers(), { volumes: [], policies: [] });
  const accessors = await removedAccessors();
  assert.is(accessors.length, before + 1);
  assert.is((await sfs!.cli(['token', 'lookup', '--accessor', accessors[accessors.length - 1]])).code, 2, 'the volume token is revoked');
});

test('kill <docker pid> (v25+ CLI) during `docker secretfs mount`: unmounted, exit 0', async () => {
  if (!(await dockerSetup())) return skipped(skipDocker ?? 'no Docker engine');
  if (skipFuse || !withSocket) return skipped(skipFuse ?? 'no docker CLI v25+ here');
  const dir = join(tmp, 'via-docker');
  const proc = viaDocker(withSocket.path, ['mount', 'secret/app-1', dir]);
  await proc.waitFor(`mounted secret/app-1 at ${dir}`);
  proc.child.kill('SIGTERM');
  assert.is(await proc.exited(), 0);
  assert.match(proc.output(), `unmounted ${dir} (SIGTERM)`);
  assert.not.ok(await isMounted(dir));
});

test('run: a second SIGTERM after the grace period exits at once (143) and says what it leaves behind', async () => {
  if (!(await dockerSetup())) return skipped(skipDocker ?? 'no Docker engine');
  // A container that ignores SIGTERM (sh as PID 1 without a trap) keeps the first, clean stop busy for its stop timeout.
  const proc = start(process.execPath, [CLI_ENTRY, 'run', '--', '--stop-timeout', '5', image, 'sh', '-c', 'echo ready; sleep 60'], sfs!.env);
  await proc.waitFor('ready');
  proc.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 1500));
  proc.child.kill('SIGTERM');
  assert.is(await proc.exited(3000), 143);
  // The default path is allowed: the volume is the container's own (anonymous), so what stays is the container, being stopped.
  const left = /left behind: container ([0-9a-f]{12}), still stopping/.exec(proc.output());
  assert.ok(left, proc.output());
  // dockerd still stops the container (the stop timeout) and --rm removes it with its volume, whose token the driver revokes.
  const deadline = Date.now() + 20_000;
  while ((await sfs!.docker(['ps', '-aq', '--filter', `id=${left![1]}`])).stdout.trim() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  assert.is((await sfs!.docker(['ps', '-aq', '--filter', `id=${left![1]}`])).stdout.trim(), '', 'the container is removed');
  assert.equal(await leftovers(), { volumes: [], policies: [] });
});

test('Debian docker.io 20.10 CLI (no plugin socket): `docker secretfs run` works as before', async () => {
  if (!(await dockerSetup())) return skipped(skipDocker ?? 'no Docker engine');
  if (!withoutSocket) return skipped('no docker CLI older than v25 here');
  const proc = viaDocker(withoutSocket.path, ['run', '--', image, 'cat', '/run/secrets/db-password']);
  assert.is(await proc.exited(), 0);
  assert.match(proc.output(), CANARY);
  assert.equal(await leftovers(), { volumes: [], policies: [] });
});

test.run();
