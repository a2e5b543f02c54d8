import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { TEST_IMAGE } from '../../../harness/docker-image.js';
import { sharedTestDockerd, type TestDockerd } from '../../../harness/dockerd.js';
import { missingRequirement, skipped } from '../../helpers/environment.js';
import { CLI_ENTRY, runCli, runCommand, type CliResult } from '../../../harness/run-cli.js';
import { startTestStoreProcess, type TestStore } from '../../helpers/store.js';
import { resolvePaths, type Paths } from '../../../lib/paths.js';
import { VaultError } from '../../../lib/errors.js';
import { createVaultClient, type VaultClient } from '../../../lib/vault/client.js';
import { resolveKvMount, writeSecret } from '../../../lib/vault/kv.js';
import { writePolicy } from '../../../lib/vault/policy.js';
import { createWrappedToken, lookupAccessor, unwrapToken } from '../../../lib/vault/tokens.js';
import { provisionDriverCredential } from '../../../lib/driver/driver-policy.js';
import { allowPath } from '../../../lib/access/boundary.js';
import { readDriverCredential } from '../../../lib/driver/credential.js';

/**
 * The driver end to end: the built CLI's `driver start|status|stop`, a real dockerd, real FUSE
 * (the harness's private one, harness/dockerd.ts) and the embedded store. Each run uses its own
 * driver name (so its own socket, in the private dockerd's plugin dir) and SECRETFS_HOME.
 */
const test = suite('driver e2e (dockerd, FUSE, embedded store)');

let skip: string | undefined;
let dockerd: TestDockerd;
let store: TestStore | undefined;
let root: VaultClient;
let paths: Paths | undefined;
let env: NodeJS.ProcessEnv;
const image = TEST_IMAGE;
const driverName = `sfs${randomBytes(4).toString('hex').replace(/^[0-9]/, 'a')}`;
const tag = randomBytes(3).toString('hex');
const vol = (n: string) => `sfse2e-${tag}-${n}`;
const containers: string[] = [];
const volumes: string[] = [];

function docker(args: string[], timeoutMs = 60_000): Promise<CliResult> {
  return runCommand('docker', args, { timeoutMs, env: dockerd.env });
}

async function ok(args: string[]): Promise<string> {
  const r = await docker(args);
  assert.is(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** Removes a volume and forgets it for the cleanup (removing an absent volume makes dockerd ask every driver it knows). */
async function removeVolume(name: string): Promise<void> {
  await ok(['volume', 'rm', name]);
  volumes.splice(volumes.indexOf(name), 1);
}

/** Removes a container and forgets it for the cleanup. */
async function removeContainer(name: string): Promise<void> {
  await ok(['rm', '-f', name]);
  containers.splice(containers.indexOf(name), 1);
}

async function status(): Promise<any> {
  const r = await runCli(['driver', 'status', '--format', 'json'], { env });
  return JSON.parse(r.stdout);
}

async function fuseMountsUnderHome(): Promise<string[]> {
  const text = await readFile('/proc/mounts', 'utf8');
  return text.split('\n').filter((l) => l.includes(' fuse') && l.split(' ')[1]?.startsWith(store!.home));
}

async function accessorOf(name: string): Promise<string> {
  const state = JSON.parse(await readFile(paths!.driverStateFile, 'utf8'));
  return state.volumes[name].accessor;
}

/** The VaultError a call fails with (the test fails when it succeeds or throws anything else). */
async function vaultFailure(p: Promise<unknown>): Promise<VaultError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof VaultError, `expected a VaultError, got ${err === undefined ? 'success' : String(err)}`);
  return err as VaultError;
}

/**
 * Revoked means exactly Vault's answer for an accessor it does not know: 400 "invalid accessor".
 * Within 5 s: Remove answers once the revocation is recorded, and Vault's revocation follows.
 */
async function assertRevoked(accessor: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && (await lookupAccessor(root, accessor).then(() => true, () => false))) await new Promise((r) => setTimeout(r, 50));
  const err = await vaultFailure(lookupAccessor(root, accessor));
  assert.is(err.status, 400, err.message);
  assert.match(err.message, /invalid accessor/);
}

test.before(async () => {
  skip = await missingRequirement({ docker: true, fuse: true });
  if (skip) return;
  if (!existsSync(CLI_ENTRY)) throw new Error(`${CLI_ENTRY} is missing: run npm run build`);
  dockerd = await sharedTestDockerd();
  store = await startTestStoreProcess({ home: dockerd.homeDir() });
  root = createVaultClient({ addr: store.addr, token: store.rootToken });
  const mount = await resolveKvMount(root, 'secret/app-1');
  await writeSecret(root, mount, 'secret/app-1', { 'db-password': 'pw-one-e2e' });
  await writeSecret(root, mount, 'secret/app-2', { 'db-password': 'pw-two-e2e' });
  env = { SECRETFS_HOME: store.home, SECRETFS_DRIVER_NAME: driverName, SECRETFS_PLUGIN_DIR: dockerd.pluginDir, ...dockerd.env, VAULT_ADDR: '', VAULT_TOKEN: '' };
  paths = resolvePaths(env);
  // What `init` does: the driver policy, the volume token role and a 0600 credential file.
  await provisionDriverCredential(root, paths);
  // And what `init --allow` does: volumes the driver creates may serve these paths.
  for (const p of ['secret/app-1', 'secret/app-2']) await allowPath(root, p);
  const started = await runCli(['driver', 'start'], { env });
  assert.is(started.code, 0, started.stderr);
});

test.after(async () => {
  // Only what before() got to set up: a failed before must not turn into a crash here.
  if (!store || !paths) {
    await store?.stop();
    return;
  }
  for (const c of containers) await docker(['rm', '-f', c]);
  for (const v of volumes) await docker(['volume', 'rm', '-f', v]);
  const stopped = await runCli(['driver', 'stop'], { env });
  const left = await fuseMountsUnderHome();
  const socketLeft = existsSync(paths.driverSocket);
  if (socketLeft || left.length > 0 || stopped.code !== 0) console.log(stopped.stderr, (await readFile(paths.driverLogFile, 'utf8').catch(() => '')).split('\n').slice(-30).join('\n'));
  await store.stop();
  assert.is(stopped.code, 0);
  assert.not.match(stopped.stderr, 'with SIGKILL', 'the driver stopped on SIGTERM');
  assert.not.ok(socketLeft, 'driver stop removed the socket');
  assert.equal(left, [], 'no FUSE mount is left');
});

test('driver status: running, its pid, its socket (mode 0600)', async () => {
  if (skip) return skipped(skip);
  const s = await status();
  assert.ok(s.running);
  assert.type(s.pid, 'number');
  assert.is(s.socket, `${dockerd.pluginDir}/${driverName}.sock`);
  assert.not.ok(existsSync(`/run/docker/plugins/${driverName}.sock`), 'the system dockerd never sees a test driver');
  assert.is((await stat(s.socket)).mode & 0o777, 0o600);
});

test('docker volume create -d <driver> -o path=secret/app-1 v1; docker run -v v1:/secrets cat /secrets/db-password', async () => {
  if (skip) return skipped(skip);
  volumes.push(vol('v1'));
  await ok(['volume', 'create', '-d', driverName, '-o', 'path=secret/app-1', vol('v1')]);
  const out = await ok(['run', '--rm', '-v', `${vol('v1')}:/secrets`, image, 'cat', '/secrets/db-password']);
  assert.is(out, 'pw-one-e2e');
  assert.equal(await fuseMountsUnderHome(), [], 'unmounted when the container exited');
});

test('the short form: docker run --volume-driver <driver> -v secret/app-2:/secrets (the volume name is the Vault path)', async () => {
  if (skip) return skipped(skip);
  volumes.push('secret/app-2');
  const out = await ok(['run', '--rm', '--volume-driver', driverName, '-v', 'secret/app-2:/secrets', image, 'cat', '/secrets/db-password']);
  assert.is(out, 'pw-two-e2e');
  // dockerd keeps the named volume after --rm (only anonymous volumes go); it is ours to remove.
  const names = (await ok(['volume', 'ls', '--filter', `driver=${driverName}`, '--format', '{{.Name}}'])).split('\n');
  assert.ok(names.includes('secret/app-2'));
  await removeVolume('secret/app-2');
});

test('two containers share a volume; one stops while the other still reads; the mount ends with the last', async () => {
  if (skip) return skipped(skip);
  const a = `sfse2e-${tag}-a`;
  const b = `sfse2e-${tag}-b`;
  containers.push(a, b);
  await ok(['run', '-d', '--name', a, '-v', `${vol('v1')}:/secrets`, image, 'sleep', '300']);
  await ok(['run', '-d', '--name', b, '-v', `${vol('v1')}:/secrets`, image, 'sleep', '300']);
  let v = (await status()).volumes.find((x: any) => x.name === vol('v1'));
  assert.ok(v.mounted);
  assert.is(v.refCount, 2);
  assert.ok(v.mountpoint.startsWith(store!.home + '/'), 'mountpoints live under the driver root');
  assert.not.ok(v.mountpoint.startsWith(dockerd.dataRoot));
  assert.is((await fuseMountsUnderHome()).length, 1, 'one FUSE mount for both');
  await removeContainer(a);
  v = (await status()).volumes.find((x: any) => x.name === vol('v1'));
  assert.ok(v.mounted);
  assert.is(v.refCount, 1);
  assert.is(await ok(['exec', b, 'cat', '/secrets/db-password']), 'pw-one-e2e');
  await removeContainer(b);
  v = (await status()).volumes.find((x: any) => x.name === vol('v1'));
  assert.not.ok(v.mounted);
  assert.is(v.refCount, 0);
  assert.equal(await fuseMountsUnderHome(), []);
});

test('docker volume inspect and docker inspect show no token', async () => {
  if (skip) return skipped(skip);
  const c = `sfse2e-${tag}-insp`;
  containers.push(c);
  await ok(['run', '-d', '--name', c, '-v', `${vol('v1')}:/secrets`, image, 'sleep', '300']);
  const text = (await ok(['volume', 'inspect', vol('v1')])) + (await ok(['inspect', c]));
  const credential = await readDriverCredential(paths!);
  for (const secret of [store!.rootToken, credential!.token!, 'pw-one-e2e']) assert.not.ok(text.includes(secret), 'no token or secret in inspect');
  assert.not.ok(/hvs\.[A-Za-z0-9]{10,}/.test(text), 'no Vault token at all');
  assert.not.ok(/"token"/i.test(text));
  await removeContainer(c);
});

test('a wrapped token is spent at Create; a volume whose policy does not cover a path gets EACCES', async () => {
  if (skip) return skipped(skip);
  await writePolicy(root, `sfse2e-${tag}-only-app-1`, 'path "secret/data/app-1" { capabilities = ["read"] }\npath "secret/metadata/*" { capabilities = ["read", "list"] }\n');
  const wrap = await createWrappedToken(root, { policies: [`sfse2e-${tag}-only-app-1`], ttl: '1h' }, '120s');
  volumes.push(vol('narrow'));
  await ok(['volume', 'create', '-d', driverName, '-o', 'path=secret', '-o', `token=${wrap.token}`, vol('narrow')]);
  // What Docker keeps in its volume options is a spent wrapping token: Vault's 400 for a token it no longer has.
  const spent = await vaultFailure(unwrapToken(createVaultClient({ addr: store!.addr }), wrap.token));
  assert.is(spent.status, 400, spent.message);
  assert.match(spent.message, /wrapping token is not valid or does not exist/);
  const r = await docker(['run', '--rm', '-v', `${vol('narrow')}:/secrets`, image, 'sh', '-c', 'cat /secrets/app-1/db-password; echo; cat /secrets/app-2/db-password']);
  assert.is(r.code, 1);
  assert.match(r.stdout, /pw-one-e2e/);
  assert.not.match(r.stdout, /pw-two-e2e/);
  assert.match(r.stderr, /Permission denied/);
  await removeVolume(vol('narrow'));
  await assertRevoked(wrap.wrapped_accessor!);
});

test('a plain (unwrapped) token, unknown options and bad values are refused and nothing is created', async () => {
  if (skip) return skipped(skip);
  const plain = await docker(['volume', 'create', '-d', driverName, '-o', 'path=secret/app-1', '-o', `token=${store!.rootToken}`, vol('plain')]);
  assert.is.not(plain.code, 0);
  assert.match(plain.stderr, /response-wrapped/);
  assert.not.ok(plain.stderr.includes(store!.rootToken), 'the error does not echo the token');
  const unknown = await docker(['volume', 'create', '-d', driverName, '-o', 'path=secret/app-1', '-o', 'colour=red', vol('bad')]);
  assert.is.not(unknown.code, 0);
  assert.match(unknown.stderr, /valid options are path, token, uid, gid, mode/);
  const bad = await docker(['volume', 'create', '-d', driverName, '-o', 'path=secret/app-1', '-o', 'mode=999', vol('bad2')]);
  assert.is.not(bad.code, 0);
  assert.match(bad.stderr, /mode/);
  const names = await ok(['volume', 'ls', '--filter', `driver=${driverName}`, '--format', '{{.Name}}']);
  for (const n of [vol('plain'), vol('bad'), vol('bad2')]) assert.not.ok(names.split('\n').includes(n), n);
  assert.ok((await status()).running, 'the daemon keeps running');
});

test('kill -9 of the driver, start again: a new container reads its secrets with no manual step', async () => {
  if (skip) return skipped(skip);
  volumes.push(vol('v2'));
  await ok(['volume', 'create', '-d', driverName, '-o', 'path=secret/app-2', vol('v2')]);
  const c = `sfse2e-${tag}-crash`;
  containers.push(c);
  await ok(['run', '-d', '--name', c, '-v', `${vol('v2')}:/secrets`, image, 'sleep', '300']);
  const before = await status();
  const oldAccessor = await accessorOf(vol('v2'));
  process.kill(before.pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 300));
  assert.is((await fuseMountsUnderHome()).length, 1, 'the dead driver left its mount behind');
  const restarted = await runCli(['driver', 'start'], { env });
  assert.is(restarted.code, 0, restarted.stderr);
  assert.equal(await fuseMountsUnderHome(), [], 'the stale mount was cleaned at start');
  const after = await status();
  assert.is.not(after.pid, before.pid);
  assert.ok(after.volumes.some((v: any) => v.name === vol('v2')), 'volumes came back from state');
  assert.is(await ok(['run', '--rm', '-v', `${vol('v2')}:/secrets`, image, 'cat', '/secrets/db-password']), 'pw-two-e2e');
  await assertRevoked(oldAccessor); // the token nobody holds any more was revoked when re-minting
  // The container that outlived the old driver can still be stopped cleanly.
  await removeContainer(c);
});

test('docker volume rm revokes the volume token (lookup by accessor fails) and forgets it', async () => {
  if (skip) return skipped(skip);
  // Mount once so the token has been used, then remove.
  await ok(['run', '--rm', '-v', `${vol('v1')}:/secrets`, image, 'cat', '/secrets/db-password']);
  const accessor = await accessorOf(vol('v1'));
  assert.is((await lookupAccessor(root, accessor)).accessor, accessor, 'live before the rm');
  await removeVolume(vol('v1'));
  await assertRevoked(accessor);
  assert.not.ok((await status()).volumes.some((v: any) => v.name === vol('v1')));
  const state = await readFile(paths!.driverStateFile, 'utf8');
  assert.is((await stat(paths!.driverStateFile)).mode & 0o777, 0o600);
  assert.not.ok(/hvs\./.test(state), 'the state file holds accessors, never tokens');
});

test('driver stop unmounts, removes the socket; status then says not running', async () => {
  if (skip) return skipped(skip);
  const stopped = await runCli(['driver', 'stop'], { env });
  assert.is(stopped.code, 0, stopped.stderr);
  assert.not.ok(existsSync(`${dockerd.pluginDir}/${driverName}.sock`));
  const s = await status();
  assert.not.ok(s.running);
  assert.ok(s.volumes.some((v: any) => v.name === vol('v2')), 'volumes are listed from state while it is down');
  assert.equal(await fuseMountsUnderHome(), []);
  const again = await runCli(['driver', 'start'], { env });
  assert.is(again.code, 0, again.stderr);
});

test.run();
