import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { storeSuite, vaultClient, vaultError } from '../../helpers/store.js';

const test = suite('localvault token auth over HTTP (node-vault)');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const { store, vault } = storeSuite(test, async (_store, vault) => {
  await vault.write('sys/policies/acl/app', { policy: 'path "secret/data/app/*" { capabilities = ["read"] }' });
  await vault.write('sys/policies/acl/minter', {
    policy: 'path "auth/token/create" { capabilities = ["update"] }\npath "auth/token/create/*" { capabilities = ["update"] }\npath "auth/token/create-orphan" { capabilities = ["update"] }',
  });
  await vault.write('secret/data/app/db', { data: { password: 's3cret' } });
});

async function mint(body: Record<string, unknown>, client = vault): Promise<any> {
  return (await client.write('auth/token/create', body)).auth;
}

test('create: auth block, hvs. token, default policy, display name, meta, warnings for unknown policies', async () => {
  const r = await vault.write('auth/token/create', { policies: ['app', 'ghost'], display_name: 'my volume!', meta: { volume: 'v1' }, ttl: '1h' });
  const a = r.auth;
  assert.match(a.client_token, /^hvs\./);
  assert.ok(a.accessor.length >= 20);
  assert.equal(a.policies, ['app', 'default', 'ghost']);
  assert.equal(a.token_policies, a.policies);
  assert.equal(a.metadata, { volume: 'v1' });
  assert.is(a.lease_duration, 3600);
  assert.is(a.renewable, true);
  assert.is(a.orphan, false);
  assert.is(a.token_type, 'service');
  assert.equal(r.warnings, ['Policy "ghost" does not exist']);
  const t = vaultClient(store.addr, a.client_token);
  const self = await t.tokenLookupSelf();
  assert.is(self.data.display_name, 'token-my-volume');
  assert.equal(self.data.meta, { volume: 'v1' });
  assert.is(self.data.id, a.client_token);
  assert.is(self.data.accessor, a.accessor);
  assert.is(self.data.path, 'auth/token/create');
  assert.is(self.data.creation_ttl, 3600);
  assert.ok(self.data.ttl > 3590 && self.data.ttl <= 3600);
  assert.ok(typeof self.data.expire_time === 'string');
  assert.is((await t.read('secret/data/app/db')).data.data.password, 's3cret');
});

test('root token lookup-self', async () => {
  const self = await vault.tokenLookupSelf();
  assert.equal(self.data.policies, ['root']);
  assert.is(self.data.ttl, 0);
  assert.is(self.data.expire_time, null);
  assert.is(self.data.orphan, true);
  assert.is(self.data.display_name, 'root');
});

test('token in Authorization: Bearer', async () => {
  const res = await fetch(`${store.addr}/v1/auth/token/lookup-self`, { headers: { Authorization: `Bearer ${store.rootToken}` } });
  assert.is(res.status, 200);
});

test('bad or missing token: 403 permission denied', async () => {
  const bad = await vaultError(vaultClient(store.addr, 'hvs.nonsense').read('secret/data/app/db'));
  assert.is(bad.status, 403);
  assert.match(bad.message, /permission denied/);
  const none = await vaultError(vaultClient(store.addr).read('secret/data/app/db'));
  assert.is(none.status, 403);
  assert.match(none.message, /permission denied/);
});

test('no_default_policy, explicit policies must be a subset of the parent', async () => {
  const a = await mint({ policies: ['app'], no_default_policy: true });
  assert.equal(a.policies, ['app']);
  const t = vaultClient(store.addr, a.client_token);
  assert.is((await vaultError(t.tokenLookupSelf())).status, 403, 'no default policy: no lookup-self');
  const minter = vaultClient(store.addr, (await mint({ policies: ['minter', 'app'] })).client_token);
  const child = await mint({ policies: ['app'] }, minter);
  assert.equal(child.policies, ['app', 'default']);
  const inherit = await mint({}, minter);
  assert.equal(inherit.policies, ['app', 'default', 'minter']);
  const escalate = await vaultError(minter.write('auth/token/create', { policies: ['app', 'admin'] }));
  assert.is(escalate.status, 400);
  assert.is(escalate.message, 'child policies must be subset of parent');
  const root = await vaultError(minter.write('auth/token/create', { policies: ['root'] }));
  assert.is(root.status, 400);
  const orphan = await vaultError(minter.write('auth/token/create', { no_parent: true }));
  assert.is(orphan.message, 'root or sudo privileges required to create orphan token');
  const id = await vaultError(minter.write('auth/token/create', { id: 'custom' }));
  assert.is(id.message, 'root or sudo privileges required to specify token id');
  const orphanOk = await minter.write('auth/token/create-orphan', { policies: ['app'] });
  assert.is(orphanOk.auth.orphan, true);
});

test('sudo on auth/token/create allows policies the caller does not hold', async () => {
  await vault.write('sys/policies/acl/sudo-minter', { policy: 'path "auth/token/create" { capabilities = ["update", "sudo"] }' });
  const s = vaultClient(store.addr, (await mint({ policies: ['sudo-minter'] })).client_token);
  const t = await mint({ policies: ['app'] }, s);
  assert.equal(t.policies, ['app', 'default']);
});

test('TTL expiry revokes the token; children go with it', async () => {
  const parent = await mint({ policies: ['minter', 'app'], ttl: '1s' });
  const p = vaultClient(store.addr, parent.client_token);
  const child = await mint({ policies: ['app'], ttl: '1h' }, p);
  assert.is(child.lease_duration, 3600, 'Vault does not cap a child by its parent; revocation takes it along');
  await sleep(1300);
  assert.is((await vaultError(p.read('secret/data/app/db'))).status, 403);
  assert.is((await vaultError(vault.write('auth/token/lookup', { token: child.client_token }))).status, 403);
  assert.is((await vaultError(vault.write('auth/token/lookup-accessor', { accessor: parent.accessor }))).message, 'invalid accessor');
});

test('num_uses: each request uses one; exhausted token is revoked; it cannot mint children', async () => {
  const a = await mint({ policies: ['app', 'minter'], num_uses: 3 });
  const t = vaultClient(store.addr, a.client_token);
  assert.is(a.num_uses, 3);
  const self = await t.tokenLookupSelf();
  assert.is(self.data.num_uses, 2);
  const child = await vaultError(t.write('auth/token/create', {}));
  assert.is(child.message, 'restricted use token cannot generate child tokens');
  await t.read('secret/data/app/db');
  const gone = await vaultError(t.read('secret/data/app/db'));
  assert.is(gone.status, 403);
  assert.is((await vaultError(vault.write('auth/token/lookup-accessor', { accessor: a.accessor }))).status, 400);
});

test('renewal: increment, explicit max TTL cap, non-renewable tokens, renew by accessor', async () => {
  const a = await mint({ policies: ['app'], ttl: '10s', explicit_max_ttl: '20s' });
  const t = vaultClient(store.addr, a.client_token);
  const r = await t.write('auth/token/renew-self', { increment: '15s' });
  assert.is(r.auth.lease_duration, 15);
  assert.is(r.auth.client_token, a.client_token);
  const capped = await t.write('auth/token/renew-self', { increment: '1h' });
  assert.ok(capped.auth.lease_duration <= 20 && capped.auth.lease_duration >= 18, String(capped.auth.lease_duration));
  assert.match(capped.warnings[0], /exceeded the effective max_ttl/);
  const plain = await t.write('auth/token/renew-self', {});
  assert.ok(plain.auth.lease_duration <= 10, 'without increment: the original TTL');
  const byAcc = await vault.write('auth/token/renew-accessor', { accessor: a.accessor, increment: '5s' });
  assert.is(byAcc.auth.client_token, '');
  assert.is(byAcc.auth.lease_duration, 5);
  const byToken = await vault.write('auth/token/renew', { token: a.client_token, increment: '6s' });
  assert.is(byToken.auth.lease_duration, 6);
  const fixed = await mint({ policies: ['app'], renewable: false });
  assert.is(fixed.renewable, false);
  const nr = await vaultError(vaultClient(store.addr, fixed.client_token).write('auth/token/renew-self', {}));
  assert.is(nr.status, 400);
  assert.is(nr.message, 'lease is not renewable');
  assert.is((await vaultError(vault.write('auth/token/renew', { token: 'hvs.none' }))).message, 'token not found');
  const rootRenew = await vaultError(vault.write('auth/token/renew-self', {}));
  assert.is(rootRenew.message, 'lease is not renewable');
});

test('periodic tokens (root/sudo only) renew to their period', async () => {
  const a = await mint({ policies: ['app'], period: '30s', ttl: '10s' });
  assert.is(a.lease_duration, 30);
  const info = await vault.write('auth/token/lookup', { token: a.client_token });
  assert.is(info.data.period, 30);
  const r = await vault.write('auth/token/renew', { token: a.client_token, increment: '1h' });
  assert.is(r.auth.lease_duration, 30);
  const minter = vaultClient(store.addr, (await mint({ policies: ['minter', 'app'] })).client_token);
  const e = await vaultError(minter.write('auth/token/create', { period: '30s' }));
  assert.is(e.message, 'root or sudo privileges required to create periodic token');
});

test('renewal stops at the explicit max TTL', async () => {
  const a = await mint({ policies: ['app'], ttl: '1s', explicit_max_ttl: '1s' });
  await sleep(1100);
  assert.is((await vaultError(vault.write('auth/token/renew', { token: a.client_token }))).status, 400);
});

test('revocation: revoke revokes children; revoke-orphan keeps them; revoke-accessor; revoke-self', async () => {
  const parent = await mint({ policies: ['minter', 'app'] });
  const p = vaultClient(store.addr, parent.client_token);
  const child = await mint({ policies: ['app'] }, p);
  const grandchild = await mint({ policies: ['app'] }, vaultClient(store.addr, (await mint({ policies: ['minter', 'app'] }, p)).client_token));
  await vault.write('auth/token/revoke', { token: parent.client_token });
  for (const t of [parent, child, grandchild]) {
    assert.is((await vaultError(vaultClient(store.addr, t.client_token).read('secret/data/app/db'))).status, 403);
  }
  const p2 = await mint({ policies: ['minter', 'app'] });
  const c2 = await mint({ policies: ['app'] }, vaultClient(store.addr, p2.client_token));
  await vault.write('auth/token/revoke-orphan', { token: p2.client_token });
  const orphaned = await vault.write('auth/token/lookup', { token: c2.client_token });
  assert.is(orphaned.data.orphan, true);
  const a3 = await mint({ policies: ['app'] });
  await vault.write('auth/token/revoke-accessor', { accessor: a3.accessor });
  assert.is((await vaultError(vaultClient(store.addr, a3.client_token).read('secret/data/app/db'))).status, 403);
  const unknown = await vault.write('auth/token/revoke-accessor', { accessor: 'nope' });
  assert.equal(unknown.warnings, ['No token found with this accessor']);
  const a4 = await mint({ policies: ['app'] });
  const t4 = vaultClient(store.addr, a4.client_token);
  assert.is(await t4.write('auth/token/revoke-self', {}), '');
  assert.is((await vaultError(t4.tokenLookupSelf())).status, 403);
  assert.is(await vault.write('auth/token/revoke', { token: 'hvs.unknown' }), '', 'unknown token: 204');
  const nonSudo = vaultClient(store.addr, (await mint({ policies: ['app'] })).client_token);
  assert.is((await vaultError(nonSudo.write('auth/token/revoke-orphan', { token: 'x' }))).status, 403);
});

test('lookup, lookup-accessor (id is empty), accessors list needs sudo', async () => {
  const a = await mint({ policies: ['app'] });
  const l = await vault.write('auth/token/lookup', { token: a.client_token });
  assert.is(l.data.id, a.client_token);
  const la = await vault.write('auth/token/lookup-accessor', { accessor: a.accessor });
  assert.is(la.data.id, '');
  assert.equal(la.data.policies, ['app', 'default']);
  const bad = await vaultError(vault.write('auth/token/lookup', { token: 'hvs.nope' }));
  assert.is(bad.status, 403);
  assert.is(bad.message, 'bad token');
  assert.ok((await vault.list('auth/token/accessors')).data.keys.includes(a.accessor));
  assert.is((await vaultError(vaultClient(store.addr, a.client_token).list('auth/token/accessors'))).status, 403);
});

test('roles: CRUD and create/<role> grants allowed policies without holding them', async () => {
  assert.is((await vaultError(vault.list('auth/token/roles'))).status, 404);
  await vault.write('auth/token/roles/vol', { allowed_policies: ['app'], orphan: true, token_explicit_max_ttl: '2h', path_suffix: 'rev-1' });
  const role = await vault.read('auth/token/roles/vol');
  assert.equal(role.data.allowed_policies, ['app']);
  assert.is(role.data.orphan, true);
  assert.is(role.data.token_explicit_max_ttl, 7200);
  assert.equal((await vault.list('auth/token/roles')).data.keys, ['vol']);
  const badSuffix = await vaultError(vault.write('auth/token/roles/bad', { path_suffix: 'v1' }));
  assert.match(badSuffix.message, /path suffix contains invalid characters/);
  await vault.write('sys/policies/acl/role-minter', { policy: 'path "auth/token/create/vol" { capabilities = ["update"] }' });
  const m = vaultClient(store.addr, (await mint({ policies: ['role-minter'] })).client_token);
  const t = await m.write('auth/token/create/vol', { display_name: 'volume-x' });
  assert.equal(t.auth.policies, ['app', 'default']);
  assert.is(t.auth.orphan, true);
  const info = await vault.write('auth/token/lookup', { token: t.auth.client_token });
  assert.is(info.data.path, 'auth/token/create/vol/rev-1');
  assert.is(info.data.role, 'vol');
  assert.is(info.data.explicit_max_ttl, 7200);
  const outside = await vaultError(m.write('auth/token/create/vol', { policies: ['minter'] }));
  assert.is(outside.status, 400);
  assert.match(outside.message, /must be subset of the role's allowed policies/);
  const unknown = await vaultError(vault.write('auth/token/create/nope', {}));
  assert.is(unknown.message, 'unknown role nope');
  await vault.delete('auth/token/roles/vol');
  assert.is((await vaultError(vault.read('auth/token/roles/vol'))).status, 404);
});

test('batch tokens: hvb. prefix, no accessor, not renewable or revocable, cannot mint, die with their parent', async () => {
  const parent = await mint({ policies: ['minter', 'app'] });
  const b = (await vaultClient(store.addr, parent.client_token).write('auth/token/create', { type: 'batch', policies: ['app'], ttl: '1h' })).auth;
  assert.match(b.client_token, /^hvb\./);
  assert.is(b.accessor, '');
  assert.is(b.token_type, 'batch');
  assert.is(b.renewable, false);
  const c = vaultClient(store.addr, b.client_token);
  assert.is((await c.read('secret/data/app/db')).data.data.password, 's3cret');
  assert.is((await c.tokenLookupSelf()).data.type, 'batch');
  assert.is((await vaultError(c.write('auth/token/renew-self', {}))).message, 'batch tokens cannot be renewed');
  assert.is((await vaultError(c.write('auth/token/revoke-self', {}))).message, 'batch tokens cannot be revoked');
  assert.is((await vaultError(vault.write('auth/token/create', { type: 'batch', num_uses: 2 }))).message, 'batch tokens cannot have "num_uses" set');
  await vault.write('auth/token/revoke', { token: parent.client_token });
  assert.is((await vaultError(c.read('secret/data/app/db'))).status, 403);
});

test('node-vault token helpers (tokenCreate replaces the client token)', async () => {
  const c = vaultClient(store.addr, store.rootToken);
  const r = await c.tokenCreate({ policies: ['app'], ttl: '1h' });
  assert.is(c.token, r.auth.client_token);
  assert.equal((await c.tokenLookupSelf()).data.policies, ['app', 'default']);
  const acc = await vault.tokenLookupAccessor({ accessor: r.auth.accessor });
  assert.is(acc.data.accessor, r.auth.accessor);
  await vault.tokenRevokeAccessor({ accessor: r.auth.accessor });
  assert.is((await vaultError(c.tokenLookupSelf())).status, 403);
});

test.run();
