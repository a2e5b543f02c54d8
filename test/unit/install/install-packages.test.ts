import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand, type CliResult } from '../../../harness/run-cli.js';

/**
 * install.sh's package decisions, run for real by bash against a PATH of stubs only: `dpkg -s`
 * answers from a list, `id -u` from a number, the commands that count as present are stub
 * executables, and `apt-get` records what it was asked to do. Nothing on this machine is
 * installed or changed: the checkout is a scratch copy of install.sh (with links to this tree's
 * dist/, node_modules/, scripts/ and metadata, so the final FUSE binding check runs for real) and the plugin goes
 * to a scratch DOCKER_CONFIG.
 */
const test = suite('install.sh package decisions (PATH of stubs)');
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ALL_PACKAGES = 'libfuse2 fuse3 busybox-static docker.io libfuse-dev pkg-config gcc docker-compose openssl util-linux iproute2 g++ make python3';
const ALL_COMMANDS = ['fusermount3', 'dockerd', 'pkg-config', 'gcc', 'docker-compose', 'openssl', 'unshare', 'ip', 'g++', 'make', 'python3', 'apt-get'];
const ALL_DPKG = ['libfuse2', 'fuse3', 'busybox-static', 'libfuse-dev'];
/** Real tools install.sh uses that are not under test. */
const REAL_TOOLS = ['bash', 'sh', 'cat', 'sed', 'grep', 'mkdir', 'mktemp', 'chmod', 'mv', 'rm', 'seq', 'sleep', 'dirname', 'nohup', 'touch'];
let scratch = '';

interface Machine {
  uid?: number;
  /** Packages `dpkg -s` knows. */
  dpkg?: string[];
  /** Commands on PATH (apt-get included when listed). */
  commands?: string[];
  /** Whether `docker info` answers; 'after-dockerd' = once the stub dockerd ran. */
  docker?: boolean | 'after-dockerd';
}

interface Outcome extends CliResult {
  apt: string[];
  dir: string;
  pluginInstalled: boolean;
}

async function stub(dir: string, name: string, body: string): Promise<void> {
  await writeFile(join(dir, name), `#!/bin/sh\n${body}\n`);
  await chmod(join(dir, name), 0o755);
}

let n = 0;
async function install(m: Machine, args: string[] = ['--no-build']): Promise<Outcome> {
  const dir = join(scratch, `m${++n}`);
  const bin = join(dir, 'bin');
  const checkout = join(dir, 'checkout');
  await mkdir(bin, { recursive: true });
  await mkdir(checkout, { recursive: true });
  await copyFile(join(ROOT, 'install.sh'), join(checkout, 'install.sh'));
  await symlink(join(ROOT, 'dist'), join(checkout, 'dist'));
  await symlink(join(ROOT, 'node_modules'), join(checkout, 'node_modules'));
  // The plugin shim's writer and what it reads (the built metadata, the package's version).
  for (const entry of ['scripts', 'package.json', 'plugin-metadata']) await symlink(join(ROOT, entry), join(checkout, entry));
  for (const tool of REAL_TOOLS) {
    const real = ['/usr/bin', '/bin'].map((d) => join(d, tool)).find((p) => existsSync(p));
    if (!real) throw new Error(`no ${tool} on this machine`);
    await symlink(real, join(bin, tool));
  }
  const log = join(dir, 'apt.log');
  await stub(bin, 'id', `[ "$1" = -u ] && echo ${m.uid ?? 0} || exec /usr/bin/id "$@"`);
  await stub(bin, 'dpkg', `[ "$1" = -s ] || exit 2\nfor p in ${(m.dpkg ?? []).join(' ')}; do [ "$p" = "$2" ] && exit 0; done\nexit 1`);
  await stub(bin, 'node', `exec "${process.execPath}" "$@"`);
  await stub(bin, 'npm', '[ "$1" = --version ] && { echo 10.0.0; exit 0; }\necho "npm $*" >> "$(dirname "$0")/../npm.log"');
  const flag = join(dir, 'dockerd-started');
  const answers = m.docker === 'after-dockerd' ? `[ -f "${flag}" ]` : m.docker === false ? 'false' : 'true';
  await stub(bin, 'docker', `[ "$1" = info ] || exit 0\n${answers}`);
  for (const c of m.commands ?? []) {
    if (c === 'apt-get') await stub(bin, 'apt-get', `echo "$*" >> "${log}"`);
    else if (c === 'dockerd') await stub(bin, 'dockerd', `touch "${flag}"\nexec sleep 30`);
    else await stub(bin, c, 'exit 0');
  }
  const res = await runCommand('bash', [join(checkout, 'install.sh'), ...args], {
    env: {
      PATH: `${bin}`,
      HOME: dir,
      DOCKER_CONFIG: join(dir, 'docker-config'),
      SECRETFS_DOCKERD_PIDFILE: join(dir, 'dockerd.pid'),
      SECRETFS_DOCKERD_LOG: join(dir, 'dockerd.log'),
    },
    timeoutMs: 90_000,
  });
  const apt = existsSync(log) ? (await readFile(log, 'utf8')).split('\n').filter(Boolean) : [];
  return { ...res, apt, dir, pluginInstalled: existsSync(join(dir, 'docker-config', 'cli-plugins', 'docker-secretfs')) };
}

test.before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'sfs-install-'));
});

test.after(async () => {
  await rm(scratch, { recursive: true, force: true });
});

test('nothing present (root, apt): installs every managed package in one apt-get call, then the binding check passes', async () => {
  const r = await install({ commands: ['apt-get'] });
  assert.is(r.code, 0, r.stderr);
  assert.equal(r.apt, ['update -qq', `install -y -qq ${ALL_PACKAGES}`]);
  assert.ok(r.stderr.includes(`installing OS packages: ${ALL_PACKAGES}`), r.stderr);
  assert.match(r.stderr, /==> the FUSE binding loads/);
  assert.ok(r.pluginInstalled);
});

test('fuse3 present without libfuse2: installs libfuse2 only', async () => {
  const r = await install({ dpkg: ALL_DPKG.filter((p) => p !== 'libfuse2'), commands: ALL_COMMANDS });
  assert.is(r.code, 0, r.stderr);
  assert.equal(r.apt, ['update -qq', 'install -y -qq libfuse2']);
});

test('everything present: apt-get is never called', async () => {
  const r = await install({ dpkg: ALL_DPKG, commands: ALL_COMMANDS });
  assert.is(r.code, 0, r.stderr);
  assert.equal(r.apt, []);
  assert.match(r.stderr, /OS packages present/);
  assert.ok(r.pluginInstalled);
});

test('not root: names the packages, exits 1 and changes nothing (no apt-get, no npm, no plugin)', async () => {
  const r = await install({ uid: 1000, dpkg: ['fuse3'], commands: ['apt-get', 'fusermount3', 'dockerd', 'gcc', 'openssl', 'unshare', 'ip', 'g++', 'make', 'python3'] }, []);
  assert.is(r.code, 1);
  assert.match(r.stderr, /install\.sh: missing OS packages: libfuse2 busybox-static libfuse-dev pkg-config docker-compose; nothing was changed\. Install them as root \(sudo apt-get install -y libfuse2 busybox-static libfuse-dev pkg-config docker-compose\)/);
  assert.equal(r.apt, []);
  assert.not.ok(existsSync(join(r.dir, 'npm.log')), 'npm ci did not run');
  assert.not.ok(r.pluginInstalled);
});

test('root without apt-get: names the packages, exits 1 and changes nothing', async () => {
  const r = await install({ dpkg: ALL_DPKG.filter((p) => p !== 'libfuse2'), commands: ALL_COMMANDS.filter((c) => c !== 'apt-get') });
  assert.is(r.code, 1);
  assert.match(r.stderr, /missing OS packages: libfuse2; nothing was changed\. This machine has no apt-get/);
  assert.not.ok(r.pluginInstalled);
});

test('--plan (the CI preflight) lists each managed package as present or missing and changes nothing', async () => {
  const r = await install({ dpkg: ALL_DPKG.filter((p) => p !== 'libfuse2'), commands: ALL_COMMANDS.filter((c) => c !== 'gcc') }, ['--plan']);
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => l.split(/\s+/));
  assert.equal(lines.map(([p]) => p), ALL_PACKAGES.split(' '));
  assert.equal(lines.filter(([, s]) => s === 'missing').map(([p]) => p), ['libfuse2', 'gcc']);
  assert.equal(r.apt, []);
  assert.not.ok(r.pluginInstalled);
});

test('no engine answers: starts dockerd in the background and records its pid for whoever stops it', async () => {
  const r = await install({ dpkg: ALL_DPKG, commands: ALL_COMMANDS, docker: 'after-dockerd' });
  const pid = Number((await readFile(join(r.dir, 'dockerd.pid'), 'utf8').catch(() => '0')).trim());
  try {
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, /starting dockerd in the background/);
    assert.ok(pid > 0, 'a pid was recorded');
    assert.match(await readFile(`/proc/${pid}/cmdline`, 'utf8'), /^sleep\x0030/, 'the recorded pid is the dockerd install.sh started');
  } finally {
    if (pid > 0) process.kill(pid, 'SIGTERM');
  }
});

test.run();
