import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, UsageError } from '../../../lib/errors.js';
import { resolvePaths } from '../../../lib/paths.js';
import { pluginConfig, readPluginTemplate } from '../../../lib/plugin/config.js';
import { DEFAULT_PLUGIN_NAME, normalizePluginName } from '../../../lib/plugin/managed-plugin.js';
import { productionPackages, sharedLibraries } from '../../../lib/plugin/rootfs.js';

const test = suite('lib/plugin: names, config.json, what the rootfs takes');
const repo = fileURLToPath(new URL('../../..', import.meta.url));
let dir: string;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sfs-plugin-unit-'));
});
test.after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('plugin names in Docker reference form, tag latest by default; a name Docker refuses is a usage error', () => {
  assert.is(DEFAULT_PLUGIN_NAME, 'secretfs/secretfs:latest');
  assert.is(normalizePluginName('secretfs/secretfs'), 'secretfs/secretfs:latest');
  assert.is(normalizePluginName('secretfs/secretfs:1.2.0'), 'secretfs/secretfs:1.2.0');
  assert.is(normalizePluginName('registry.example.com:5000/team/secretfs'), 'registry.example.com:5000/team/secretfs:latest');
  assert.is(normalizePluginName('secretfs'), 'secretfs:latest');
  for (const bad of ['', 'Secretfs/Secretfs', 'secret fs', 'secretfs/', 'secretfs:bad tag', '-x/y']) {
    assert.throws(() => normalizePluginName(bad), (err: unknown) => err instanceof UsageError && err.message === `${JSON.stringify(bad)} is not a plugin name Docker accepts`, bad);
  }
});

test('config.json: the template with the driver and log directories bind-mounted and the TLS files read-only at their own paths; no token in it', async () => {
  const paths = resolvePaths({ SECRETFS_HOME: join(dir, 'home') });
  const ca = join(dir, 'ca.pem');
  const key = join(dir, 'client.key');
  await writeFile(ca, 'ca');
  await writeFile(key, 'key');
  const token = 'hvs.not-to-be-seen-0123456789';
  const template = await readPluginTemplate(repo);
  const config = await pluginConfig(template, paths, { addr: 'https://127.0.0.1:8200', token, tls: { caCert: ca, clientKey: key }, namespace: 'team' });
  assert.not.ok(JSON.stringify(config).includes(token));
  assert.equal(config.interface, { socket: 'secretfs.sock', types: ['docker.volumedriver/1.0', 'docker.secretprovider/1.0'] });
  assert.is(config.propagatedMount, '/secretfs/mnt');
  assert.equal(config.network, { type: 'host' });
  assert.equal(config.entrypoint, ['/usr/bin/node', '/opt/secretfs/dist/cli/main.js', 'driver', 'serve']);
  assert.equal(
    config.mounts.map((m) => [m.name, m.source, m.destination, m.options.join(',')]),
    [
      ['driver', paths.driverDir, '/secretfs/driver', 'rbind,rw'],
      ['log', paths.logDir, '/secretfs/log', 'rbind,rw'],
      ['tls-ca-cert', ca, ca, 'rbind,ro'],
      ['tls-client-key', key, key, 'rbind,ro'],
    ],
  );
  // The home inside the plugin is the one the mounts and the propagated mount are below.
  const env = (config.env as { name: string; value: string }[]).map((e) => `${e.name}=${e.value}`);
  assert.ok(env.includes('SECRETFS_HOME=/secretfs'), env.join(' '));
});

test("with the engine's unix socket, the plugin gets it mounted and DOCKER_HOST pointing at it (on_change)", async () => {
  const paths = resolvePaths({ SECRETFS_HOME: join(dir, 'home') });
  const config = await pluginConfig(await readPluginTemplate(repo), paths, { addr: 'http://127.0.0.1:8200', token: 't' }, { dockerSocket: '/var/run/docker.sock' });
  const socket = config.mounts.find((m) => m.name === 'docker-socket')!;
  assert.equal([socket.source, socket.destination, socket.options], ['/var/run/docker.sock', '/run/secretfs/docker.sock', ['rbind', 'rw']]);
  const env = (config.env as { name: string; value: string }[]).map((e) => `${e.name}=${e.value}`);
  assert.ok(env.includes('DOCKER_HOST=unix:///run/secretfs/docker.sock'), env.join(' '));
  const without = await pluginConfig(await readPluginTemplate(repo), paths, { addr: 'http://127.0.0.1:8200', token: 't' });
  assert.not.ok(without.mounts.some((m) => m.name === 'docker-socket'));
  assert.not.ok((without.env as { name: string }[]).some((e) => e.name === 'DOCKER_HOST'));
});

test('a TLS file the credential names but that does not exist is refused, naming it', async () => {
  const paths = resolvePaths({ SECRETFS_HOME: join(dir, 'home') });
  const missing = join(dir, 'gone.pem');
  const template = await readPluginTemplate(repo);
  try {
    await pluginConfig(template, paths, { addr: 'https://x:8200', token: 't', tls: { caCert: missing } });
    assert.unreachable('accepted');
  } catch (err) {
    assert.instance(err, ConfigError);
    assert.is((err as Error).message, `the driver's credential names ${missing} (the CA certificate of the Vault (VAULT_CACERT)), which does not exist`);
  }
});

test('the production packages are what npm ci --omit=dev installs: runtime dependencies, no dev tools', async () => {
  const pkgs = await productionPackages(repo);
  for (const p of ['node_modules/fuse-native', 'node_modules/better-sqlite3', 'node_modules/commander', 'node_modules/chalk']) assert.ok(pkgs.includes(p), p);
  for (const p of ['node_modules/typescript', 'node_modules/tsx', 'node_modules/uvu', 'node_modules/node-vault', 'node_modules/esbuild', 'node_modules/@types/node']) assert.not.ok(pkgs.includes(p), p);
});

test("ldd's answer for node names libc and the loader", async () => {
  const libs = await sharedLibraries(process.execPath);
  assert.ok(libs.some((l) => /\/libc\.so\.6$/.test(l)), libs.join(' '));
  assert.ok(libs.some((l) => /\/ld-linux[^/]*\.so\.\d$/.test(l)), libs.join(' '));
});

test.run();
