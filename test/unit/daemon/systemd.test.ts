import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolvePaths } from '../../../lib/paths.js';
import { renderUnits, unitNames } from '../../../lib/daemon/systemd.js';
import { keepUpAfterReboot, rebootReport } from '../../../lib/daemon/boot.js';

/**
 * The systemd units init installs where systemd runs (this machine has none, so the text is what
 * is tested), and what init and doctor say where it does not.
 */
const test = suite('daemon/systemd units');

const NODE = '/usr/bin/node';
const ENTRY = '/opt/secretfs/dist/cli/main.js';
const paths = resolvePaths({ SECRETFS_HOME: '/var/lib/secretfs' });
/** A caller's environment with everything a unit must not carry. */
const callerEnv = {
  PATH: '/usr/bin:/bin',
  HOME: '/root',
  SECRETFS_HOME: '/var/lib/secretfs',
  SECRETFS_LOG_LEVEL: 'debug',
  VAULT_ADDR: 'http://127.0.0.1:8282',
  VAULT_TOKEN: 'hvs.never-in-a-unit',
  SECRETFS_VAULT_TOKEN: 'hvs.nor-this',
  VAULT_SECRET_ID: 'secret-id-never',
  DOCKER_CLI_PLUGIN_SOCKET: '@docker_cli_x',
  DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND: '/usr/bin/docker',
};

const STORE_UNIT = `[Unit]
Description=docker secretfs embedded store (/var/lib/secretfs)
After=network.target
Before=secretfs-driver.service docker.service

[Service]
Type=forking
PIDFile=/var/lib/secretfs/run/store.pid
Environment="SECRETFS_HOME=/var/lib/secretfs"
Environment="SECRETFS_LOG_LEVEL=debug"
ExecStart=/usr/bin/node /opt/secretfs/dist/cli/main.js server start --addr http://127.0.0.1:8300
ExecStop=/usr/bin/node /opt/secretfs/dist/cli/main.js server stop
Restart=on-failure
RestartSec=2
TimeoutStartSec=60
TimeoutStopSec=40

[Install]
WantedBy=multi-user.target
`;

const DRIVER_UNIT = `[Unit]
Description=docker secretfs volume driver secretfs (/var/lib/secretfs)
After=local-fs.target network.target secretfs-store.service
Wants=secretfs-store.service
Before=docker.service

[Service]
Type=forking
PIDFile=/var/lib/secretfs/run/driver.pid
Environment="SECRETFS_HOME=/var/lib/secretfs"
Environment="SECRETFS_LOG_LEVEL=debug"
ExecStart=/usr/bin/node /opt/secretfs/dist/cli/main.js driver start
ExecStop=/usr/bin/node /opt/secretfs/dist/cli/main.js driver stop
Restart=on-failure
RestartSec=2
TimeoutStartSec=60
TimeoutStopSec=40

[Install]
WantedBy=multi-user.target docker.service
`;

test('the embedded store and the driver: the store first, the driver before dockerd, both restarted on failure', () => {
  const units = renderUnits({ paths, env: callerEnv, node: NODE, cliEntry: ENTRY, storeArgs: ['--addr', 'http://127.0.0.1:8300'] });
  assert.equal(units.map((u) => u.name), ['secretfs-store.service', 'secretfs-driver.service']);
  assert.fixture(units[0].text, STORE_UNIT);
  assert.fixture(units[1].text, DRIVER_UNIT);
});

test('no secret and none of the docker CLI plugin variables in a unit, whatever the caller had', () => {
  const text = renderUnits({ paths, env: callerEnv, node: NODE, cliEntry: ENTRY, storeArgs: [] }).map((u) => u.text).join('\n');
  for (const bad of ['hvs.', 'secret-id-never', 'VAULT_', 'DOCKER_CLI_PLUGIN', '@docker_cli', 'HOME=/root', 'PATH=']) assert.not.ok(text.includes(bad), bad);
});

test('with an external Vault only the driver, with no tie to a store; another driver name gets its own unit names', () => {
  const other = resolvePaths({ SECRETFS_HOME: '/srv/sfs', SECRETFS_DRIVER_NAME: 'vaultfs', SECRETFS_PLUGIN_DIR: '/run/p' });
  const units = renderUnits({ paths: other, env: { SECRETFS_DRIVER_NAME: 'vaultfs', SECRETFS_PLUGIN_DIR: '/run/p' }, node: NODE, cliEntry: ENTRY });
  assert.equal(units.map((u) => u.name), ['secretfs-vaultfs-driver.service']);
  assert.equal(unitNames(other), { store: 'secretfs-vaultfs-store.service', driver: 'secretfs-vaultfs-driver.service' });
  const text = units[0].text;
  assert.match(text, /^After=local-fs.target network.target$/m);
  assert.not.match(text, /store/);
  assert.match(text, /^PIDFile=\/srv\/sfs\/run\/driver.pid$/m);
  assert.match(text, /^Environment="SECRETFS_HOME=\/srv\/sfs"\nEnvironment="SECRETFS_DRIVER_NAME=vaultfs"\nEnvironment="SECRETFS_PLUGIN_DIR=\/run\/p"$/m);
});

test('paths with spaces, % and $ are quoted and escaped the way systemd reads them', () => {
  const odd = resolvePaths({ SECRETFS_HOME: '/var/lib/my secrets%1' });
  const [driver] = renderUnits({ paths: odd, env: {}, node: '/opt/node 20/bin/node', cliEntry: '/opt/s$fs/main.js' });
  assert.match(driver.text, /^ExecStart="\/opt\/node 20\/bin\/node" \/opt\/s\$\$fs\/main.js driver start$/m);
  assert.match(driver.text, /^Environment="SECRETFS_HOME=\/var\/lib\/my secrets%%1"$/m);
  assert.throws(() => renderUnits({ paths, env: { SECRETFS_LOG_LEVEL: 'debug\nExecStartPre=/bin/sh' }, node: NODE, cliEntry: ENTRY }), /line break/);
});

test('without systemd nothing is installed, and what will not survive a reboot is said with the commands to run', async () => {
  const root = await mkdtemp(join(tmpdir(), 'sfs-nosystemd-'));
  const unitDir = join(root, 'etc/systemd/system');
  try {
    const home = join(root, 'home');
    const p = resolvePaths({ SECRETFS_HOME: home });
    const calls: string[][] = [];
    const out = await keepUpAfterReboot({ paths: p, env: {}, node: NODE, cliEntry: ENTRY, storeArgs: ['--addr', 'http://127.0.0.1:8300'], storeAddress: 'http://127.0.0.1:8300', root, unitDir, run: async (a) => void calls.push(a) });
    assert.equal(out, {
      installed: false,
      changed: false,
      detail:
        'no systemd here: nothing brings the embedded store and the volume driver back after a reboot or a crash; after one, run `docker secretfs server start --addr http://127.0.0.1:8300` and then `docker secretfs driver start` (or run the driver as the managed plugin, `docker secretfs init --managed`, which dockerd starts itself)',
    });
    assert.equal(calls, []);
    assert.is(await readdir(unitDir).catch(() => 'none'), 'none');
    const vault = await rebootReport(p, { embedded: false, root });
    assert.equal(vault, { ok: false, detail: 'no systemd here: nothing brings the volume driver back after a reboot or a crash; after one, run `docker secretfs driver start` (or run the driver as the managed plugin, `docker secretfs init --managed`, which dockerd starts itself)' });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('where systemd runs: units written 0644, reloaded, enabled and started; a second run writes nothing', async () => {
  const root = await mkdtemp(join(tmpdir(), 'sfs-systemd-'));
  const unitDir = join(root, 'etc/systemd/system');
  try {
    await mkdir(join(root, 'run/systemd/system'), { recursive: true });
    const p = resolvePaths({ SECRETFS_HOME: join(root, 'home') });
    const calls: string[][] = [];
    const opts = { paths: p, env: {}, node: NODE, cliEntry: ENTRY, storeArgs: [], root, unitDir, run: async (a: string[]) => void calls.push(a) };
    assert.equal(await rebootReport(p, { embedded: true, root, unitDir }), {
      ok: false,
      detail: 'systemd runs, but secretfs-store.service and secretfs-driver.service are not installed and enabled: the embedded store and the volume driver will not come back after a reboot; `docker secretfs init` installs them',
    });
    const first = await keepUpAfterReboot(opts);
    assert.equal(first, { installed: true, changed: true, detail: 'installed and enabled secretfs-store.service, secretfs-driver.service: systemd starts them at boot (the driver before dockerd) and again after a crash' });
    assert.equal(calls, [['daemon-reload'], ['enable', 'secretfs-store.service', 'secretfs-driver.service'], ['start', 'secretfs-store.service', 'secretfs-driver.service']]);
    assert.is((await stat(join(unitDir, 'secretfs-driver.service'))).mode & 0o777, 0o644);
    assert.is(await readFile(join(unitDir, 'secretfs-driver.service'), 'utf8'), renderUnits(opts)[1].text);
    calls.length = 0;
    const second = await keepUpAfterReboot(opts);
    assert.is(second.changed, false);
    assert.equal(calls[0], ['enable', 'secretfs-store.service', 'secretfs-driver.service'], 'no daemon-reload when nothing changed');
    // What `systemctl enable` leaves: the links in the .wants directories of the WantedBy targets.
    for (const [target, unit] of [['multi-user.target', 'secretfs-store.service'], ['docker.service', 'secretfs-driver.service']]) {
      await mkdir(join(unitDir, `${target}.wants`), { recursive: true });
      await symlink(join(unitDir, unit), join(unitDir, `${target}.wants`, unit));
    }
    assert.equal(await rebootReport(p, { embedded: true, root, unitDir }), {
      ok: true,
      detail: 'systemd brings the embedded store and the volume driver back after a reboot or a crash (secretfs-store.service, secretfs-driver.service enabled)',
    });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('with the managed plugin running the driver: only the store gets a unit, and a reboot report speaks of the store only', async () => {
  const units = renderUnits({ paths, env: {}, node: NODE, cliEntry: ENTRY, storeArgs: [], hostDriver: false });
  assert.equal(units.map((u) => u.name), ['secretfs-store.service']);
  assert.match(units[0].text, /^Before=docker.service$/m);
  assert.match(units[0].text, /^ExecStart=\/usr\/bin\/node \/opt\/secretfs\/dist\/cli\/main.js server start$/m);
  const root = await mkdtemp(join(tmpdir(), 'sfs-nosystemd-'));
  try {
    // A home of its own: the report reads the store's start record there.
    const p = resolvePaths({ SECRETFS_HOME: join(root, 'home') });
    assert.equal(await rebootReport(p, { embedded: true, hostDriver: false, root }), {
      ok: false,
      detail: 'no systemd here: nothing brings the embedded store back after a reboot or a crash; after one, run `docker secretfs server start`',
    });
    assert.equal(await rebootReport(p, { embedded: false, hostDriver: false, root }), { ok: true, detail: 'nothing to bring back: the managed plugin is started by dockerd, and Vault is not ours' });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test.run();
