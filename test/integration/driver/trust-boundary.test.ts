import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { missingRequirement, skipped } from '../../helpers/environment.js';
import { CLI_ENTRY } from '../../../harness/run-cli.js';
import { startTestDriverDaemon, type TestDriverDaemon } from '../../helpers/driver-daemon.js';
import { postPlugin } from '../../unit/driver/plugin-client.js';
import type { Paths } from '../../../lib/paths.js';
import type { VaultClient } from '../../../lib/vault/client.js';
import { listPolicies, writePolicy } from '../../../lib/vault/policy.js';
import { createWrappedToken, lookupAccessor } from '../../../lib/vault/tokens.js';
import { renderPathPolicy, volumePolicyName } from '../../../lib/access/volume-access.js';
import { provisionDriverCredential } from '../../../lib/driver/driver-policy.js';
import { driverStatus, startDriverInBackground, stopDriver } from '../../../lib/driver/process.js';

const exec = promisify(execFile);

/**
 * The driver daemon (a background process with the credential `init` gives it, not root), real
 * FUSE and the embedded store, spoken to over its socket as dockerd does: what an attacker with
 * the socket can and cannot make it do, and what survives a kill -9.
 */
const test = suite('driver trust boundary (daemon with its own credential, FUSE, embedded store)');
let skip: string | undefined;
let daemon: TestDriverDaemon;
let root: VaultClient;
let paths: Paths;
let env: NodeJS.ProcessEnv;
const name = `sfs${randomBytes(4).toString('hex').replace(/^[0-9]/, 'b')}`;
const ID = 'c'.repeat(64);

async function call(route: string, body: unknown): Promise<{ status: number; Err: string; body: any }> {
  const res = await postPlugin(paths.driverSocket, route, body);
  return { status: res.status, Err: res.body?.Err ?? '', body: res.body };
}

/** `cat` in a child process (never a sync read in this process while FUSE is served elsewhere). */
async function cat(file: string): Promise<string> {
  try {
    return (await exec('cat', [file], { timeout: 10_000 })).stdout;
  } catch (err: any) {
    return `ERR ${String(err.stderr).trim()}`;
  }
}

async function stateVolumes(): Promise<Record<string, any>> {
  return JSON.parse(await readFile(paths.driverStateFile, 'utf8')).volumes;
}

async function killHard(): Promise<void> {
  const { pid } = await driverStatus(paths);
  process.kill(pid!, 'SIGKILL');
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid!, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the driver did not die');
}

test.before(async () => {
  skip = await missingRequirement({ fuse: true });
  if (skip) return;
  if (!existsSync(CLI_ENTRY)) throw new Error(`${CLI_ENTRY} is missing: run npm run build`);
  daemon = await startTestDriverDaemon({
    driverName: name,
    secrets: {
      'secret/app-1': { 'db-password': 'pw-1' },
      'secret/app-2': { 'db-password': 'pw-2' },
      'secret/team/app': { v: 'team-app' },
      'secret/team/admin': { v: 'team-admin' },
      'secret/counted/app': { v: 'counted' },
    },
    credential: provisionDriverCredential,
    allow: ['secret/app-1', 'secret/counted'],
  });
  ({ root, paths, env } = daemon);
});

test.after(async () => {
  if (skip) return;
  await daemon?.stop();
});

test('docker volume create of a path nobody allowed: an Err naming the exact command, nothing created', async () => {
  if (skip) return skipped(skip);
  const res = await call('/VolumeDriver.Create', { Name: 'outside', Opts: { path: 'secret/app-2' } });
  assert.is(res.status, 500);
  assert.is(
    res.Err,
    'path secret/app-2 is not allowed for volumes the driver creates; an administrator allows it with `docker secretfs allow secret/app-2` (or creates the volume with `docker secretfs volume create NAME --path secret/app-2`)',
  );
  // The short form (the name is the path) is bounded the same way.
  assert.match((await call('/VolumeDriver.Create', { Name: 'secret/app-2', Opts: {} })).Err, /`docker secretfs allow secret\/app-2`/);
  assert.not.ok(existsSync(paths.driverStateFile) && 'outside' in (await stateVolumes()));
  // Within an allowed path it works, sub-paths included.
  assert.is((await call('/VolumeDriver.Create', { Name: 'inside', Opts: { path: 'secret/app-1' } })).Err, '');
  const m = await call('/VolumeDriver.Mount', { Name: 'inside', ID });
  assert.is(await cat(`${m.body.Mountpoint}/db-password`), 'pw-1');
  await call('/VolumeDriver.Unmount', { Name: 'inside', ID });
  assert.is((await call('/VolumeDriver.Remove', { Name: 'inside' })).Err, '');
});

/** The store's audit log from `from` bytes on, as "METHOD path", once `done` holds of it (bounded). */
async function auditFrom(from: number, done: (lines: string[]) => boolean): Promise<string[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const text = (await readFile(daemon.store.auditLog, 'utf8')).slice(from);
    const lines = text.split('\n').filter(Boolean).map((l) => JSON.parse(l)).map((r) => `${r.method} ${r.path}`);
    if (done(lines) || Date.now() > deadline) return lines;
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the Vault requests of an ephemeral volume\'s life as docker run --rm drives it: find the allowed path, mint, detect the KV mount, one read, revoke; the same for the next volume (nothing cached between volumes)', async () => {
  if (skip) return skipped(skip);
  const count = (lines: string[], prefix: string) => lines.filter((l) => l.startsWith(prefix)).length;
  for (const [volume, policyGets] of [['counted-1', 2], ['counted-2', 2]] as const) {
    const from = (await readFile(daemon.store.auditLog, 'utf8')).length;
    assert.is((await call('/VolumeDriver.Create', { Name: volume, Opts: { path: 'secret/counted/app', ephemeral: 'true' } })).Err, '');
    const m = await call('/VolumeDriver.Mount', { Name: volume, ID });
    assert.is(m.Err, '');
    assert.is(await cat(`${m.body.Mountpoint}/v`), 'counted');
    await call('/VolumeDriver.Unmount', { Name: volume, ID });
    const accessor = (await stateVolumes())[volume]?.accessor;
    assert.is((await call('/VolumeDriver.Remove', { Name: volume })).Err, '');
    const lines = await auditFrom(from, (l) => count(l, 'POST auth/token/revoke-accessor') === 1);
    const what = lines.join('\n');
    // secret/counted/app (none), then secret/counted (allowed).
    assert.is(count(lines, 'GET sys/policies/acl/secretfs-allow-'), policyGets, what);
    assert.is(count(lines, 'POST auth/token/create/secretfs-volume'), 1, what);
    assert.is(count(lines, 'GET sys/internal/ui/mounts/secret/counted/app'), 1, what);
    assert.is(count(lines, 'GET secret/data/counted/app'), 1, what);
    assert.is(count(lines, 'POST auth/token/revoke-accessor'), 1, what);
    assert.is(lines.length, policyGets + 4, what);
    // The store writes its audit line before it answers: the revocation may land just after.
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && (await lookupAccessor(root, accessor).then(() => true, () => false))) await new Promise((r) => setTimeout(r, 50));
    assert.is(await lookupAccessor(root, accessor).then(() => 'live', () => 'revoked'), 'revoked');
  }
});

test('policy injection through VolumeDriver.Create (raw socket) is refused and writes nothing', async () => {
  if (skip) return skipped(skip);
  const before = await listPolicies(root);
  const injected = [
    'secret/nothing" { capabilities = ["deny"] } path "secret/data/*" { capabilities = ["read"] } path "x',
    'secret/app-1" {}\npath "sys/*',
    'secret/app-1/*',
    'secret/app-1/+/x',
    'secret/app-1#x',
    'secret/{{identity.entity.id}}',
    'secret/app-1\\x',
  ];
  for (const path of injected) {
    const res = await call('/VolumeDriver.Create', { Name: 'inj', Opts: { path } });
    assert.match(res.Err, /path must not (contain|have)/, JSON.stringify(path));
  }
  assert.equal(await listPolicies(root), before, 'no policy written');
  assert.not.ok('inj' in (await stateVolumes()), 'no volume saved');
});

test('__proto__, constructor and prototype as volume names round-trip through create, restart and remove', async () => {
  if (skip) return skipped(skip);
  const names = ['__proto__', 'constructor', 'prototype'];
  for (const n of names) assert.is((await call('/VolumeDriver.Create', { Name: n, Opts: { path: 'secret/app-1', uid: '0' } })).Err, '', n);
  const saved = await stateVolumes();
  for (const n of names) assert.ok(Object.prototype.hasOwnProperty.call(saved, n), `${n} saved as a key`);
  await stopDriver(paths);
  await startDriverInBackground(paths, env);
  const listed = (await call('/VolumeDriver.List', {})).body.Volumes.map((v: any) => v.Name).sort();
  for (const n of names) assert.ok(listed.includes(n), `${n} back after the restart`);
  for (const n of names) {
    const m = await call('/VolumeDriver.Mount', { Name: n, ID });
    assert.is(m.Err, '', n);
    assert.is(await cat(`${m.body.Mountpoint}/db-password`), 'pw-1');
    await call('/VolumeDriver.Unmount', { Name: n, ID });
    const accessor = (await stateVolumes())[n].accessor;
    assert.is((await call('/VolumeDriver.Remove', { Name: n })).Err, '', n);
    // Remove answers once the revocation is recorded; Vault's follows within moments.
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && (await lookupAccessor(root, accessor).then(() => true, () => false))) await new Promise((r) => setTimeout(r, 50));
    assert.is(await lookupAccessor(root, accessor).then(() => 'live', () => 'revoked'), 'revoked');
  }
  const after = await stateVolumes();
  for (const n of names) assert.not.ok(Object.prototype.hasOwnProperty.call(after, n), `${n} gone`);
  assert.is(Object.getPrototypeOf(JSON.parse(await readFile(paths.driverStateFile, 'utf8')).volumes), Object.prototype, 'the state file is plain JSON');
});

test('a wrapped token the driver may not mint again: after kill -9 the Mount says it needs a new token, never a wider one', async () => {
  if (skip) return skipped(skip);
  await writePolicy(root, 'team-narrow', 'path "secret/data/team/*" {\n  capabilities = ["read"]\n}\npath "secret/data/team/admin" {\n  capabilities = ["deny"]\n}\npath "secret/metadata/team/" {\n  capabilities = ["list"]\n}\npath "auth/token/renew-self" {\n  capabilities = ["update"]\n}\n');
  const wrap = await createWrappedToken(root, { policies: ['team-narrow'], ttl: '1h', noDefaultPolicy: true }, '60s');
  assert.is((await call('/VolumeDriver.Create', { Name: 'narrow', Opts: { path: 'secret/team', token: wrap.token } })).Err, '');
  let m = await call('/VolumeDriver.Mount', { Name: 'narrow', ID });
  assert.is(await cat(`${m.body.Mountpoint}/app/v`), 'team-app');
  assert.match(await cat(`${m.body.Mountpoint}/admin/v`), /Permission denied/);
  await killHard();
  await startDriverInBackground(paths, env);
  m = await call('/VolumeDriver.Mount', { Name: 'narrow', ID });
  assert.is(
    m.Err,
    'volume narrow needs a new token: the driver may not mint policy team-narrow; it is not given a wider one. Remove it and create it again: `docker volume rm narrow && docker secretfs volume create narrow --path secret/team`',
  );
  const st = (await driverStatus(paths)).volumes.find((v) => v.name === 'narrow')!;
  assert.equal(st.policies, ['team-narrow']);
  assert.match(st.needsToken!, /^volume narrow needs a new token: /);
  assert.is((await call('/VolumeDriver.Remove', { Name: 'narrow' })).Err, '');
});

test('a wrapped token with an administrator volume policy: after kill -9 it is re-minted with the same policy and stays narrow', async () => {
  if (skip) return skipped(skip);
  const policy = volumePolicyName('narrow2', 'secret/team', 'a-test-scope');
  // The administrator's volume policy for secret/team, narrowed further by hand: no admin/.
  const hcl = renderPathPolicy('secret/team', { mount: 'secret/', version: 2 }, 'team without admin') + 'path "secret/data/team/admin" {\n  capabilities = ["deny"]\n}\n';
  await writePolicy(root, policy, hcl);
  const wrap = await createWrappedToken(root, { policies: [policy], ttl: '1h' }, '60s');
  assert.is((await call('/VolumeDriver.Create', { Name: 'narrow2', Opts: { path: 'secret/team', token: wrap.token } })).Err, '');
  let m = await call('/VolumeDriver.Mount', { Name: 'narrow2', ID });
  assert.match(await cat(`${m.body.Mountpoint}/admin/v`), /Permission denied/);
  const before = (await stateVolumes()).narrow2;
  assert.equal(before.policies, ['default', policy]);
  await killHard();
  await startDriverInBackground(paths, env);
  m = await call('/VolumeDriver.Mount', { Name: 'narrow2', ID });
  assert.is(m.Err, '');
  assert.is(await cat(`${m.body.Mountpoint}/app/v`), 'team-app');
  assert.match(await cat(`${m.body.Mountpoint}/admin/v`), /Permission denied/, 'still narrow after the re-mint');
  const after = (await stateVolumes()).narrow2;
  assert.is.not(after.accessor, before.accessor);
  assert.equal((await lookupAccessor(root, after.accessor)).policies, [policy], 'exactly the policy it had (default dropped, never added)');
  assert.is(await lookupAccessor(root, before.accessor).then(() => 'live', () => 'revoked'), 'revoked');
  await call('/VolumeDriver.Unmount', { Name: 'narrow2', ID });
  assert.is((await call('/VolumeDriver.Remove', { Name: 'narrow2' })).Err, '');
});

test.run();
