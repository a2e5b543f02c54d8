import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, stat, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, silentLogger } from '../../../lib/log.js';
import { resolvePaths } from '../../../lib/paths.js';
import { createVaultClient, type VaultClient } from '../../../lib/vault/client.js';
import { findKvMount, resolveKvMount, readSecret, writeSecret } from '../../../lib/vault/kv.js';
import { createWrappedToken, createToken, lookupAccessor, lookupSelf, revokeAccessor } from '../../../lib/vault/tokens.js';
import { readPolicy } from '../../../lib/vault/policy.js';
import { isVaultFailure, VaultError } from '../../../lib/errors.js';
import { provisionDriverCredential } from '../../../lib/driver/driver-policy.js';
import { DRIVER_POLICY_NAME, allowPath } from '../../../lib/access/boundary.js';
import { allowPolicyName } from '../../../lib/access/volume-access.js';
import { resolveDriverCredential } from '../../../lib/driver/credential.js';
import { VaultVolumeTokens } from '../../../lib/driver/volume-tokens.js';
import type { VolumeDefinition } from '../../../lib/driver/state.js';
import { startTestStoreProcess, type TestStore } from '../../helpers/store.js';

const test = suite('driver/volume-tokens (embedded store over HTTP)');
let store: TestStore;
let root: VaultClient;
let home: string;
let driverVault: VaultClient;
let tokens: VaultVolumeTokens | undefined;

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return isVaultFailure(err) ? err.failure : (err as Error).message;
  }
  return 'ok';
}

/** Revoked: exactly Vault's answer for an accessor it does not know (400 "invalid accessor"), not just any error. */
async function assertRevoked(accessor: string): Promise<void> {
  const err = await lookupAccessor(root, accessor).then(() => undefined, (e: unknown) => e);
  assert.ok(isVaultFailure(err, 'bad_request'), `expected Vault's 400, got ${err === undefined ? 'a live token' : String(err)}`);
  assert.is((err as VaultError).status, 400);
  assert.match((err as VaultError).message, /invalid accessor/);
}

function def(name: string, path: string, accessor: string, tokenSource: 'minted' | 'wrapped' = 'minted'): VolumeDefinition {
  return { name, path, options: {}, createdAt: new Date().toISOString(), accessor, tokenSource, policies: tokenSource === 'minted' ? [allowPolicyName('secret/app-1')] : [] };
}

test.before(async () => {
  store = await startTestStoreProcess();
  root = createVaultClient({ addr: store.addr, token: store.rootToken });
  const mount = await resolveKvMount(root, 'secret/app-1');
  await writeSecret(root, mount, 'secret/app-1', { 'db-password': 's3cret-one' });
  await writeSecret(root, mount, 'secret/app-1/sub', { k: 'v' });
  await writeSecret(root, mount, 'secret/app-2', { 'db-password': 's3cret-two' });
  home = await mkdtemp(join(tmpdir(), 'sfs-vt-'));
  const cred = await provisionDriverCredential(root, resolvePaths({ SECRETFS_HOME: home }));
  await allowPath(root, 'secret/app-1');
  driverVault = createVaultClient({ addr: cred.addr, token: cred.token });
});
test.after.each(() => {
  tokens?.close();
  tokens = undefined;
});
test.after(async () => {
  await store.stop();
  await rm(home, { recursive: true, force: true });
});

test('provisionDriverCredential writes a 0600 credential holding a non-root token with only the driver policy', async () => {
  const paths = resolvePaths({ SECRETFS_HOME: home });
  const st = await stat(paths.driverCredentialFile);
  assert.is(st.mode & 0o777, 0o600);
  const cred = JSON.parse(await readFile(paths.driverCredentialFile, 'utf8'));
  assert.equal(Object.keys(cred).sort(), ['addr', 'token']);
  const self = await lookupSelf(driverVault);
  assert.equal(self.policies, [DRIVER_POLICY_NAME]);
  // The driver itself reads no secret.
  const mount = await resolveKvMount(root, 'secret/app-1');
  assert.is(await failure(readSecret(driverVault, mount, 'secret/app-1')), 'forbidden');
});

test('a minted volume token reads its allowed path and below, nothing else; display name and metadata name the volume', async () => {
  tokens = await VaultVolumeTokens.start({ driverVault, log: silentLogger, driverName: 'sfstest' });
  const { accessor, tokenSource } = await tokens.issue({ name: 'v1', path: 'secret/app-1' });
  assert.is(tokenSource, 'minted');
  const cred = await tokens.acquire(def('v1', 'secret/app-1', accessor));
  assert.is(cred.accessor, accessor, 'a live token is reused');
  const mount = await resolveKvMount(cred.vault, 'secret/app-1');
  assert.equal((await readSecret(cred.vault, mount, 'secret/app-1')).data, { 'db-password': 's3cret-one' });
  assert.equal((await readSecret(cred.vault, mount, 'secret/app-1/sub')).data, { k: 'v' });
  assert.is(await failure(readSecret(cred.vault, mount, 'secret/app-2')), 'forbidden');
  const info = await lookupAccessor(root, accessor);
  assert.match(info.displayName, /secretfs-vol-v1/);
  assert.is(info.meta?.volume, 'v1');
  assert.is(info.meta?.path, 'secret/app-1');
  assert.is(info.meta?.issuer, 'sfstest');
  assert.equal(info.policies, [allowPolicyName('secret/app-1')]);
  assert.not.ok(info.orphan, 'a child of the driver credential');
  await tokens.revoke(def('v1', 'secret/app-1', accessor));
});

test('revoke: lookup by accessor fails afterwards; the administrator\'s allow policy stays', async () => {
  tokens = await VaultVolumeTokens.start({ driverVault, log: silentLogger });
  const { accessor } = await tokens.issue({ name: 'gone', path: 'secret/app-1' });
  await tokens.revoke(def('gone', 'secret/app-1', accessor));
  await assertRevoked(accessor);
  assert.ok(await readPolicy(root, allowPolicyName('secret/app-1')));
  // Revoking again (e.g. after the driver was down) is not an error.
  await tokens.revoke(def('gone', 'secret/app-1', accessor));
});

test('a response-wrapped token is unwrapped at issue (spent) and used; a plain token is refused', async () => {
  tokens = await VaultVolumeTokens.start({ driverVault, log: silentLogger });
  const wrap = await createWrappedToken(root, { policies: ['default'], ttl: '1h' }, '60s');
  const { accessor, tokenSource } = await tokens.issue({ name: 'w1', path: 'secret/app-1' }, wrap.token);
  assert.is(tokenSource, 'wrapped');
  assert.is(accessor, wrap.wrapped_accessor);
  // Spent: a second unwrap fails, so Docker's copy is useless.
  const again = await failure(tokens.issue({ name: 'w2', path: 'secret/app-1' }, wrap.token));
  assert.match(again, /response-wrapped/);
  const plain = await createToken(root, { policies: ['default'], ttl: '1h' });
  const refused = await failure(tokens.issue({ name: 'w3', path: 'secret/app-1' }, plain.token));
  assert.match(refused, /must be a response-wrapped token/);
  // The plain token was not used up or changed.
  assert.ok((await lookupAccessor(root, plain.accessor)).accessor);
  await tokens.revoke(def('w1', 'secret/app-1', accessor, 'wrapped'));
  await assertRevoked(accessor);
});

test('after a restart, acquire mints a new token and revokes the old accessor', async () => {
  const first = await VaultVolumeTokens.start({ driverVault, log: silentLogger });
  const { accessor: old } = await first.issue({ name: 'r1', path: 'secret/app-1' });
  first.close();
  tokens = await VaultVolumeTokens.start({ driverVault, log: silentLogger });
  const cred = await tokens.acquire(def('r1', 'secret/app-1', old));
  assert.is.not(cred.accessor, old);
  await assertRevoked(old);
  const mount = await resolveKvMount(cred.vault, 'secret/app-1');
  assert.is((await readSecret(cred.vault, mount, 'secret/app-1')).data['db-password'], 's3cret-one');
  await tokens.revoke(def('r1', 'secret/app-1', cred.accessor));
});

test('tokens are renewed at about two thirds of the TTL', async () => {
  tokens = await VaultVolumeTokens.start({ driverVault, log: silentLogger, ttl: '3s' });
  const { accessor } = await tokens.issue({ name: 'ren', path: 'secret/app-1' });
  await new Promise((r) => setTimeout(r, 4500));
  // Without renewal the 3 s token would be gone by now.
  const info = await lookupAccessor(root, accessor);
  assert.is(info.accessor, accessor);
  await tokens.revoke(def('ren', 'secret/app-1', accessor));
});

test('a token whose renewal fails is re-minted, the listener hears the new accessor, and the client switches to it', async () => {
  const lines: string[] = [];
  tokens = await VaultVolumeTokens.start({ driverVault, log: createLogger({ write: (l) => lines.push(l) }), ttl: '3s' });
  let replaced: { name: string; accessor: string } | undefined;
  tokens.onReplaced((name, accessor) => (replaced = { name, accessor }));
  const { accessor } = await tokens.issue({ name: 'rem', path: 'secret/app-1' });
  const cred = await tokens.acquire(def('rem', 'secret/app-1', accessor));
  await revokeAccessor(root, accessor);
  await new Promise((r) => setTimeout(r, 3000));
  assert.ok(replaced, 'a new token was minted');
  assert.is(replaced!.name, 'rem');
  assert.is.not(replaced!.accessor, accessor);
  const mount = await resolveKvMount(cred.vault, 'secret/app-1');
  assert.is((await readSecret(cred.vault, mount, 'secret/app-1')).data['db-password'], 's3cret-one', 'the same client now carries the new token');
  assert.not.ok(lines.join('').includes('s3cret'), 'logs never hold a secret');
  await tokens.revoke(def('rem', 'secret/app-1', replaced!.accessor));
});

test('a root credential mints directly (no role needed), as with VAULT_TOKEN of a dev server, still only an allowed path', async () => {
  tokens = await VaultVolumeTokens.start({ driverVault: root, log: silentLogger });
  assert.match(await failure(tokens.issue({ name: 'rootmint', path: 'secret/app-2' })), /not allowed.*`docker secretfs allow secret\/app-2`/);
  const { accessor } = await tokens.issue({ name: 'rootmint', path: 'secret/app-1/sub' });
  const info = await lookupAccessor(root, accessor);
  assert.equal(info.policies, [allowPolicyName('secret/app-1')]);
  await tokens.revoke(def('rootmint', 'secret/app-1/sub', accessor));
});

test('a path outside every allowed path is refused at issue with the command that allows it', async () => {
  tokens = await VaultVolumeTokens.start({ driverVault, log: silentLogger });
  assert.is(
    await failure(tokens.issue({ name: 'nokv', path: 'nothere/x' })),
    'path nothere/x is not allowed for volumes the driver creates; an administrator allows it with `docker secretfs allow nothere/x` (or creates the volume with `docker secretfs volume create NAME --path nothere/x`)',
  );
  assert.throws(() => findKvMount({ 'secret/': { type: 'kv', options: { version: '2' } } }, 'secretive/x'), /no secrets engine/);
  assert.equal(findKvMount({ 'secret/': { type: 'kv', options: { version: '2' } }, 'secret/deep/': { type: 'kv' } }, 'secret/deep/x'), { mount: 'secret/deep/', version: 1 });
});

/** Vault requests the store's audit log holds after `from` bytes, as "METHOD path". */
async function auditSince(from: number): Promise<string[]> {
  const text = (await readFile(store.auditLog, 'utf8')).slice(from);
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l)).map((r) => `${r.method} ${r.path}`);
}

test('policiesFor then issue with those policies (Create answers in between): one policy GET, one mint, a token of that allowed path only', async () => {
  tokens = await VaultVolumeTokens.start({ driverVault, log: silentLogger });
  const from = (await readFile(store.auditLog, 'utf8')).length;
  const policies = await tokens.policiesFor({ name: 'split', path: 'secret/app-1/sub' });
  assert.equal(policies, [allowPolicyName('secret/app-1')], 'the allowed parent');
  const { accessor } = await tokens.issue({ name: 'split', path: 'secret/app-1/sub' }, undefined, policies);
  const requests = await auditSince(from);
  assert.equal(requests.filter((r) => r.startsWith('GET sys/policies/acl/')).length, 2, requests.join('\n')); // secret/app-1/sub (none), secret/app-1
  assert.equal(requests.filter((r) => r.startsWith('POST auth/token/create')).length, 1, requests.join('\n'));
  assert.equal((await lookupAccessor(root, accessor)).policies, [allowPolicyName('secret/app-1')]);
  const cred = await tokens.acquire(def('split', 'secret/app-1/sub', accessor));
  const mount = await resolveKvMount(cred.vault, 'secret/app-1');
  assert.is(await failure(readSecret(cred.vault, mount, 'secret/app-2')), 'forbidden');
  await tokens.revoke(def('split', 'secret/app-1/sub', accessor));
});

test('revokeAccessor: a live token is revoked; an accessor Vault no longer knows is not an error', async () => {
  tokens = await VaultVolumeTokens.start({ driverVault, log: silentLogger });
  const { accessor } = await tokens.issue({ name: 'by-accessor', path: 'secret/app-1' });
  await tokens.revokeAccessor(accessor);
  await assertRevoked(accessor);
  await tokens.revokeAccessor(accessor);
  await tokens.revoke(def('by-accessor', 'secret/app-1', accessor));
});

test('resolveDriverCredential copies VAULT_ADDR and VAULT_TOKEN into a 0600 file, and the file wins afterwards', async () => {
  const h = await mkdtemp(join(tmpdir(), 'sfs-cred-'));
  const paths = resolvePaths({ SECRETFS_HOME: h });
  try {
    assert.match(await failure(resolveDriverCredential(paths, {})), /no Vault credential/);
    const cred = await resolveDriverCredential(paths, { VAULT_ADDR: 'http://127.0.0.1:1', VAULT_TOKEN: 'tok-from-env' });
    assert.equal(cred, { addr: 'http://127.0.0.1:1', token: 'tok-from-env' });
    assert.is((await stat(paths.driverCredentialFile)).mode & 0o777, 0o600);
    const again = await resolveDriverCredential(paths, { VAULT_ADDR: 'http://other:2', VAULT_TOKEN: 'other' });
    assert.equal(again, cred);
  } finally {
    await rm(h, { recursive: true, force: true });
  }
});

test.run();
