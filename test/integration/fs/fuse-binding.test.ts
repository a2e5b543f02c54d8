import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, runCommand } from '../../../harness/run-cli.js';

/**
 * The one FUSE binding check (lib/fs/fuse-binding.ts), made to fail for real: each child process
 * runs with LD_LIBRARY_PATH pointing at a directory whose libfuse.so.2 is a text file, so the
 * dynamic loader picks it before the system's and dlopen of fuse-native's addon fails ("file too
 * short"), exactly where a machine without libfuse2 fails. The message must name the package.
 */
const test = suite('fs/fuse-binding check (a broken libfuse.so.2 in a child process)');
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
let dir = '';
let broken: NodeJS.ProcessEnv;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sfs-badfuse-'));
  await writeFile(join(dir, 'libfuse.so.2'), 'not a shared library\n');
  // Nothing here may reach a Docker engine or a real home: a socket that does not exist, a temp home.
  broken = { LD_LIBRARY_PATH: dir, SECRETFS_HOME: join(dir, 'home'), DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}`, SECRETFS_PLUGIN_DIR: join(dir, 'plugins'), SECRETFS_DRIVER_NAME: 'sfsbadfuse', VAULT_ADDR: 'http://127.0.0.1:9', VAULT_TOKEN: 'unused' };
});

test.after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const probe = `import('${ROOT}lib/fs/fuse-binding.ts').then((m) => { const p = m.fuseBindingProblem(); console.log(JSON.stringify(p ? { message: p.message, hint: p.hint } : null)); })`;

test('with the system libfuse.so.2 the binding loads', async () => {
  const r = await runCommand(process.execPath, ['--import', 'tsx', '-e', probe], { env: {} });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.trim(), 'null');
});

test('with a broken libfuse.so.2 the check names libfuse2 and says why', async () => {
  const r = await runCommand(process.execPath, ['--import', 'tsx', '-e', probe], { env: broken });
  assert.is(r.code, 0, r.stderr);
  const p = JSON.parse(r.stdout);
  assert.match(p.message, /^cannot load fuse-native \(the FUSE binding\): .*libfuse\.so\.2: file too short/);
  assert.is(p.hint, 'apt-get install -y libfuse2');
});

test('doctor reports the same message and hint as a failed check', async () => {
  const r = await runCli(['doctor', '--format', 'json'], { env: broken });
  assert.is.not(r.code, 0);
  const check = JSON.parse(r.stdout).checks.find((c: { name: string }) => c.name === 'fuse binding');
  assert.ok(check, r.stdout);
  assert.is(check.ok, false);
  assert.match(check.detail, /^cannot load fuse-native \(the FUSE binding\): .*libfuse\.so\.2: file too short/);
  assert.is(check.hint, 'apt-get install -y libfuse2');
});

test('driver start refuses at once with the message (exit 1) and starts nothing', async () => {
  const r = await runCli(['driver', 'start'], { env: broken });
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /cannot load fuse-native \(the FUSE binding\): .*libfuse\.so\.2: file too short/);
  assert.match(r.stderr, /apt-get install -y libfuse2/);
  const status = await runCli(['driver', 'status', '--format', 'json'], { env: broken });
  assert.is(JSON.parse(status.stdout).running, false);
});

test.run();
