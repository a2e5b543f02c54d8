import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { storeSuite, vaultClient, vaultError } from '../../helpers/store.js';

/** Vault's approle auth method in the embedded store, through node-vault over real HTTP. */
const test = suite('localvault AppRole (node-vault over HTTP)');
const { store, vault } = storeSuite(test, async (_store, v) => {
  await v.enableAuth({ mount_point: 'approle', type: 'approle', description: 'machines' });
  await v.addPolicy({ name: 'app-read', rules: 'path "secret/data/app/*" { capabilities = ["read"] }' });
  await v.write('secret/data/app/db', { data: { password: 'pw1' } });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A client with no token (node-vault keeps a token it logs in with: never reuse the root client). */
const anon = () => vaultClient(store.addr);

test('sys/auth: enable at any path, list, read, tune, disable; errors as Vault', async () => {
  const list = await vault.auths();
  assert.is(list.data['approle/'].type, 'approle');
  assert.is(list.data['approle/'].description, 'machines');
  assert.is(list.data['token/'].type, 'token');
  await vault.enableAuth({ mount_point: 'machines/ci', type: 'approle' });
  assert.is((await vault.read('sys/auth/machines/ci')).data.type, 'approle');
  await vault.write('sys/auth/machines/ci/tune', { default_lease_ttl: '10m', max_lease_ttl: '1h' });
  const tune = await vault.read('sys/auth/machines/ci/tune');
  assert.is(tune.data.default_lease_ttl, 600);
  assert.is(tune.data.max_lease_ttl, 3600);
  const dup = await vaultError(vault.enableAuth({ mount_point: 'approle', type: 'approle' }));
  assert.is(dup.status, 400);
  assert.is(dup.message, 'path is already in use at auth/approle/');
  const unknown = await vaultError(vault.enableAuth({ mount_point: 'ldap', type: 'ldap' }));
  assert.is(unknown.message, 'plugin not found in the catalog: ldap');
  await vault.disableAuth({ mount_point: 'machines/ci' });
  assert.not.ok((await vault.auths()).data['machines/ci/']);
});

test('roles: write, read (Vault fields), list, role-id read and custom, delete', async () => {
  await vault.write('auth/approle/role/web', { token_policies: 'app-read', token_ttl: '20m', token_max_ttl: '30m', secret_id_num_uses: 10, secret_id_ttl: 600 });
  const r = await vault.read('auth/approle/role/web');
  assert.equal(r.data, {
    bind_secret_id: true,
    local_secret_ids: false,
    secret_id_bound_cidrs: [],
    secret_id_num_uses: 10,
    secret_id_ttl: 600,
    token_bound_cidrs: [],
    token_explicit_max_ttl: 0,
    token_max_ttl: 1800,
    token_no_default_policy: false,
    token_num_uses: 0,
    token_period: 0,
    token_policies: ['app-read'],
    token_ttl: 1200,
    token_type: 'default',
    policies: ['app-read'],
    period: 0,
  });
  assert.is(r.mount_type, 'approle');
  assert.equal((await vault.list('auth/approle/role')).data.keys, ['web']);
  const roleId = (await vault.read('auth/approle/role/web/role-id')).data.role_id;
  assert.match(roleId, /^[0-9a-f-]{36}$/);
  await vault.write('auth/approle/role/web/role-id', { role_id: 'web-role-id' });
  assert.is((await vault.read('auth/approle/role/web/role-id')).data.role_id, 'web-role-id');
  const missing = await vaultError(vault.read('auth/approle/role/nope'));
  assert.is(missing.status, 404);
  const noConstraint = await vaultError(vault.write('auth/approle/role/loose', { bind_secret_id: false }));
  assert.is(noConstraint.message, 'at least one constraint should be enabled on the role');
  const badTtl = await vaultError(vault.write('auth/approle/role/x', { token_ttl: '10x' }));
  assert.is(badTtl.message, 'Field validation failed: error converting input 10x for field "token_ttl": time: unknown unit "x" in duration "10x"');
  const order = await vaultError(vault.write('auth/approle/role/x', { token_ttl: '2h', token_max_ttl: '1h' }));
  assert.is(order.message, 'token_ttl should not be greater than token_max_ttl');
  await vault.write('auth/approle/role/gone', { token_policies: 'default' });
  await vault.delete('auth/approle/role/gone');
  assert.is((await vaultError(vault.read('auth/approle/role/gone'))).status, 404);
});

test('full life: secret-id generate, lookup, LIST accessors, login, token works with the role policy, destroy', async () => {
  const gen = await vault.write('auth/approle/role/web/secret-id', { metadata: '{"host":"ci-1"}' });
  assert.equal(Object.keys(gen.data).sort(), ['secret_id', 'secret_id_accessor', 'secret_id_num_uses', 'secret_id_ttl']);
  assert.is(gen.data.secret_id_num_uses, 10);
  assert.is(gen.data.secret_id_ttl, 600);
  const look = await vault.write('auth/approle/role/web/secret-id/lookup', { secret_id: gen.data.secret_id });
  assert.equal(look.data.metadata, { host: 'ci-1' });
  assert.is(look.data.secret_id_accessor, gen.data.secret_id_accessor);
  assert.equal(look.data.cidr_list, []);
  const keys = (await vault.list('auth/approle/role/web/secret-id')).data.keys;
  assert.ok(keys.includes(gen.data.secret_id_accessor));
  const acc = await vault.write('auth/approle/role/web/secret-id-accessor/lookup', { secret_id_accessor: gen.data.secret_id_accessor });
  assert.is(acc.data.secret_id_num_uses, 10);

  const client = anon();
  const login = await client.approleLogin({ role_id: 'web-role-id', secret_id: gen.data.secret_id });
  assert.equal(login.auth.policies, ['app-read', 'default']);
  assert.equal(login.auth.metadata, { host: 'ci-1', role_name: 'web' });
  assert.is(login.auth.lease_duration, 1200);
  assert.is(login.auth.renewable, true);
  assert.is(login.auth.orphan, true);
  assert.is(login.auth.token_type, 'service');
  assert.is((await client.read('secret/data/app/db')).data.data.password, 'pw1');
  const self = await client.tokenLookupSelf();
  assert.is(self.data.path, 'auth/approle/login');
  assert.is(self.data.ttl, 1200);
  // The use was counted.
  assert.is((await vault.write('auth/approle/role/web/secret-id/lookup', { secret_id: gen.data.secret_id })).data.secret_id_num_uses, 9);

  // Renewal stops at token_max_ttl (30 m): asking for 1 h gives what is left.
  const renewed = await client.tokenRenewSelf({ increment: '1h' });
  assert.ok(renewed.auth.lease_duration <= 1800 && renewed.auth.lease_duration >= 1790, String(renewed.auth.lease_duration));

  await vault.write('auth/approle/role/web/secret-id/destroy', { secret_id: gen.data.secret_id });
  const after = await fetch(`${store.addr}/v1/auth/approle/role/web/secret-id/lookup`, {
    method: 'POST',
    headers: { 'X-Vault-Token': store.rootToken },
    body: JSON.stringify({ secret_id: gen.data.secret_id }),
  });
  assert.is(after.status, 204);
  const refused = await vaultError(anon().approleLogin({ role_id: 'web-role-id', secret_id: gen.data.secret_id }));
  assert.is(refused.status, 400);
  assert.is(refused.message, 'invalid role or secret ID');
  const noAcc = await vaultError(vault.write('auth/approle/role/web/secret-id-accessor/destroy', { secret_id_accessor: gen.data.secret_id_accessor }));
  assert.is(noAcc.status, 404);
  assert.is(noAcc.message, `failed to find accessor entry for secret_id_accessor: "${gen.data.secret_id_accessor}"`);
});

test('login errors: missing role_id, unknown role_id, missing secret_id', async () => {
  // node-vault's approleLogin checks its schema locally, so send these with write().
  assert.is((await vaultError(anon().write('auth/approle/login', { secret_id: 'x' }))).message, 'missing role_id');
  assert.is((await vaultError(anon().write('auth/approle/login', { role_id: 'nope', secret_id: 'x' }))).message, 'invalid role or secret ID');
  assert.is((await vaultError(anon().write('auth/approle/login', { role_id: 'web-role-id' }))).message, 'missing secret_id');
});

test('custom secret-id, duplicate refused; accessor destroy', async () => {
  const c = await vault.write('auth/approle/role/web/custom-secret-id', { secret_id: 'my-own-secret-id-123' });
  assert.is(c.data.secret_id, 'my-own-secret-id-123');
  const dup = await vaultError(vault.write('auth/approle/role/web/custom-secret-id', { secret_id: 'my-own-secret-id-123' }));
  assert.is(dup.message, 'SecretID is already registered');
  assert.ok((await anon().approleLogin({ role_id: 'web-role-id', secret_id: 'my-own-secret-id-123' })).auth.client_token);
  await vault.write('auth/approle/role/web/secret-id-accessor/destroy', { secret_id_accessor: c.data.secret_id_accessor });
  assert.is((await vaultError(anon().approleLogin({ role_id: 'web-role-id', secret_id: 'my-own-secret-id-123' }))).message, 'invalid role or secret ID');
});

test('num_uses: a secret_id with 2 uses logs in twice, then is refused and gone from the list', async () => {
  await vault.write('auth/approle/role/twice', { token_policies: 'app-read', secret_id_num_uses: 2 });
  const roleId = (await vault.read('auth/approle/role/twice/role-id')).data.role_id;
  const s = (await vault.write('auth/approle/role/twice/secret-id', {})).data;
  assert.is(s.secret_id_num_uses, 2);
  await anon().approleLogin({ role_id: roleId, secret_id: s.secret_id });
  await anon().approleLogin({ role_id: roleId, secret_id: s.secret_id });
  const third = await vaultError(anon().approleLogin({ role_id: roleId, secret_id: s.secret_id }));
  assert.is(third.status, 400);
  assert.is(third.message, 'invalid role or secret ID');
  assert.is((await vaultError(vault.list('auth/approle/role/twice/secret-id'))).status, 404);
});

test('CIDR binding from 127.0.0.1: allowed block logs in, other blocks are refused with Vault texts', async () => {
  await vault.write('auth/approle/role/local', { token_policies: 'app-read', secret_id_bound_cidrs: '127.0.0.0/8' });
  const roleId = (await vault.read('auth/approle/role/local/role-id')).data.role_id;
  const ok = (await vault.write('auth/approle/role/local/secret-id', {})).data;
  assert.ok((await anon().approleLogin({ role_id: roleId, secret_id: ok.secret_id })).auth.client_token);
  // A secret_id bound to another network.
  await vault.write('auth/approle/role/remote', { token_policies: 'app-read' });
  const rid = (await vault.read('auth/approle/role/remote/role-id')).data.role_id;
  const far = (await vault.write('auth/approle/role/remote/secret-id', { cidr_list: '10.1.0.0/16' })).data;
  const e = await vaultError(anon().approleLogin({ role_id: rid, secret_id: far.secret_id }));
  assert.is(e.status, 400);
  assert.is(e.message, 'source address "127.0.0.1" unauthorized through CIDR restrictions on the secret ID');
  // A role bound to another network.
  await vault.write('auth/approle/role/remote', { secret_id_bound_cidrs: '192.168.0.0/24' });
  const s2 = (await vault.write('auth/approle/role/remote/secret-id', {})).data;
  const e2 = await vaultError(anon().approleLogin({ role_id: rid, secret_id: s2.secret_id }));
  assert.is(e2.message, 'source address "127.0.0.1" unauthorized by CIDR restrictions on the role: %!w(<nil>)');
  // token_bound_cidrs: the token works from 127.0.0.1 only if bound there.
  await vault.write('auth/approle/role/tb', { token_policies: 'app-read', token_bound_cidrs: '10.0.0.0/8' });
  const tbId = (await vault.read('auth/approle/role/tb/role-id')).data.role_id;
  const tbS = (await vault.write('auth/approle/role/tb/secret-id', {})).data;
  const c = anon();
  await c.approleLogin({ role_id: tbId, secret_id: tbS.secret_id });
  const denied = await vaultError(c.read('secret/data/app/db'));
  assert.is(denied.status, 403);
  const bad = await vaultError(vault.write('auth/approle/role/local', { secret_id_bound_cidrs: '300.1.1.1/8' }));
  assert.is(bad.message, 'failed to validate CIDR blocks: invalid CIDR address: 300.1.1.1/8');
});

test('wrapped secret_id: wrap_info names the accessor; unwrap gives the secret_id once; it logs in', async () => {
  const res = await fetch(`${store.addr}/v1/auth/approle/role/web/secret-id`, {
    method: 'POST',
    headers: { 'X-Vault-Token': store.rootToken, 'X-Vault-Wrap-TTL': '60s' },
  });
  assert.is(res.status, 200);
  const body = (await res.json()) as any;
  assert.is(body.data, null);
  assert.is(body.wrap_info.ttl, 60);
  assert.is(body.wrap_info.creation_path, 'auth/approle/role/web/secret-id');
  assert.match(body.wrap_info.wrapped_accessor, /^[0-9a-f-]{36}$/);
  // The receiver unwraps with the wrapping token as its own token.
  const unwrapped = await vaultClient(store.addr, body.wrap_info.token).write('sys/wrapping/unwrap', {});
  assert.is(unwrapped.data.secret_id_accessor, body.wrap_info.wrapped_accessor);
  assert.ok((await anon().approleLogin({ role_id: 'web-role-id', secret_id: unwrapped.data.secret_id })).auth.client_token);
  const again = await vaultError(vaultClient(store.addr, body.wrap_info.token).write('sys/wrapping/unwrap', {}));
  assert.is(again.status, 400);
});

test('expiry: a secret_id past its TTL is refused; a token past its TTL is refused', async () => {
  await vault.write('auth/approle/role/short', { token_policies: 'app-read', token_ttl: 1, token_max_ttl: 2, secret_id_ttl: 1 });
  const roleId = (await vault.read('auth/approle/role/short/role-id')).data.role_id;
  const s = (await vault.write('auth/approle/role/short/secret-id', {})).data;
  assert.is(s.secret_id_ttl, 1);
  const client = anon();
  const login = await client.approleLogin({ role_id: roleId, secret_id: s.secret_id });
  assert.is(login.auth.lease_duration, 1);
  await sleep(1300);
  const expiredToken = await vaultError(client.read('secret/data/app/db'));
  assert.is(expiredToken.status, 403);
  const expiredSecret = await vaultError(anon().approleLogin({ role_id: roleId, secret_id: s.secret_id }));
  assert.is(expiredSecret.status, 400);
  assert.is(expiredSecret.message, 'invalid role or secret ID');
});

test('AppRole state survives a restart (persisted with the store)', async () => {
  const s = (await vault.write('auth/approle/role/web/secret-id', {})).data;
  await store.restart();
  const fresh = vaultClient(store.addr, store.rootToken);
  assert.is((await fresh.read('auth/approle/role/web')).data.token_ttl, 1200);
  assert.ok((await anon().approleLogin({ role_id: 'web-role-id', secret_id: s.secret_id })).auth.client_token);
});

test('a token without access to the role paths gets 403 before learning anything', async () => {
  const t = await vaultClient(store.addr, store.rootToken).tokenCreate({ policies: ['app-read'] });
  const c = vaultClient(store.addr, t.auth.client_token);
  assert.is((await vaultError(c.read('auth/approle/role/web/role-id'))).status, 403);
  assert.is((await vaultError(c.write('auth/approle/role/web/secret-id', {}))).status, 403);
});

test.run();
