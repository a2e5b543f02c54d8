import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isVaultFailure } from '../../../lib/errors.js';
import { resolvePaths } from '../../../lib/paths.js';
import { createVaultClient, type VaultClient } from '../../../lib/vault/client.js';
import { resolveKvMount, readSecret, writeSecret } from '../../../lib/vault/kv.js';
import { listPolicies, readPolicy } from '../../../lib/vault/policy.js';
import { createToken, lookupAccessor } from '../../../lib/vault/tokens.js';
import { provisionDriverCredential, ensureDriverBoundary } from '../../../lib/driver/driver-policy.js';
import { DRIVER_POLICY_NAME, VOLUME_TOKEN_ROLE, allowPath, disallowPath, findAllowPolicy, listAllowedPaths, mintThroughRole } from '../../../lib/access/boundary.js';
import { allowPolicyName } from '../../../lib/access/volume-access.js';
import { startTestStore, type TestStore } from '../../helpers/store.js';

/**
 * The trust boundary, attacked from the driver's own credential against the embedded store (which
 * enforces token roles and ACLs as Vault does): what issue 12 reproduced must fail with Vault's
 * status and message.
 */
const test = suite('access/boundary (driver credential vs the embedded store)');
let store: TestStore;
let root: VaultClient;
let driver: VaultClient;
let home: string;

const EVIL = 'path "*" {\n  capabilities = ["create", "read", "update", "delete", "list", "sudo"]\n}\n';

async function status(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    // Vault's own error text, without the client's `Vault METHOD path: ` prefix.
    if (isVaultFailure(err)) return `${err.status} ${err.message.replace(/^Vault \S+ \S+: /, '')}`;
    return (err as Error).message;
  }
  return 'ok';
}

test.before(async () => {
  store = await startTestStore();
  root = createVaultClient({ addr: store.addr, token: store.rootToken });
  const mount = await resolveKvMount(root, 'secret/app-1');
  await writeSecret(root, mount, 'secret/app-1', { 'db-password': 'one' });
  await writeSecret(root, mount, 'secret/app-2', { 'db-password': 'two' });
  home = await mkdtemp(join(tmpdir(), 'sfs-boundary-'));
  const cred = await provisionDriverCredential(root, resolvePaths({ SECRETFS_HOME: home }));
  driver = createVaultClient({ addr: cred.addr, token: cred.token });
  await allowPath(root, 'secret/app-1');
});

test.after(async () => {
  await store.stop();
  await rm(home, { recursive: true, force: true });
});

test('the driver credential cannot create, change or delete any policy (403)', async () => {
  for (const name of ['secretfs-vol-evil', 'secretfs-volume-evil', 'secretfs-allow-evil', 'default', DRIVER_POLICY_NAME, allowPolicyName('secret/app-1')]) {
    assert.match(await status(driver.request('PUT', `sys/policies/acl/${name}`, { body: { policy: EVIL } })), /^403 /, `write ${name}`);
    assert.match(await status(driver.request('DELETE', `sys/policies/acl/${name}`)), /^403 /, `delete ${name}`);
  }
  assert.match(await status(driver.request('POST', `auth/token/roles/${VOLUME_TOKEN_ROLE}`, { body: { allowed_policies_glob: ['*'] } })), /^403 /, 'the role');
  assert.equal((await listPolicies(root)).filter((p) => p.includes('evil')), [], 'nothing was written');
  assert.ok((await readPolicy(root, allowPolicyName('secret/app-1'))).includes('# secretfs allow: secret/app-1'));
});

test('the driver credential mints only administrator policies through the role (400 with Vault\'s message)', async () => {
  const globs = '["secretfs-allow-*" "secretfs-volume-*"]';
  for (const policy of ['team-x', 'secretfs-vol-evil', DRIVER_POLICY_NAME]) {
    assert.is(
      await status(driver.request('POST', `auth/token/create/${VOLUME_TOKEN_ROLE}`, { body: { policies: [policy] } })),
      `400 token policies (["${policy}"]) must be subset of the role's allowed policies ([]) or glob policies (${globs})`,
      policy,
    );
  }
  assert.match(await status(driver.request('POST', `auth/token/create/${VOLUME_TOKEN_ROLE}`, { body: { policies: ['root'] } })), /^400 token policies \(\["root"\]\) must be subset/);
  assert.match(await status(driver.request('POST', `auth/token/create/${VOLUME_TOKEN_ROLE}`, { body: { policies: ['default'] } })), /^400 token policies \(\["default"\]\) must be subset/);
  // No orphan, no periodic token, no direct create.
  assert.is(await status(driver.request('POST', `auth/token/create/${VOLUME_TOKEN_ROLE}`, { body: { policies: [allowPolicyName('secret/app-1')], period: '1h' } })), '400 root or sudo privileges required to create periodic token');
  assert.match(await status(driver.request('POST', 'auth/token/create-orphan', { body: { policies: [DRIVER_POLICY_NAME] } })), /^403 /);
  assert.match(await status(driver.request('POST', 'auth/token/create', { body: { policies: [DRIVER_POLICY_NAME] } })), /^403 /);
  // With a role, Vault ignores no_parent: the token stays a child of the driver (the role is not orphan).
  const res = await driver.request('POST', `auth/token/create/${VOLUME_TOKEN_ROLE}`, { body: { policies: [allowPolicyName('secret/app-1')], no_parent: true } });
  assert.is(res.auth?.orphan, false);
});

test('a token minted through the role has exactly the allowed path, is a child of the driver, and has no default', async () => {
  const minted = await mintThroughRole(driver, { policies: [allowPolicyName('secret/app-1')], ttl: '10m' });
  const info = await lookupAccessor(root, minted.accessor);
  assert.equal(info.policies, [allowPolicyName('secret/app-1')]);
  assert.not.ok(info.orphan);
  const vol = createVaultClient({ addr: store.addr, token: minted.token });
  const mount = await resolveKvMount(vol, 'secret/app-1');
  assert.is((await readSecret(vol, mount, 'secret/app-1')).data['db-password'], 'one');
  assert.match(await status(readSecret(vol, mount, 'secret/app-2')), /^403 /);
  // The driver itself still reads nothing.
  assert.match(await status(readSecret(driver, mount, 'secret/app-1')), /^403 /);
});

test('findAllowPolicy: the nearest allowed parent, or an error naming the exact command', async () => {
  assert.equal(await findAllowPolicy(driver, 'secret/app-1/deep/er'), { path: 'secret/app-1', policy: allowPolicyName('secret/app-1') });
  assert.is(
    await status(findAllowPolicy(driver, 'secret/app-2')),
    'path secret/app-2 is not allowed for volumes the driver creates; an administrator allows it with `docker secretfs allow secret/app-2` (or creates the volume with `docker secretfs volume create NAME --path secret/app-2`)',
  );
  // A policy that merely has the allow name but not the header (e.g. planted by hand) is not taken.
  await root.request('PUT', `sys/policies/acl/${allowPolicyName('secret/app-2')}`, { body: { policy: EVIL } });
  assert.match(await status(findAllowPolicy(driver, 'secret/app-2')), /is not allowed/);
  await root.request('DELETE', `sys/policies/acl/${allowPolicyName('secret/app-2')}`);
});

test('allow, allow ls, allow rm with the administrator\'s client; a second allow changes nothing', async () => {
  assert.equal(await allowPath(root, 'secret/app-2'), { path: 'secret/app-2', policy: allowPolicyName('secret/app-2'), changed: true });
  assert.equal(await allowPath(root, 'secret/app-2'), { path: 'secret/app-2', policy: allowPolicyName('secret/app-2'), changed: false });
  assert.equal((await listAllowedPaths(root)).map((a) => a.path), ['secret/app-1', 'secret/app-2']);
  assert.equal(await disallowPath(root, 'secret/app-2'), { path: 'secret/app-2', policy: allowPolicyName('secret/app-2'), removed: true });
  assert.equal(await disallowPath(root, 'secret/app-2'), { path: 'secret/app-2', policy: allowPolicyName('secret/app-2'), removed: false });
  assert.equal((await listAllowedPaths(root)).map((a) => a.path), ['secret/app-1']);
});

test('allow refuses an injected path before any Vault call and writes nothing', async () => {
  const before = await listPolicies(root);
  for (const bad of ['secret/x" { capabilities = ["deny"] } path "secret/data/*', 'secret/x\n', 'secret/a*', 'secret/+/x', 'secret/{{identity.entity.id}}', 'secret/a#b', 'secret/a\\b']) {
    assert.match(await status(allowPath(createVaultClient({ addr: 'http://127.0.0.1:9', token: 'unused' }), bad)), /must not (contain|have)/, JSON.stringify(bad));
  }
  assert.equal(await listPolicies(root), before);
});

test('ensureDriverBoundary narrows an older, wider driver policy and role, and is then a no-op', async () => {
  await root.request('PUT', `sys/policies/acl/${DRIVER_POLICY_NAME}`, { body: { policy: 'path "sys/policies/acl/secretfs-vol-*" {\n  capabilities = ["create", "update"]\n}\n' } });
  await root.request('POST', `auth/token/roles/${VOLUME_TOKEN_ROLE}`, { body: { allowed_policies_glob: ['secretfs-vol-*'] } });
  assert.is(await ensureDriverBoundary(root), true);
  assert.is(await ensureDriverBoundary(root), false);
  assert.match(await status(driver.request('PUT', 'sys/policies/acl/secretfs-vol-evil', { body: { policy: EVIL } })), /^403 /);
  assert.match(await status(driver.request('POST', `auth/token/create/${VOLUME_TOKEN_ROLE}`, { body: { policies: ['secretfs-vol-evil'] } })), /^400 /);
  // The root credential an administrator holds is not bounded: only the driver's is.
  assert.ok((await createToken(root, { policies: ['default'], ttl: '1m' })).token);
});

test.run();
