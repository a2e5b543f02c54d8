import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TEST_IMAGE } from '../../../harness/docker-image.js';
import { sharedTestDockerd } from '../../../harness/dockerd.js';
import { LABEL_POLICY } from '../../../lib/app/secret-volume.js';
import { createDockerClient, type DockerClient } from '../../../lib/docker/client.js';
import { loadConfig } from '../../../lib/config.js';
import { resolvePaths } from '../../../lib/paths.js';
import { createVaultClient, type VaultClient } from '../../../lib/vault/client.js';
import { writePolicy } from '../../../lib/vault/policy.js';
import { createWrappedToken } from '../../../lib/vault/tokens.js';
import { missingRequirement, skipped } from '../../helpers/environment.js';
import { createSecretfsEnv, type SecretfsEnv } from '../../helpers/secretfs-env.js';

/**
 * The policies `volume create` and `run` write, end to end (private dockerd, the real driver,
 * FUSE, the embedded store): one deterministic name per (installation, volume, path); removal
 * deletes exactly the volume's own; two volumes on one path keep each other's access; a key
 * outside the path the policy was written for is EACCES through a real FUSE read even when the
 * volume's mount is wider; and `doctor` names a volume whose token the driver may not mint again,
 * with the command that fixes it.
 */
const test = suite('e2e/volume policies (names, removal, EACCES outside the path, doctor)');
let sfs: SecretfsEnv;
let skip: string | undefined;
let root: VaultClient;
let docker: DockerClient;
const image = TEST_IMAGE;

async function volumePolicies(): Promise<string[]> {
  const all: string[] = JSON.parse((await sfs.cli(['policy', 'ls', '--format', 'json'])).stdout);
  return all.filter((p) => p.startsWith('secretfs-volume-')).sort();
}

async function policyOf(volume: string): Promise<string> {
  const info = await docker.inspectVolume(volume);
  assert.ok(info, `volume ${volume} exists`);
  return info!.labels[LABEL_POLICY];
}

async function catIn(volume: string, file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return sfs.docker(['run', '--rm', '--network', 'none', '-v', `${volume}:/s:ro`, image, 'cat', `/s/${file}`]);
}

/** A Docker volume over `path` with a token of exactly `policies`, handed over wrapped (through the API: no token in argv). */
async function volumeWithToken(name: string, path: string, policies: string[]): Promise<void> {
  const wrap = await createWrappedToken(root, { policies, ttl: '1h', noDefaultPolicy: true, renewable: true }, '60s');
  await docker.createVolume({ name, driver: sfs.driverName, options: { path, token: wrap.token }, labels: {} });
}

test.before(async () => {
  skip = await missingRequirement({ docker: true, fuse: true });
  if (skip) return;
  sfs = await createSecretfsEnv(await sharedTestDockerd());
  await sfs.init();
  const paths = resolvePaths(sfs.env);
  const config = await loadConfig(paths, sfs.env);
  root = createVaultClient({ addr: config.vaultAddr, token: (await readFile(join(sfs.home, 'store', 'root-token'), 'utf8')).trim() });
  docker = createDockerClient(sfs.env.DOCKER_HOST);
  // Exact paths only (no glob): the root of a secret/vp mount, nothing below it.
  await writePolicy(root, 'vp-root', 'path "secret/data/vp" {\n  capabilities = ["read"]\n}\npath "secret/metadata/vp/" {\n  capabilities = ["list"]\n}\n');
  for (const [path, value] of [
    ['secret/vp/app', 'pw-app'],
    ['secret/vp/app/sub', 'pw-sub'],
    ['secret/vp/other', 'pw-other'],
    ['secret/vp/app-2', 'pw-app-2'],
  ]) {
    assert.is((await sfs.cli(['put', path, 'password'], { input: value })).code, 0);
  }
});

test.after(async () => {
  if (sfs) await sfs.teardown();
});

test('two volumes on one path: two policies; removing one leaves the other reading; the same name again is refused and keeps the first one\'s policy', async () => {
  if (skip) return skipped(skip);
  const before = await volumePolicies();
  for (const v of ['vpa', 'vpb']) assert.is((await sfs.cli(['volume', 'create', v, '--path', 'secret/vp/app'])).code, 0, v);
  const [pa, pb] = [await policyOf('vpa'), await policyOf('vpb')];
  assert.match(pa, /^secretfs-volume-vpa-[0-9a-f]{16}$/);
  assert.match(pb, /^secretfs-volume-vpb-[0-9a-f]{16}$/);
  assert.equal(await volumePolicies(), [...before, pa, pb].sort());
  // The same name again: Docker answers with the existing volume; refused, and vpb keeps its policy.
  const again = await sfs.cli(['volume', 'create', 'vpb', '--path', 'secret/vp/app']);
  assert.is(again.code, 1);
  assert.match(again.stderr, /a volume named vpb exists already/);
  assert.equal(await volumePolicies(), [...before, pa, pb].sort(), 'the refused create took nothing away');
  assert.is((await catIn('vpb', 'password')).stdout, 'pw-app');
  assert.is((await sfs.cli(['volume', 'rm', 'vpa'])).code, 0);
  assert.equal(await volumePolicies(), [...before, pb].sort(), 'exactly vpa\'s policy went');
  const still = await catIn('vpb', 'sub/password');
  assert.is(still.stdout, 'pw-sub', still.stderr);
  assert.is((await sfs.cli(['volume', 'rm', 'vpb'])).code, 0);
  assert.equal(await volumePolicies(), before, 'nothing of theirs is left');
  // Deterministic: the same volume on the same path names the same policy again.
  assert.is((await sfs.cli(['volume', 'create', 'vpa', '--path', 'secret/vp/app'])).code, 0);
  assert.is(await policyOf('vpa'), pa);
  assert.is((await sfs.cli(['volume', 'rm', 'vpa'])).code, 0);
  assert.equal(await volumePolicies(), before);
});

test('the policy `volume create` writes: through a real FUSE read, a key outside its path is EACCES even on a wider mount', async () => {
  if (skip) return skipped(skip);
  assert.is((await sfs.cli(['volume', 'create', 'vpc', '--path', 'secret/vp/app'])).code, 0);
  const policy = await policyOf('vpc');
  // The same policy on a volume whose mount serves all of secret/vp, with vp-root to read that mount's
  // root (secret/vp itself, exactly, and its listing): what stands between a key and the reader is the policy.
  await volumeWithToken('vpwide', 'secret/vp', [policy, 'vp-root']);
  const inside = await catIn('vpwide', 'app/password');
  assert.is(inside.stdout, 'pw-app', inside.stderr);
  assert.is((await catIn('vpwide', 'app/sub/password')).stdout, 'pw-sub');
  for (const outside of ['other/password', 'app-2/password']) {
    const r = await catIn('vpwide', outside);
    assert.is.not(r.code, 0, outside);
    assert.match(r.stderr, /Permission denied/, outside);
    assert.not.match(r.stdout, /pw-/, outside);
  }
  assert.is((await sfs.docker(['volume', 'rm', 'vpwide'])).code, 0);
  assert.is((await sfs.cli(['volume', 'rm', 'vpc'])).code, 0);
});

test('the policy `run` writes: the same EACCES outside its path; after the run no policy of it is left', async () => {
  if (skip) return skipped(skip);
  const before = await volumePolicies();
  const run = sfs.cli(['run', '--path', 'secret/vp/app', '--', image, 'sleep', '6'], { timeoutMs: 60_000 });
  let policy: string | undefined;
  for (let i = 0; i < 100 && !policy; i++) {
    const names = (await sfs.docker(['volume', 'ls', '-q', '--filter', `driver=${sfs.driverName}`])).stdout.split('\n').filter((n) => n.startsWith('secretfs-run-'));
    if (names.length === 1) policy = (await docker.inspectVolume(names[0]))?.labels[LABEL_POLICY];
    if (!policy) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(policy, 'run created its volume');
  await volumeWithToken('vprunwide', 'secret/vp', [policy!, 'vp-root']);
  const inside = await catIn('vprunwide', 'app/password');
  assert.is(inside.stdout, 'pw-app', inside.stderr);
  const r = await catIn('vprunwide', 'other/password');
  assert.match(r.stderr, /Permission denied/);
  assert.is((await sfs.docker(['volume', 'rm', 'vprunwide'])).code, 0);
  const done = await run;
  assert.is(done.code, 0, done.stderr);
  assert.equal(await volumePolicies(), before, 'run removed exactly its policy');
});

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  hint?: string;
  items?: Array<{ name: string; detail: string; fix?: string }>;
}
async function volumeTokensCheck(): Promise<Check> {
  const res = await sfs.cli(['doctor', '--format', 'json'], { timeoutMs: 120_000 });
  const check = (JSON.parse(res.stdout).checks as Check[]).find((c) => c.name === 'volume tokens');
  assert.ok(check, 'doctor has a volume tokens check');
  return check!;
}

test('doctor: a wrapped-token volume the driver may not mint again is listed after a driver restart, with the command that fixes it', async () => {
  if (skip) return skipped(skip);
  await writePolicy(root, 'vp-narrow', 'path "secret/data/vp/app" {\n  capabilities = ["read"]\n}\n');
  await volumeWithToken('vpn', 'secret/vp/app', ['vp-narrow']);
  assert.is((await catIn('vpn', 'password')).stdout, 'pw-app');
  let check = await volumeTokensCheck();
  assert.is(check.ok, true, 'a live token: nothing to do');
  assert.not.ok(check.items);
  assert.is((await sfs.cli(['driver', 'stop'])).code, 0);
  assert.is((await sfs.cli(['driver', 'start'])).code, 0);
  const reason = 'volume vpn needs a new token: the driver may not mint policy vp-narrow; it is not given a wider one';
  const fix = 'docker volume rm vpn && docker secretfs volume create vpn --path secret/vp/app';
  check = await volumeTokensCheck();
  assert.is(check.ok, false);
  assert.equal(check.items, [{ name: 'vpn', detail: reason, fix }]);
  assert.is(check.hint, fix);
  const text = await sfs.cli(['doctor'], { timeoutMs: 120_000 });
  assert.is(text.code, 1);
  assert.ok(text.stderr.includes(`✖ volume tokens  1 volume(s) need a new token: ${reason}`), text.stderr);
  assert.ok(text.stderr.includes(`fix: ${fix}`), text.stderr);
  // The Mount says the same, and serves nothing wider.
  const denied = await catIn('vpn', 'password');
  assert.is.not(denied.code, 0);
  assert.match(denied.stderr, /needs a new token: the driver may not mint policy vp-narrow/);
  // Doing what doctor says fixes it.
  for (const step of fix.split(' && ')) {
    const [cmd, ...args] = step.split(' ');
    const res = cmd === 'docker' && args[0] === 'secretfs' ? await sfs.cli(args.slice(1)) : await sfs.docker(args);
    assert.is(res.code, 0, `${step}: ${res.stderr}`);
  }
  check = await volumeTokensCheck();
  assert.is(check.ok, true, check.detail);
  assert.is((await catIn('vpn', 'password')).stdout, 'pw-app');
  assert.is((await sfs.cli(['volume', 'rm', 'vpn'])).code, 0);
});

test.run();
