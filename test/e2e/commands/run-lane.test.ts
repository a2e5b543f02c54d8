import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TEST_IMAGE } from '../../../harness/docker-image.js';
import { sharedTestDockerd } from '../../../harness/dockerd.js';
import { runCommand, type CliResult } from '../../../harness/run-cli.js';
import { missingRequirement, skipped } from '../../helpers/environment.js';
import { createSecretfsEnv, installCliPlugin, type SecretfsEnv } from '../../helpers/secretfs-env.js';
import { startBackground } from '../../helpers/children.js';

/**
 * `docker secretfs run`'s fast lane (scripts/plugin-shim.sh, lib/app/run-lane.ts), through the
 * launcher install.sh writes, a real docker CLI and a private dockerd. Which way a run went is
 * told by the store's audit log: the full command asks Vault with the CLI's token (the allow
 * check), the lane asks nothing (the driver mints and revokes with its own credential).
 */
const test = suite('e2e/run-lane: `docker secretfs run` without Node, on a path a run found allowed');
const CANARY = `CANARY-${randomBytes(8).toString('hex')}`;
const DOCKER_V25 = '/usr/local/bin/docker';
const DOCKER_2010 = '/usr/bin/docker';
const image = TEST_IMAGE;
let sfs: SecretfsEnv;
let dockerConfig = '';
let cliAccessor = '';
let docker = '';
let skip: string | undefined;
const children: ChildProcess[] = [];

const laneFile = () => join(sfs.home, 'run', 'run-lane');
const auditLog = () => join(sfs.home, 'store', 'audit.log');

/** `docker secretfs ARGS` through the installed launcher. */
const viaDocker = (args: string[], options: { input?: string; cli?: string; env?: NodeJS.ProcessEnv } = {}) =>
  runCommand(options.cli ?? docker, ['secretfs', ...args], { env: { ...sfs.env, DOCKER_CONFIG: dockerConfig, ...options.env }, input: options.input, timeoutMs: 60_000 });

/** What `work` resolves to, and the Vault requests made meanwhile with the CLI's token (the store's audit log). */
async function cliRequests<T>(work: () => Promise<T>): Promise<{ result: T; requests: string[] }> {
  const from = (await stat(auditLog())).size;
  const result = await work();
  const added = (await readFile(auditLog(), 'utf8')).slice(from);
  const requests = added
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { accessor?: string; method: string; path: string })
    .filter((e) => e.accessor === cliAccessor)
    .map((e) => `${e.method} ${e.path}`);
  return { result, requests };
}

/** A run through the launcher, and whether it went through the full command (a request of the CLI's token). */
async function run(args: string[], options: { input?: string; cli?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult & { full: boolean }> {
  const { result, requests } = await cliRequests(() => viaDocker(['run', ...args], options));
  return { ...result, full: requests.length > 0 };
}

async function leftovers(): Promise<string[]> {
  return (await sfs.docker(['volume', 'ls', '-q', '--filter', `driver=${sfs.driverName}`])).stdout.split('\n').filter(Boolean);
}

async function revokedAccessors(): Promise<string[]> {
  const log = await readFile(join(sfs.home, 'log', 'driver.log'), 'utf8');
  return log.split('\n').filter((l) => l.includes('"volume removed"')).map((l) => JSON.parse(l).accessor).filter(Boolean);
}

/** A background `docker secretfs ...` through the launcher. */
const start = (args: string[]) => startBackground(docker, ['secretfs', ...args], { ...sfs.env, DOCKER_CONFIG: dockerConfig }, children);

/** The launcher's pid: the child the docker CLI started for `secretfs`. */
async function launcherOf(dockerPid: number): Promise<number> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    // A Go program's children are listed under the thread that started each.
    const tasks = await readdir(`/proc/${dockerPid}/task`).catch(() => [] as string[]);
    const lists = await Promise.all(tasks.map((t) => readFile(`/proc/${dockerPid}/task/${t}/children`, 'utf8').catch(() => '')));
    const kids = lists.join(' ').trim().split(/\s+/).filter(Boolean);
    for (const kid of kids) {
      const cmdline = await readFile(`/proc/${kid}/cmdline`, 'utf8').catch(() => '');
      if (cmdline.includes('docker-secretfs')) return Number(kid);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no launcher under docker pid ${dockerPid}`);
}

test.before(async () => {
  skip = await missingRequirement({ docker: true, fuse: true });
  if (skip) return;
  docker = existsSync(DOCKER_V25) ? DOCKER_V25 : 'docker';
  sfs = await createSecretfsEnv(await sharedTestDockerd());
  await sfs.init();
  assert.is((await sfs.cli(['put', 'secret/app-1', 'db-password'], { input: CANARY })).code, 0);
  dockerConfig = await installCliPlugin(sfs);
  cliAccessor = JSON.parse((await sfs.cli(['token', 'lookup', '--format', 'json'])).stdout).accessor;
  assert.match(cliAccessor, /^\w{8,}$/);
});

test.after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (sfs) await sfs.teardown();
});

test('init records its allowed default path: the first run starts docker run itself, with no request of the CLI', async () => {
  if (skip) return skipped(skip);
  const revoked = (await revokedAccessors()).length;
  const first = await run(['--', image, 'cat', '/run/secrets/db-password']);
  assert.is(first.code, 0, first.stderr);
  assert.is(first.stdout, CANARY);
  assert.not.ok(first.full, 'the lane asks Vault nothing with the CLI\'s token');
  assert.is((await revokedAccessors()).length, revoked + 1, 'the driver revoked the lane run\'s volume token');
  assert.equal(await leftovers(), []);
});

test('without a record the full command runs and records the path (the default, and each --path as typed); the next run takes the lane', async () => {
  if (skip) return skipped(skip);
  await writeFile(laneFile(), '');
  const full = await run(['--', image, 'cat', '/run/secrets/db-password']);
  assert.is(full.stdout, CANARY, full.stderr);
  assert.ok(full.full);
  assert.match(await readFile(laneFile(), 'utf8'), /^default \d+ type=volume,target=\/run\/secrets,volume-driver=\w+,volume-opt=ephemeral=true,volume-opt=path=secret\/app-1$/m);
  assert.not.ok((await run(['--', image, 'true'])).full);
  assert.ok((await run(['--path', 'secret/app-1/', '--', image, 'true'])).full, 'not recorded as typed yet');
  const byPath = await run(['--path', 'secret/app-1/', '--', image, 'cat', '/run/secrets/db-password']);
  assert.is(byPath.stdout, CANARY);
  assert.not.ok(byPath.full);
  assert.equal(await leftovers(), []);
});

test('the lane passes stdin and the exit status; -d and run\'s other options go to the full command', async () => {
  if (skip) return skipped(skip);
  assert.ok((await run(['--', image, 'true'])).code === 0);
  const piped = await run(['--', '-i', image, 'cat'], { input: 'piped-in' });
  assert.is(piped.stdout, 'piped-in', piped.stderr);
  assert.not.ok(piped.full);
  const status = await run(['--', image, 'sh', '-c', 'exit 7']);
  assert.is(status.code, 7);
  assert.not.ok(status.full);
  const detached = await viaDocker(['run', '--', '-d', image, 'true']);
  assert.is(detached.code, 125);
  assert.match(detached.stderr, 'cannot run detached');
  const target = await run(['--target', '/s', '--', image, 'cat', '/s/db-password']);
  assert.is(target.stdout, CANARY, target.stderr);
  assert.ok(target.full, '--target is not the lane\'s');
  assert.equal(await leftovers(), []);
});

test('a record no longer true is not followed: the config changed since, or the driver was restarted', async () => {
  if (skip) return skipped(skip);
  assert.not.ok((await run(['--', image, 'true'])).full, 'recorded by the earlier runs');
  const later = new Date(Date.now() + 2000);
  await utimes(join(sfs.home, 'config.json'), later, later);
  assert.ok((await run(['--', image, 'true'])).full, 'a config newer than the record');
  assert.not.ok((await run(['--', image, 'true'])).full, 'recorded again, after the config');
  assert.is((await sfs.cli(['driver', 'stop'])).code, 0);
  assert.is((await sfs.cli(['driver', 'start'])).code, 0);
  const restarted = await run(['--', image, 'cat', '/run/secrets/db-password']);
  assert.is(restarted.stdout, CANARY, restarted.stderr);
  assert.ok(restarted.full, 'a record made for the driver process before');
  assert.not.ok((await run(['--', image, 'true'])).full);
});

test('a path no longer allowed: the lane\'s run fails with the driver\'s refusal (125), drops the record, and the next run takes the full command', async () => {
  if (skip) return skipped(skip);
  assert.not.ok((await run(['--', image, 'true'])).full);
  const allowed = JSON.parse((await sfs.cli(['allow', 'ls', '--format', 'json'])).stdout) as { path: string; policy: string }[];
  const policy = allowed.find((a) => a.path === 'secret/app-1')!.policy;
  // Removed behind this host's back (another administrator, Vault's own CLI): the record still names the path.
  assert.is((await sfs.cli(['policy', 'rm', policy])).code, 0);
  const refused = await run(['--', image, 'true']);
  assert.is(refused.code, 125);
  assert.not.ok(refused.full);
  assert.match(refused.stderr, 'secret/app-1 is not allowed');
  assert.is(await readFile(laneFile(), 'utf8'), '', 'the record is dropped');
  // The full command then mints with the CLI's own token (a volume of its own), as for any path not allowed.
  const after = await run(['--', image, 'cat', '/run/secrets/db-password']);
  assert.is(after.stdout, CANARY, after.stderr);
  assert.ok(after.full);
  assert.is((await sfs.cli(['allow', 'secret/app-1'])).code, 0);
  assert.equal(await leftovers(), []);
});

test('the record holds the default path of the environment (SECRETFS_DEFAULT_PATH): each run serves its own default', async () => {
  if (skip) return skipped(skip);
  const other = `OTHER-${randomBytes(6).toString('hex')}`;
  assert.is((await sfs.cli(['put', 'secret/lane-env', 'db-password'], { input: other })).code, 0);
  assert.is((await sfs.cli(['allow', 'secret/lane-env'])).code, 0);
  const withEnv = () => run(['--', image, 'cat', '/run/secrets/db-password'], { env: { SECRETFS_DEFAULT_PATH: 'secret/lane-env' } });
  assert.is((await withEnv()).stdout, other);
  const again = await withEnv();
  assert.is(again.stdout, other);
  assert.not.ok(again.full, 'recorded under that default');
  const plain = await run(['--', image, 'cat', '/run/secrets/db-password']);
  assert.is(plain.stdout, CANARY, 'the config\'s default, not the one recorded under the variable');
  assert.ok(plain.full);
  assert.is((await withEnv()).stdout, other);
  assert.is((await sfs.cli(['allow', 'rm', 'secret/lane-env'])).code, 0);
});

test('a token that may not read policies leaves the driver to decide, and records nothing', async () => {
  if (skip) return skipped(skip);
  const token = (await sfs.cli(['token', 'create', '--policy', 'default', '--ttl', '5m'])).stdout.trim();
  assert.match(token, /^\S{20,}$/);
  await writeFile(laneFile(), '');
  const r = await viaDocker(['run', '--path', 'secret/app-1', '--', image, 'cat', '/run/secrets/db-password'], { env: { VAULT_TOKEN: token } });
  assert.is(r.stdout, CANARY, r.stderr);
  assert.is(await readFile(laneFile(), 'utf8'), '', 'an allowed path assumed, not seen, is not recorded');
  assert.equal(await leftovers(), []);
});

test('`allow rm` drops the record', async () => {
  if (skip) return skipped(skip);
  await run(['--', image, 'true']);
  assert.not.ok((await run(['--', image, 'true'])).full);
  assert.is((await sfs.cli(['allow', 'rm', 'secret/app-1'])).code, 0);
  assert.is(await readFile(laneFile(), 'utf8'), '');
  assert.is((await sfs.cli(['allow', 'secret/app-1'])).code, 0);
});

test('kill <docker pid> (v25+ CLI) during a lane run: the container is stopped (143), its volume removed, its token revoked', async () => {
  if (skip) return skipped(skip);
  if (!existsSync(DOCKER_V25)) return skipped('no docker CLI v25+ here (its plugin socket is what this tests)');
  await run(['--', image, 'true']);
  const revoked = (await revokedAccessors()).length;
  const { result } = await cliRequests(async () => {
    const proc = start(['run', '--', image, 'sh', '-c', 'trap "exit 143" TERM; echo ready; sleep 60 & wait']);
    await proc.waitFor('ready');
    proc.child.kill('SIGTERM');
    return { code: await proc.exited(), proc };
  }).then((r) => {
    assert.equal(r.requests, [], 'it was the lane');
    return r;
  });
  assert.is(result.code, 143, result.proc.output());
  assert.equal(await leftovers(), []);
  const accessors = await revokedAccessors();
  assert.is(accessors.length, revoked + 1);
  assert.is((await sfs.cli(['token', 'lookup', '--accessor', accessors[accessors.length - 1]])).code, 2, 'the volume token is revoked');
});

test('lane: a second SIGTERM after a second ends the launcher at once (143), saying what stays; dockerd still stops and removes the container', async () => {
  if (skip) return skipped(skip);
  await run(['--', image, 'true']);
  // sh as PID 1 without a trap ignores SIGTERM: the first, clean stop waits for the stop timeout.
  const proc = start(['run', '--', '--stop-timeout', '5', image, 'sh', '-c', 'echo ready; sleep 60']);
  await proc.waitFor('ready');
  const launcher = await launcherOf(proc.child.pid!);
  process.kill(launcher, 'SIGTERM');
  await new Promise((r) => setTimeout(r, 1500));
  process.kill(launcher, 'SIGTERM');
  assert.is(await proc.exited(3000), 143);
  const left = /left behind: the container labelled (io\.secretfs\.run=[0-9a-f]{12}), still stopping/.exec(proc.output());
  assert.ok(left, proc.output());
  const deadline = Date.now() + 20_000;
  const ours = () => sfs.docker(['ps', '-aq', '--filter', `label=${left![1]}`]).then((r) => r.stdout.trim());
  while ((await ours()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  assert.is(await ours(), '', 'the container is removed');
  assert.equal(await leftovers(), []);
});

test('Debian docker.io 20.10 CLI (no plugin socket): the lane works the same', async () => {
  if (skip) return skipped(skip);
  if (!existsSync(DOCKER_2010)) return skipped('no docker CLI 20.10 here');
  await run(['--', image, 'true']);
  const old = await run(['--', image, 'cat', '/run/secrets/db-password'], { cli: DOCKER_2010 });
  assert.is(old.stdout, CANARY, old.stderr);
  assert.not.ok(old.full);
  assert.equal(await leftovers(), []);
});

test.run();
