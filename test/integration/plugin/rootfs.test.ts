import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { buildRootfs, type RootfsSummary } from '../../../lib/plugin/rootfs.js';
import { skipped } from '../../helpers/environment.js';

/**
 * The managed plugin's rootfs, built from this install and run with chroot (what runc gives the
 * plugin, less the namespaces): node starts, the CLI bundle answers, both native addons load with
 * the libraries ldd found, fusermount is there, and no dev dependency came along.
 */
const test = suite('lib/plugin: the rootfs runs on its own');
const repo = fileURLToPath(new URL('../../..', import.meta.url));
const run = promisify(execFile);
let dir: string;
let summary: RootfsSummary;
let skip: string | undefined;

test.before(async () => {
  if (process.getuid?.() !== 0) skip = 'chroot needs root';
  else if (!existsSync(join(repo, 'dist/cli/main.js'))) skip = 'no build (npm run build)';
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'sfs-rootfs-'));
  summary = await buildRootfs(join(dir, 'rootfs'), { packageRoot: repo });
});
test.after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const chroot = (args: string[]) => run('chroot', [join(dir, 'rootfs'), ...args], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, timeout: 30_000 });

test('the CLI bundle runs inside it and both native addons load', async () => {
  if (skip) return skipped(skip);
  const version = await chroot(['/usr/bin/node', '/opt/secretfs/dist/cli/main.js', 'version', '--format', 'json']);
  assert.match(JSON.parse(version.stdout).version, /^\d+\.\d+\.\d+/);
  const addons = await chroot(['/usr/bin/node', '-e', "require('/opt/secretfs/node_modules/fuse-native'); new (require('/opt/secretfs/node_modules/better-sqlite3'))(':memory:').prepare('select 1 as one').get().one === 1 && console.log('loaded')"]);
  assert.is(addons.stdout.trim(), 'loaded');
  // fuse-native unmounts through a shell (child_process.exec): without /bin/sh no unmount works.
  assert.is((await chroot(['/bin/sh', '-c', 'command -v fusermount'])).stdout.trim(), '/usr/bin/fusermount');
  const fusermount = await chroot(['/usr/bin/fusermount', '-V']);
  assert.match(fusermount.stdout + fusermount.stderr, /fusermount3? version/);
});

test('it holds production packages only, and its size is what the summary says', async () => {
  if (skip) return skipped(skip);
  for (const dev of ['typescript', 'tsx', 'uvu', 'esbuild', 'node-vault']) assert.not.ok(existsSync(join(dir, 'rootfs/opt/secretfs/node_modules', dev)), dev);
  assert.ok(summary.libraries.some((l) => l.endsWith('/libfuse.so.2')), summary.libraries.join(' '));
  const du = await run('du', ['-sb', join(dir, 'rootfs')], { encoding: 'utf8' });
  const bytes = Number(du.stdout.split('\t')[0]);
  // du counts directories too: a little more than the files' sum.
  assert.ok(bytes >= summary.bytes && bytes < summary.bytes * 1.1, `${bytes} vs ${summary.bytes}`);
  // node (~100 MB) and what it runs: a few hundred MB would mean dev dependencies or build leftovers came along.
  assert.ok(summary.bytes < 200e6, `${summary.bytes} bytes`);
});

test.run();
