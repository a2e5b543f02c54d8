import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { TEST_IMAGE } from '../../../harness/docker-image.js';
import { sharedTestDockerd } from '../../../harness/dockerd.js';
import { CLI_ENTRY } from '../../../harness/run-cli.js';
import { resolvePaths } from '../../../lib/paths.js';
import { missingRequirement, skipped } from '../../helpers/environment.js';
import { rootVaultOf, until, type RootVault } from '../../helpers/root-vault.js';
import { createSecretfsEnv, type SecretfsEnv } from '../../helpers/secretfs-env.js';

/**
 * What `run` leaves behind when nobody cleans up after it: the CLI killed (SIGKILL) right after its
 * container exits, and ephemeral volumes no container uses. The driver's sweep (every
 * SECRETFS_SWEEP_INTERVAL, here 1 s) must leave no volume, no run policy and no live token, checked
 * with the store over HTTP.
 */
const test = suite('e2e/run cleanup: a killed CLI and the driver\'s sweep of ephemeral volumes');
const CANARY = `CANARY-${randomBytes(8).toString('hex')}`;
let sfs: SecretfsEnv;
let skip: string | undefined;
let store: RootVault;

/** Accessors of the volume tokens the driver took (minted or unwrapped) at Create, from its log. */
async function createdAccessors(): Promise<string[]> {
  const log = await readFile(resolvePaths(sfs.env).driverLogFile, 'utf8');
  return log.split('\n').filter((l) => l.includes('"volume created"')).map((l) => JSON.parse(l).accessor as string).filter(Boolean);
}

/** Whether the token is still alive 5 s after its volume went (the driver's Remove answers once the revocation is recorded; Vault's follows). */
async function aliveAfterRemove(accessor: string): Promise<boolean> {
  return until(() => store.tokenAlive(accessor), (alive) => !alive, 5000);
}

/** Everything a run or an ephemeral volume could leave: docker's volumes of our driver, the driver's state, run policies. */
async function leftovers(): Promise<{ docker: string[]; state: string[]; policies: string[] }> {
  const docker = (await sfs.docker(['volume', 'ls', '-q', '--filter', `driver=${sfs.driverName}`])).stdout.split('\n').filter(Boolean);
  const state = Object.keys(JSON.parse((await readFile(resolvePaths(sfs.env).driverStateFile, 'utf8').catch(() => '{"volumes":{}}')) as string).volumes ?? {});
  const policies = ((await store.request('LIST', 'sys/policies/acl')).json?.data?.keys ?? []).filter((p: string) => p.startsWith('secretfs-volume-'));
  return { docker, state, policies };
}

const nothing = (l: { docker: string[]; state: string[]; policies: string[] }) => l.docker.length === 0 && l.state.length === 0 && l.policies.length === 0;

test.before(async () => {
  skip = await missingRequirement({ docker: true, fuse: true });
  if (skip) return;
  sfs = await createSecretfsEnv(await sharedTestDockerd());
  // The driver init starts reads this: a sweep every second, so the test waits seconds, not a minute.
  sfs.env.SECRETFS_SWEEP_INTERVAL = '1s';
  await sfs.init();
  store = await rootVaultOf(sfs.home);
  const put = await sfs.cli(['put', 'secret/app-1', 'db-password'], { input: CANARY });
  assert.is(put.code, 0, put.stderr);
});

test.after(async () => {
  if (sfs) await sfs.teardown();
});

/**
 * `docker secretfs run ARGS` whose CLI is killed right after its container exits: frozen
 * (SIGSTOP) once the container printed the secret, so it cannot do anything after the container,
 * then SIGKILLed once no container of a run is running.
 */
async function runKilledAfterExit(args: string[]): Promise<void> {
  const child = spawn(process.execPath, [CLI_ENTRY, 'run', ...args, '--', TEST_IMAGE, 'sh', '-c', 'cat /run/secrets/db-password; sleep 1'], {
    env: { ...process.env, ...sfs.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await until(async () => out, (o) => o.includes(CANARY) || child.exitCode !== null);
    assert.ok(out.includes(CANARY), out);
    child.kill('SIGSTOP');
    await until(async () => (await sfs.docker(['ps', '-q', '--filter', 'label=io.secretfs.run'])).stdout.trim(), (ids) => ids === '');
    assert.is((await sfs.docker(['ps', '-q', '--filter', 'label=io.secretfs.run'])).stdout.trim(), '', 'the container exited');
    child.kill('SIGKILL');
    await exited;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

test('the CLI killed (SIGKILL) right after its container exits: after the next sweep no volume, no policy, no live token', async () => {
  if (skip) return skipped(skip);
  const before = (await createdAccessors()).length;
  await runKilledAfterExit([]);
  const accessors = (await createdAccessors()).slice(before);
  assert.is(accessors.length, 1, 'the run made one volume token');
  // Two sweep intervals and a margin.
  const left = await until(leftovers, nothing, 5000);
  assert.equal(left, { docker: [], state: [], policies: [] });
  assert.is(await aliveAfterRemove(accessors[0]), false, 'the run\'s volume token is revoked');
  assert.is((await sfs.docker(['ps', '-aq', '--filter', 'label=io.secretfs.run'])).stdout.trim(), '', 'no container of the run is left');
});

test('the same on a path no allowed path covers: the sweep removes the volume and revokes the token, the next run deletes the policy', async () => {
  if (skip) return skipped(skip);
  const put = await sfs.cli(['put', 'secret/not-allowed', 'db-password'], { input: CANARY });
  assert.is(put.code, 0, put.stderr);
  const before = (await createdAccessors()).length;
  await runKilledAfterExit(['--path', 'secret/not-allowed']);
  const accessors = (await createdAccessors()).slice(before);
  assert.is(accessors.length, 1, 'the run made one volume token');
  const left = await until(leftovers, (l) => l.docker.length === 0 && l.state.length === 0, 5000);
  assert.equal([left.docker, left.state], [[], []]);
  assert.is(await aliveAfterRemove(accessors[0]), false, 'the run\'s volume token is revoked');
  // Only an administrator's token may delete the policy: it stays, named in the run's record, until the next run.
  assert.is(left.policies.length, 1, JSON.stringify(left.policies));
  assert.match(left.policies[0], /^secretfs-volume-secretfs-run-[0-9a-f]{12}-[0-9a-f]{16}$/);
  const records = resolvePaths(sfs.env).runRecordsDir;
  assert.equal((await readdir(records)).length, 1);
  const next = await sfs.cli(['run', '--', TEST_IMAGE, 'true']);
  assert.is(next.code, 0, next.stderr);
  assert.equal(await leftovers(), { docker: [], state: [], policies: [] });
  assert.equal(await readdir(records), []);
});

test('an ephemeral volume is swept once no container refers to it: kept while one (even created, not started) does', async () => {
  if (skip) return skipped(skip);
  const name = `sfsweep${randomBytes(4).toString('hex')}`;
  const before = (await createdAccessors()).length;
  const created = await sfs.docker(['volume', 'create', '-d', sfs.driverName, '-o', 'path=secret/app-1', '-o', 'ephemeral=true', name]);
  assert.is(created.code, 0, created.stderr);
  // Create is answered once the volume is recorded; the driver mints its token right after.
  const [accessor] = (await until(createdAccessors, (a) => a.length > before, 5000)).slice(before);
  assert.ok(accessor, 'the driver minted a token after Create');
  const container = (await sfs.docker(['create', '--mount', `type=volume,source=${name},target=/s`, TEST_IMAGE, 'true'])).stdout.trim();
  assert.match(container, /^[0-9a-f]{64}$/);
  // Three sweeps while the container refers to it: dockerd refuses the removal, the volume stays.
  await new Promise((r) => setTimeout(r, 3500));
  assert.equal((await leftovers()).docker, [name]);
  assert.is(await store.tokenAlive(accessor), true);
  assert.is((await sfs.docker(['rm', container])).code, 0);
  const left = await until(leftovers, nothing, 5000);
  assert.equal(left, { docker: [], state: [], policies: [] });
  assert.is(await aliveAfterRemove(accessor), false, 'the swept volume\'s token is revoked');
  const log = await readFile(resolvePaths(sfs.env).driverLogFile, 'utf8');
  assert.match(log, new RegExp(`"ephemeral volume swept".*"volume":"${name}".*"by":"dockerd"`));
});

test('a volume without ephemeral=true is never swept; a bad ephemeral= value is refused at Create', async () => {
  if (skip) return skipped(skip);
  const name = `sfkeep${randomBytes(4).toString('hex')}`;
  assert.is((await sfs.docker(['volume', 'create', '-d', sfs.driverName, '-o', 'path=secret/app-1', name])).code, 0);
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal((await leftovers()).docker, [name]);
  assert.is((await sfs.docker(['volume', 'rm', name])).code, 0);
  const bad = await sfs.docker(['volume', 'create', '-d', sfs.driverName, '-o', 'path=secret/app-1', '-o', 'ephemeral=yes', `${name}x`]);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, 'invalid ephemeral="yes": expected ephemeral=true (or leave it out)');
});

test.run();
