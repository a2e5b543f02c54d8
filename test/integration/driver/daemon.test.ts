import { suite } from 'uvu';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { missingRequirement, skipped } from '../../helpers/environment.js';
import { CLI_ENTRY } from '../../../harness/run-cli.js';
import { startTestStoreProcess, type TestStore } from '../../helpers/store.js';
import { resolvePaths, type Paths } from '../../../lib/paths.js';
import { createVaultClient } from '../../../lib/vault/client.js';
import { resolveKvMount, writeSecret } from '../../../lib/vault/kv.js';
import { allowPath } from '../../../lib/access/boundary.js';
import { callDriver } from '../../../lib/driver/client.js';
import { driverStatus, startDriverInBackground, stopDriver } from '../../../lib/driver/process.js';
import { postPlugin } from '../../unit/driver/plugin-client.js';

const exec = promisify(execFile);

/**
 * The driver daemon as a background process (the built CLI's `driver serve`), real FUSE and the
 * embedded store, spoken to over its socket the way dockerd does; no dockerd needed.
 */
const test = suite('driver daemon (background process, FUSE, embedded store)');
let skip: string | undefined;
let store: TestStore | undefined;
let paths: Paths;
let pid: number;
const name = `sfs${randomBytes(4).toString('hex').replace(/^[0-9]/, 'b')}`;

test.before(async () => {
  skip = await missingRequirement({ fuse: true });
  if (skip) return;
  if (!existsSync(CLI_ENTRY)) throw new Error(`${CLI_ENTRY} is missing: run npm run build`);
  store = await startTestStoreProcess();
  const root = createVaultClient({ addr: store!.addr, token: store!.rootToken });
  const mount = await resolveKvMount(root, 'secret/app-1');
  await writeSecret(root, mount, 'secret/app-1', { 'db-password': 'daemon-pw' });
  // What `init` does for the default path: volumes the driver creates may serve it.
  await allowPath(root, 'secret/app-1');
  // The socket goes to a dir of the test's own: no dockerd ever sees this driver.
  const pluginDir = join(store!.home, 'plugins');
  paths = resolvePaths({ SECRETFS_HOME: store!.home, SECRETFS_DRIVER_NAME: name, SECRETFS_PLUGIN_DIR: pluginDir });
  // No config and no credential file yet: the first start copies VAULT_ADDR/VAULT_TOKEN.
  const started = await startDriverInBackground(paths, { ...process.env, SECRETFS_HOME: store!.home, SECRETFS_DRIVER_NAME: name, SECRETFS_PLUGIN_DIR: pluginDir, VAULT_ADDR: store!.addr, VAULT_TOKEN: store!.rootToken });
  pid = started.pid;
});

test.after(async () => {
  // Only what before() got to set up: a failed before must not turn into a crash here.
  if (!store) return;
  const stopped = paths ? await stopDriver(paths) : undefined;
  const mounts = await readFile('/proc/mounts', 'utf8');
  await store.stop();
  assert.not.ok(stopped?.killed, 'the driver stopped on SIGTERM');
  assert.not.ok(mounts.includes(store!.home), 'no mount left');
});

test('VAULT_TOKEN is copied into a 0600 credential file and not passed in the daemon environment', async () => {
  if (skip) return skipped(skip);
  const st = await stat(paths.driverCredentialFile);
  assert.is(st.mode & 0o777, 0o600);
  assert.equal(JSON.parse(await readFile(paths.driverCredentialFile, 'utf8')), { addr: store!.addr, token: store!.rootToken });
  const environ = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
  assert.not.ok(environ.some((e) => e.startsWith('VAULT_TOKEN=')));
  assert.not.ok(environ.join('\n').includes(store!.rootToken));
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
  assert.not.ok(cmdline.includes(store!.rootToken), 'never in argv');
});

test('it runs detached with a pid file, and status reports pid and socket', async () => {
  if (skip) return skipped(skip);
  assert.is((await readFile(paths.driverPidFile, 'utf8')).trim(), String(pid));
  const s = await driverStatus(paths);
  assert.ok(s.running);
  assert.is(s.pid, pid);
  assert.is(s.socket, paths.driverSocket);
  const { stdout } = await exec('ps', ['-o', 'sid=', '-p', String(pid)]);
  assert.is(Number(stdout.trim()), pid, 'its own session: it survives the CLI that started it');
});

test('protocol over the real socket: create, mount (reads through FUSE), path, get, unmount', async () => {
  if (skip) return skipped(skip);
  await callDriver(paths.driverSocket, '/VolumeDriver.Create', { Name: 'dv1', Opts: { path: 'secret/app-1', mode: '0440' } });
  const m = await callDriver<{ Mountpoint: string }>(paths.driverSocket, '/VolumeDriver.Mount', { Name: 'dv1', ID: 'a'.repeat(64) });
  assert.ok(m.Mountpoint.startsWith(paths.mountRoot + '/'));
  const { stdout } = await exec('cat', [`${m.Mountpoint}/db-password`]);
  assert.is(stdout, 'daemon-pw');
  const { stdout: mode } = await exec('stat', ['-c', '%a', `${m.Mountpoint}/db-password`]);
  assert.is(mode.trim(), '440');
  assert.equal(await callDriver(paths.driverSocket, '/VolumeDriver.Path', { Name: 'dv1' }), { Mountpoint: m.Mountpoint, Err: '' });
  const s = await driverStatus(paths);
  assert.equal(
    s.volumes.map((v) => [v.name, v.path, v.mounted, v.refCount]),
    [['dv1', 'secret/app-1', true, 1]],
  );
  await callDriver(paths.driverSocket, '/VolumeDriver.Unmount', { Name: 'dv1', ID: 'a'.repeat(64) });
  assert.equal(await callDriver(paths.driverSocket, '/VolumeDriver.Path', { Name: 'dv1' }), { Mountpoint: '', Err: '' });
  assert.not.ok((await readFile('/proc/mounts', 'utf8')).includes(m.Mountpoint));
  const got = await callDriver<any>(paths.driverSocket, '/VolumeDriver.Get', { Name: 'dv1' });
  assert.is(got.Volume.Name, 'dv1');
  assert.is(got.Volume.Mountpoint, undefined);
});

test('bad input gets an Err and the daemon keeps running', async () => {
  if (skip) return skipped(skip);
  const bad: [string, unknown, RegExp][] = [
    ['/VolumeDriver.Create', '{not json', /malformed JSON/],
    ['/VolumeDriver.Nope', {}, /unknown route/],
    ['/VolumeDriver.Mount', { ID: 'x' }, /missing Name/],
    ['/VolumeDriver.Get', { Name: 'ghost' }, /no such volume/],
    ['/VolumeDriver.Create', { Name: '../../etc', Opts: { path: 'secret/app-1' } }, /volume name/],
    ['/VolumeDriver.Create', { Name: 'a/../../b', Opts: {} }, /volume name/],
    ['/VolumeDriver.Create', { Name: 'nul\u0000x', Opts: { path: 'secret/app-1' } }, /NUL/],
    ['/VolumeDriver.Create', { Name: 'dv2', Opts: { path: 'secret/app-1', bogus: '1' } }, /valid options are path, token/],
    ['/VolumeDriver.Create', JSON.stringify({ Name: 'big', Opts: { path: 'x'.repeat(200_000) } }), /too large/],
  ];
  for (const [route, body, re] of bad) {
    const res = await postPlugin(paths.driverSocket, route, body).catch((err) => ({ status: 0, body: { Err: String(err) }, text: '' }));
    if (res.status === 0) continue; // a reset after the early 413 answer
    assert.ok(res.status >= 400, route);
    assert.match(res.body.Err, re);
  }
  assert.ok((await driverStatus(paths)).running);
  assert.equal((await driverStatus(paths)).volumes.map((v) => v.name), ['dv1'], 'nothing was created');
});

test('stop (SIGTERM) unmounts a mounted volume, removes socket and pid file; status then reads the state', async () => {
  if (skip) return skipped(skip);
  await callDriver(paths.driverSocket, '/VolumeDriver.Mount', { Name: 'dv1', ID: 'b'.repeat(64) });
  const stopped = await stopDriver(paths);
  assert.ok(stopped.stopped);
  assert.not.ok(stopped.killed, 'SIGTERM was enough');
  assert.not.ok(existsSync(paths.driverSocket));
  assert.not.ok(existsSync(paths.driverPidFile));
  assert.not.ok((await readFile('/proc/mounts', 'utf8')).includes(paths.mountRoot));
  const s = await driverStatus(paths);
  assert.not.ok(s.running);
  assert.equal(s.volumes.map((v) => [v.name, v.mounted]), [['dv1', false]]);
});

test.run();
