import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolvePaths, type Paths } from '../../../lib/paths.js';
import { RUN_LANE_HEADER, RUN_LANE_TTL_S, clearRunLane, recordRunLane, runLaneFile } from '../../../lib/app/run-lane.js';

/**
 * The fast lane's record (lib/app/run-lane.ts), as scripts/plugin-shim.sh reads it. These cases use
 * a managed plugin's name, which has no host process to pin; the e2e (test/e2e/commands/run-lane)
 * follows records through the launcher, a real docker CLI and dockerd.
 */
const test = suite('lib/app/run-lane: the record run\'s fast lane follows');
const PLUGIN = 'secretfs/secretfs:latest';
let dir = '';
let paths: Paths;

const lines = async () => (await readFile(runLaneFile(paths), 'utf8')).split('\n');
const uptime = async () => Number((await readFile('/proc/uptime', 'utf8')).split(' ')[0]);

test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secretfs-lane-'));
  paths = resolvePaths({ SECRETFS_HOME: dir });
  // A record is followed, and kept by the next, only while it is newer than the config.
  await writeFile(paths.configFile, '{}');
});

test.after.each(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('one line per path: the default (no --path) and each --path as typed, with the --mount of the default target', async () => {
  const now = await uptime();
  await recordRunLane(paths, {
    volumeDriver: PLUGIN,
    target: '/run/secrets',
    paths: [{ path: 'secret/app-1' }, { typed: 'secret/db/', path: 'secret/db' }],
    env: {},
  });
  const [header, boot, driverEnv, defaultEnv, pid, first, second, end] = await lines();
  assert.is(header, RUN_LANE_HEADER);
  assert.is(boot, `boot ${(await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim()}`);
  assert.is(driverEnv, 'driver-env -');
  assert.is(defaultEnv, 'default-env -');
  assert.is(pid, 'pid -', 'a managed plugin is dockerd\'s: no host process');
  const [kind, until, mount] = first.split(' ');
  assert.is(kind, 'default');
  assert.ok(Number(until) >= Math.floor(now) + RUN_LANE_TTL_S && Number(until) <= (await uptime()) + RUN_LANE_TTL_S, until);
  assert.is(mount, `type=volume,target=/run/secrets,volume-driver=${PLUGIN},volume-opt=ephemeral=true,volume-opt=path=secret/app-1`);
  assert.equal(second.split(' ').filter((_, i) => i !== 2), ['path', 'secret/db/', `type=volume,target=/run/secrets,volume-driver=${PLUGIN},volume-opt=ephemeral=true,volume-opt=path=secret/db`]);
  assert.is(end, '', 'ends with a line break (sh\'s read skips an unterminated last line)');
  assert.is((await stat(runLaneFile(paths))).mode & 0o777, 0o600);
});

test('a later record keeps the earlier paths of the same driver, and replaces a record of another driver name', async () => {
  const one = { volumeDriver: PLUGIN, target: '/run/secrets', env: {} };
  await recordRunLane(paths, { ...one, paths: [{ typed: 'secret/a', path: 'secret/a' }] });
  await recordRunLane(paths, { ...one, paths: [{ typed: 'secret/b', path: 'secret/b' }] });
  assert.equal((await lines()).filter((l) => l.startsWith('path ')).map((l) => l.split(' ')[1]), ['secret/a', 'secret/b']);
  await recordRunLane(paths, { ...one, env: { SECRETFS_DRIVER_NAME: 'other' }, paths: [{ typed: 'secret/c', path: 'secret/c' }] });
  const now = await lines();
  assert.is(now[2], 'driver-env other');
  assert.equal(now.filter((l) => l.startsWith('path ')).map((l) => l.split(' ')[1]), ['secret/c']);
});

test('expired entries are dropped; a path the shell could not read back as one word is not recorded', async () => {
  const file = runLaneFile(paths);
  await recordRunLane(paths, { volumeDriver: PLUGIN, target: '/run/secrets', env: {}, paths: [{ typed: 'secret/a', path: 'secret/a' }] });
  const [h1, h2, h3, h4, h5] = await lines();
  await writeFile(file, [h1, h2, h3, h4, h5, 'path secret/old 1 type=volume,x', ''].join('\n'));
  await recordRunLane(paths, {
    volumeDriver: PLUGIN,
    target: '/run/secrets',
    env: {},
    paths: [
      { typed: 'secret/my app', path: 'secret/my app' },
      { typed: '-x', path: 'x' },
      { typed: 'secret/ok', path: 'secret/ok' },
    ],
  });
  assert.equal((await lines()).filter((l) => l.startsWith('path ')).map((l) => l.split(' ')[1]), ['secret/ok']);
});

test('a record older than config.json gives a new one none of its lines: a default line always names the config\'s default path', async () => {
  const one = { volumeDriver: PLUGIN, target: '/run/secrets', env: {} };
  await recordRunLane(paths, { ...one, paths: [{ path: 'secret/old-default' }, { typed: 'secret/a', path: 'secret/a' }] });
  // The config changes (say its default path), after the record.
  await new Promise((r) => setTimeout(r, 20));
  await writeFile(paths.configFile, '{"defaultPath":"secret/new"}');
  await new Promise((r) => setTimeout(r, 20));
  await recordRunLane(paths, { ...one, paths: [{ typed: 'secret/b', path: 'secret/b' }] });
  const now = await lines();
  assert.not.ok(now.some((l) => l.startsWith('default ')), now.join('\n'));
  assert.equal(now.filter((l) => l.startsWith('path ')).map((l) => l.split(' ')[1]), ['secret/b']);
  // Newer than the config: kept.
  await recordRunLane(paths, { ...one, paths: [{ typed: 'secret/c', path: 'secret/c' }] });
  assert.equal((await lines()).filter((l) => l.startsWith('path ')).map((l) => l.split(' ')[1]), ['secret/b', 'secret/c']);
});

test('the record names the default path of the environment (SECRETFS_DEFAULT_PATH) it was made under', async () => {
  await recordRunLane(paths, { volumeDriver: PLUGIN, target: '/run/secrets', env: { SECRETFS_DEFAULT_PATH: 'secret/c' }, paths: [{ path: 'secret/c' }] });
  assert.is((await lines())[3], 'default-env secret/c');
});

test('clearRunLane empties the record (and a missing one is fine)', async () => {
  await clearRunLane(paths);
  await recordRunLane(paths, { volumeDriver: PLUGIN, target: '/run/secrets', env: {}, paths: [{ path: 'secret/a' }] });
  await clearRunLane(paths);
  assert.is(await readFile(runLaneFile(paths), 'utf8'), '');
});

test.run();
