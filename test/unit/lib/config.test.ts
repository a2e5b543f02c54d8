import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, stat, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULTS, loadConfig, requireConfig, resolveConfig, validateConfig, writeConfigFile } from '../../../lib/config.js';
import { ConfigError } from '../../../lib/errors.js';
import { resolvePaths } from '../../../lib/paths.js';

const test = suite('lib/config');

const rows: { name: string; file?: object; env?: NodeJS.ProcessEnv; flags?: object; expect: Partial<typeof DEFAULTS> }[] = [
  { name: 'defaults alone', expect: { vaultAddr: DEFAULTS.vaultAddr, defaultPath: 'secret/app-1', driverName: 'secretfs' } },
  { name: 'file beats defaults', file: { vaultAddr: 'http://file:1' }, expect: { vaultAddr: 'http://file:1' } },
  { name: 'env beats file', file: { vaultAddr: 'http://file:1' }, env: { VAULT_ADDR: 'http://env:2' }, expect: { vaultAddr: 'http://env:2' } },
  { name: 'flags beat env', env: { VAULT_ADDR: 'http://env:2' }, flags: { vaultAddr: 'http://flag:3' }, expect: { vaultAddr: 'http://flag:3' } },
  { name: 'empty env values do not override', file: { defaultPath: 'secret/x' }, env: { SECRETFS_DEFAULT_PATH: '' }, expect: { defaultPath: 'secret/x' } },
  { name: 'env driver name', env: { SECRETFS_DRIVER_NAME: 'sfs2' }, expect: { driverName: 'sfs2', volumeDriver: 'sfs2' } },
  { name: 'a managed plugin is the volume driver (init --managed)', file: { managedPlugin: 'secretfs/secretfs:latest' }, env: { SECRETFS_DRIVER_NAME: 'sfs2' }, expect: { driverName: 'sfs2', volumeDriver: 'secretfs/secretfs:latest' } },
  { name: 'a volumeDriver in the file is not read (it is derived)', file: { volumeDriver: 'other' }, expect: { volumeDriver: 'secretfs' } },
];
for (const row of rows) {
  test(`precedence: ${row.name}`, () => {
    const cfg = resolveConfig({ file: row.file, env: row.env, flags: row.flags });
    for (const [k, v] of Object.entries(row.expect)) assert.equal((cfg as any)[k], v, k);
  });
}

test('the driver name comes from the environment only, never from a config file', () => {
  assert.is(resolveConfig({ file: { driverName: 'fromfile' } as object }).driverName, 'secretfs');
  assert.is(resolveConfig({ file: { driverName: 'fromfile' } as object, env: { SECRETFS_DRIVER_NAME: 'sfs3' } }).driverName, 'sfs3');
  assert.is(resolveConfig({ env: { SECRETFS_DRIVER_NAME: 'sfs3' } }).driverName, resolvePaths({ SECRETFS_DRIVER_NAME: 'sfs3' }).driverName);
});

test('validateConfig reports every problem at once', () => {
  const problems = validateConfig({ ...DEFAULTS, vaultAddr: 'nope', driverName: 'Bad-Name', defaultPath: '../x', requestTimeoutMs: 0 });
  assert.is(problems.length, 4, problems.join('\n'));
});

test('SECRETFS_HOME moves every path', () => {
  const paths = resolvePaths({ SECRETFS_HOME: '/tmp/h', SECRETFS_DRIVER_NAME: 'sfst' });
  for (const [k, v] of Object.entries(paths)) {
    if (k === 'pluginSocketDir' || k === 'driverSocket' || k === 'driverName') continue;
    assert.ok(String(v).startsWith('/tmp/h'), `${k}=${v}`);
  }
  assert.is(paths.driverSocket, '/run/docker/plugins/sfst.sock');
});

test('the config file is 0600, never holds the token, and loads back', async () => {
  const home = await mkdtemp(join(tmpdir(), 'secretfs-cfg-'));
  try {
    const paths = resolvePaths({ SECRETFS_HOME: home });
    await requireConfig(paths, {}).then(() => assert.unreachable(), (err) => assert.instance(err, ConfigError));
    await writeConfigFile(paths, { vaultAddr: 'http://127.0.0.1:9', vaultToken: 'hvs.CANARYTOKEN' } as any);
    assert.is((await stat(paths.configFile)).mode & 0o777, 0o600);
    assert.not.match(await readFile(paths.configFile, 'utf8'), /CANARYTOKEN/);
    const cfg = await loadConfig(paths, { VAULT_TOKEN: 'env-token', HOME: home });
    assert.is(cfg.vaultAddr, 'http://127.0.0.1:9');
    assert.is(cfg.vaultToken, 'env-token');
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

test.run();
