import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TEST_IMAGE } from '../../../harness/docker-image.js';
import { sharedTestDockerd } from '../../../harness/dockerd.js';
import { missingRequirement, skipped } from '../../helpers/environment.js';
import { CLI_ENTRY } from '../../../harness/run-cli.js';
import { createSecretfsEnv, type SecretfsEnv } from '../../helpers/secretfs-env.js';

const test = suite('e2e/run and volume (real dockerd, FUSE, embedded store)');
const CANARY = `CANARY-${randomBytes(8).toString('hex')}`;
let sfs: SecretfsEnv;
const image = TEST_IMAGE;
let rootToken = '';
let skip: string | undefined;

/** Our driver's volumes and the run policies still in Vault: both must be empty after every run. */
async function leftovers(): Promise<{ volumes: string[]; policies: string[] }> {
  const volumes = (await sfs.docker(['volume', 'ls', '-q', '--filter', `driver=${sfs.driverName}`])).stdout.split('\n').filter(Boolean);
  const policies = (JSON.parse((await sfs.cli(['policy', 'ls', '--format', 'json'])).stdout) as string[]).filter((p) => p.startsWith('secretfs-volume-secretfs-run-'));
  return { volumes, policies };
}

/** Accessors of the volume tokens the driver revoked, from its log (accessors are not secret). */
async function revokedAccessors(): Promise<string[]> {
  const log = await readFile(join(sfs.home, 'log', 'driver.log'), 'utf8');
  return log.split('\n').filter((l) => l.includes('"volume removed"')).map((l) => JSON.parse(l).accessor).filter(Boolean);
}

test.before(async () => {
  skip = await missingRequirement({ docker: true, fuse: true });
  if (skip) return;
  sfs = await createSecretfsEnv(await sharedTestDockerd());
  await sfs.init();
  rootToken = (await readFile(join(sfs.home, 'store', 'root-token'), 'utf8')).trim();
  const put = await sfs.cli(['put', 'secret/app-1', 'db-password'], { input: CANARY });
  assert.is(put.code, 0, put.stderr);
});

test.after(async () => {
  if (sfs) await sfs.teardown();
});

test('run -- IMAGE cat /run/secrets/db-password prints the secret (the three-command flow)', async () => {
  if (skip) return skipped(skip);
  const res = await sfs.cli(['run', '--', image, 'cat', '/run/secrets/db-password']);
  assert.is(res.code, 0, res.stderr);
  assert.is(res.stdout, CANARY);
  assert.not.match(res.stderr, new RegExp(CANARY));
  assert.equal(await leftovers(), { volumes: [], policies: [] });
});

test('run passes the exit status through, then removes the volume and revokes its token', async () => {
  if (skip) return skipped(skip);
  const before = (await revokedAccessors()).length;
  const res = await sfs.cli(['run', '--', image, 'sh', '-c', 'test -s /run/secrets/db-password && exit 3']);
  assert.is(res.code, 3, res.stderr);
  assert.equal(await leftovers(), { volumes: [], policies: [] });
  const accessors = await revokedAccessors();
  assert.is(accessors.length, before + 1);
  const lookup = await sfs.cli(['token', 'lookup', '--accessor', accessors[accessors.length - 1]]);
  assert.is(lookup.code, 2, 'the volume token must be revoked');
});

test('several --path go under the target by their last segment', async () => {
  if (skip) return skipped(skip);
  assert.is((await sfs.cli(['put', 'secret/db', 'user=-'], { input: 'app' })).code, 0);
  const res = await sfs.cli(['run', '--path', 'secret/app-1', '--path', 'secret/db', '--target', '/s', '--', image, 'sh', '-c', 'cat /s/db/user; cat /s/app-1/db-password']);
  assert.is(res.code, 0, res.stderr);
  assert.is(res.stdout, `app${CANARY}`);
});

test('run with an image that does not exist fails with 125 and cleans up', async () => {
  if (skip) return skipped(skip);
  const res = await sfs.cli(['run', '--', 'secretfs-test/no-such-image:never', 'true']);
  assert.is(res.code, 125);
  assert.equal(await leftovers(), { volumes: [], policies: [] });
});

test('run refuses detached containers and bad options before creating anything (125)', async () => {
  if (skip) return skipped(skip);
  const detached = await sfs.cli(['run', '--', '-d', image, 'sleep', '5']);
  assert.is(detached.code, 125);
  assert.match(detached.stderr, /detached/);
  const badOpt = await sfs.cli(['run', '-o', 'colour=blue', '--', image, 'true']);
  assert.is(badOpt.code, 125);
  assert.match(badOpt.stderr, /valid options/);
  assert.equal(await leftovers(), { volumes: [], policies: [] });
});

test('SIGINT during run: the container is interrupted, volume removed, token revoked, exit 130', async () => {
  if (skip) return skipped(skip);
  const before = (await revokedAccessors()).length;
  const child = spawn(process.execPath, [CLI_ENTRY, 'run', '--', image, 'sh', '-c', 'trap "exit 130" INT; echo ready; sleep 60 & wait'], {
    env: { ...process.env, ...sfs.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  for (let i = 0; i < 200 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(out.includes('ready'), 'the container did not start');
  // While it runs: no process's argv holds the secret or the root token.
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    assert.not.ok(cmdline.includes(CANARY), `canary in argv of ${pid}`);
    assert.not.ok(cmdline.includes(rootToken), `root token in argv of ${pid}`);
  }
  child.kill('SIGINT');
  assert.is(await exited, 130);
  assert.equal(await leftovers(), { volumes: [], policies: [] });
  assert.is((await revokedAccessors()).length, before + 1);
});

test('volume create: docker run -v reads it; inspect output holds no secret and no usable token; rm revokes', async () => {
  if (skip) return skipped(skip);
  const created = await sfs.cli(['volume', 'create', 'sfsapp1' + sfs.driverName, '--path', 'secret/app-1', '-o', 'mode=0440']);
  assert.is(created.code, 0, created.stderr);
  const name = created.stdout.trim();
  const read = await sfs.docker(['run', '--rm', '-v', `${name}:/secrets:ro`, image, 'sh', '-c', 'cat /secrets/db-password; stat -c " %a" /secrets/db-password']);
  assert.is(read.code, 0, read.stderr);
  assert.is(read.stdout.trim(), `${CANARY} 440`);
  const container = (await sfs.docker(['create', '-v', `${name}:/secrets`, image, 'true'])).stdout.trim();
  try {
    const inspected = (await sfs.docker(['volume', 'inspect', name])).stdout + (await sfs.docker(['inspect', container])).stdout;
    assert.not.ok(inspected.includes(CANARY));
    assert.not.ok(inspected.includes(rootToken));
    // Docker keeps the wrapping token it was given; it was spent when the driver unwrapped it.
    const wrapping = JSON.parse((await sfs.docker(['volume', 'inspect', name])).stdout)[0].Options.token as string;
    assert.match(wrapping, /^hvs\./, 'Docker holds the wrapping token it was given');
    const vaultAddr = JSON.parse(await readFile(join(sfs.home, 'config.json'), 'utf8')).vaultAddr as string;
    const unwrap = await fetch(`${vaultAddr}/v1/sys/wrapping/unwrap`, { method: 'POST', headers: { 'X-Vault-Token': wrapping }, signal: AbortSignal.timeout(10_000) });
    // Vault's answer for a spent wrapping token: 400, "wrapping token is not valid or does not exist".
    assert.is(unwrap.status, 400, 'the wrapping token in Docker metadata must be spent');
    assert.match(JSON.stringify(await unwrap.json()), /wrapping token is not valid or does not exist/);
  } finally {
    await sfs.docker(['rm', '-f', container]);
  }
  const again = await sfs.cli(['volume', 'create', name, '--path', 'secret/db']);
  assert.is(again.code, 1, 'a second create of the same name must fail');
  assert.match(again.stderr, /exists already/);
  const listed = JSON.parse((await sfs.cli(['volume', 'ls', '--format', 'json'])).stdout);
  assert.ok(listed.some((v: { name: string; path: string }) => v.name === name && v.path === 'secret/app-1'));
  const before = (await revokedAccessors()).length;
  assert.is((await sfs.cli(['volume', 'rm', name])).code, 0);
  assert.is((await revokedAccessors()).length, before + 1);
  // Not `docker volume inspect`: for an unknown name dockerd asks every driver it has seen.
  assert.not.ok((await leftovers()).volumes.includes(name));
});

test('demo runs the main job once and prints the stored value', async () => {
  if (skip) return skipped(skip);
  const res = await sfs.cli(['demo']);
  assert.is(res.code, 0, res.stderr);
  const value = (await sfs.cli(['get', 'secret/secretfs-demo', 'db-password'])).stdout;
  assert.match(value, /^demo-[0-9a-f]{12}$/);
  assert.ok(res.stdout.includes(value));
});

test.run();
