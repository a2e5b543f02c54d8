import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDriverCredential } from '../../../lib/driver/credential.js';
import { ConfigError, UsageError } from '../../../lib/errors.js';
import { resolvePaths } from '../../../lib/paths.js';
import { createManagedPlugin, type PluginDeps } from '../../../lib/plugin/managed-plugin.js';

/**
 * What `plugin create` refuses before it builds anything or asks dockerd: a name Docker would
 * refuse, no credential yet, and a host driver answering on this install's socket (the two would
 * share one state file). Each refusal names the fix, and the docker CLI is never run.
 */
const test = suite('lib/plugin: plugin create refuses before any work');
const repo = fileURLToPath(new URL('../../..', import.meta.url));
let dir: string;
let server: Server | undefined;
let dockerCalls: string[][];

const deps = (env: NodeJS.ProcessEnv): PluginDeps => ({
  paths: resolvePaths(env),
  packageRoot: repo,
  docker: async (args) => {
    dockerCalls.push(args);
    return { code: 1, stdout: '', stderr: 'Error: No such plugin: x' };
  },
  step: (_title, work) => work(),
});

test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sfs-plugin-refuse-'));
  dockerCalls = [];
});
test.after.each(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

const rejection = async (work: Promise<unknown>): Promise<Error & { hint?: string }> => {
  try {
    await work;
  } catch (err) {
    return err as Error;
  }
  throw new Error('it was not refused');
};

test('a name Docker refuses', async () => {
  const err = await rejection(createManagedPlugin(deps({ SECRETFS_HOME: join(dir, 'home') }), 'Secretfs/Plugin'));
  assert.instance(err, UsageError);
  assert.is(err.message, '"Secretfs/Plugin" is not a plugin name Docker accepts');
  assert.equal(dockerCalls, []);
});

test('no driver credential yet: init first', async () => {
  const env = { SECRETFS_HOME: join(dir, 'home') };
  const err = await rejection(createManagedPlugin(deps(env)));
  assert.instance(err, ConfigError);
  assert.is(err.message, `the driver has no credential yet (${resolvePaths(env).driverCredentialFile})`);
  assert.is(err.hint, 'run `docker secretfs init --managed` (or `init`) first');
  assert.equal(dockerCalls, []);
});

test('a host driver answers on the socket: it would share the state file', async () => {
  const env = { SECRETFS_HOME: join(dir, 'home'), SECRETFS_PLUGIN_DIR: dir, SECRETFS_DRIVER_NAME: 'sfsrefuse' };
  const paths = resolvePaths(env);
  await writeDriverCredential(paths, { addr: 'http://127.0.0.1:1', token: 't' });
  server = createServer((c) => c.end());
  await new Promise<void>((r) => server!.listen(paths.driverSocket, () => r()));
  const err = await rejection(createManagedPlugin(deps(env)));
  assert.instance(err, ConfigError);
  assert.is(err.message, `a host volume driver answers on ${paths.driverSocket}; the plugin would share its state file`);
  assert.is(err.hint, 'stop it first: `docker secretfs driver stop`');
  assert.equal(dockerCalls, []);
});

test.run();
