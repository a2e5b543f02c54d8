import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { storeSuite, vaultClient, vaultError } from '../../helpers/store.js';

const test = suite('localvault sys endpoints over HTTP (node-vault)');
const { store, vault } = storeSuite(test);

const raw = (path: string, init: RequestInit = {}) => fetch(`${store.addr}/v1/${path}`, init);

test('sys/health: body fields, status codes and query params; HEAD without body; no token needed', async () => {
  const anon = vaultClient(store.addr);
  const h = await anon.health();
  for (const k of ['initialized', 'sealed', 'standby', 'performance_standby', 'replication_dr_mode', 'replication_performance_mode', 'server_time_utc', 'version', 'cluster_name', 'cluster_id']) {
    assert.ok(k in h, k);
  }
  assert.is(h.initialized, true);
  assert.is(h.sealed, false);
  assert.is((await raw('sys/health')).status, 200);
  assert.is((await raw('sys/health?activecode=299')).status, 299);
  assert.is((await raw('sys/health?standbyok=true&sealedcode=200&uninitcode=200')).status, 200);
  assert.is((await raw('sys/health?activecode=abc')).status, 400);
  const head = await raw('sys/health', { method: 'HEAD' });
  assert.is(head.status, 200);
  assert.is(await head.text(), '');
});

test('sys/seal-status and sys/init', async () => {
  const anon = vaultClient(store.addr);
  const s = await anon.status();
  assert.is(s.sealed, false);
  assert.is(s.t, 1);
  assert.is(s.n, 1);
  assert.is(s.progress, 0);
  assert.is(s.initialized, true);
  assert.is((await anon.initialized()).initialized, true);
  const e = await vaultError(anon.init({ secret_shares: 1, secret_threshold: 1 }));
  assert.is(e.status, 400);
  assert.is(e.message, 'Vault is already initialized');
});

test('sys/mounts: list (with top-level copy), read one, enable, conflicts, disable', async () => {
  const m = await vault.mounts();
  assert.is(m.data['secret/'].type, 'kv');
  assert.equal(m.data['secret/'].options, { version: '2' });
  assert.is(m['secret/'].type, 'kv', 'data is also at the top level');
  assert.ok(m.data['sys/'] && m.data['cubbyhole/']);
  await vault.mount({ mount_point: 'apps', type: 'kv', options: { version: '2' }, description: 'apps' });
  const one = await vault.read('sys/mounts/apps');
  assert.is(one.data.description, 'apps');
  assert.is(one.data.options.version, '2');
  const conflict = await vaultError(vault.mount({ mount_point: 'apps', type: 'kv' }));
  assert.is(conflict.status, 400);
  assert.match(conflict.message, /path is already in use at apps\//);
  const nested = await vaultError(vault.mount({ mount_point: 'secret/inner', type: 'kv' }));
  assert.match(nested.message, /already in use at secret\//);
  const badType = await vaultError(vault.mount({ mount_point: 'x', type: 'pki' }));
  assert.is(badType.status, 400);
  const reserved = await vaultError(vault.mount({ mount_point: 'sys/x', type: 'kv' }));
  assert.is(reserved.status, 400);
  await vault.unmount({ mount_point: 'apps' });
  assert.not.ok('apps/' in (await vault.mounts()).data);
  const sysUnmount = await vaultError(vault.unmount({ mount_point: 'sys' }));
  assert.is(sysUnmount.status, 400);
  assert.is((await vaultError(vault.read('sys/mounts/apps'))).status, 400);
});

test('sys/internal/ui/mounts/<path>: mount and KV version, as the vault CLI preflight uses it', async () => {
  const r = await vault.read('sys/internal/ui/mounts/secret/app-1/db');
  assert.is(r.data.path, 'secret/');
  assert.is(r.data.type, 'kv');
  assert.equal(r.data.options, { version: '2' });
  await vault.addPolicy({ name: 'ui-reader', policy: 'path "secret/data/app/*" { capabilities = ["read"] }' });
  const t = await vault.write('auth/token/create', { policies: ['ui-reader'] });
  const limited = vaultClient(store.addr, t.auth.client_token);
  assert.is((await limited.read('sys/internal/ui/mounts/secret/app/x')).data.path, 'secret/');
  const t2 = await vault.write('auth/token/create', { policies: ['default'] });
  const none = vaultClient(store.addr, t2.auth.client_token);
  const e = await vaultError(none.read('sys/internal/ui/mounts/secret/app/x'));
  assert.is(e.status, 403);
  assert.match(e.message, /preflight capability check returned 403/);
  const unknown = await vaultError(vault.read('sys/internal/ui/mounts/nomount/x'));
  assert.is(unknown.status, 403);
  const anon = await vaultError(vaultClient(store.addr).read('sys/internal/ui/mounts/secret/x'));
  assert.is(anon.status, 403);
});

test('sys/policy: write (lower-cased with warning), read, list (incl. root and default), delete', async () => {
  const w = await vault.addPolicy({ name: 'MyApp', policy: 'path "secret/data/myapp/*" { capabilities = ["read"] }' });
  assert.equal(w.warnings, ['policy name was converted to myapp']);
  const p = await vault.getPolicy({ name: 'myapp' });
  assert.is(p.name, 'myapp');
  assert.match(p.rules, /secret\/data\/myapp/);
  assert.is(p.data.rules, p.rules);
  const list = await vault.policies();
  assert.ok(list.policies.includes('myapp') && list.policies.includes('root') && list.policies.includes('default'));
  assert.equal(list.keys, list.data.keys);
  assert.is(list.keys[list.keys.length - 1], 'root', 'root comes last, as Vault appends it');
  await vault.removePolicy({ name: 'myapp' });
  assert.is((await vaultError(vault.getPolicy({ name: 'myapp' }))).status, 404);
  const legacy = await vault.write('sys/policy/legacy', { rules: 'path "a" { capabilities = ["read"] }' });
  assert.equal(legacy.warnings, [`'rules' is deprecated, please use 'policy' instead`]);
});

test('sys/policies/acl: list, read, write with base64 and JSON, delete; errors', async () => {
  const hcl = 'path "secret/data/b64/*" { capabilities = ["read"] }';
  assert.is(await vault.write('sys/policies/acl/b64', { policy: Buffer.from(hcl).toString('base64') }), '');
  assert.is((await vault.read('sys/policies/acl/b64')).data.policy, hcl);
  await vault.write('sys/policies/acl/json', { policy: JSON.stringify({ path: { 'secret/*': { capabilities: ['list'] } } }) });
  const keys = (await vault.list('sys/policies/acl')).data.keys;
  assert.ok(keys.includes('b64') && keys.includes('json'));
  const r = await vault.read('sys/policies/acl/json');
  assert.not.ok('policy' in r && r.policy !== undefined && r.data === undefined, 'no top-level copy needed');
  const empty = await vaultError(vault.write('sys/policies/acl/e', {}));
  assert.is(empty.status, 400);
  assert.is(empty.message, `'policy' parameter not supplied or empty`);
  const bad = await vaultError(vault.write('sys/policies/acl/bad', { policy: 'path "a" { capabilities = ["fly"] }' }));
  assert.is(bad.status, 400);
  assert.match(bad.message, /^failed to parse policy: /);
  const syntax = await vaultError(vault.write('sys/policies/acl/bad', { policy: 'path "a" {' }));
  assert.is(syntax.status, 400);
  assert.is((await vaultError(vault.write('sys/policies/acl/root', { policy: 'path "a" {}' }))).message, 'cannot update root policy');
  const delRoot = await vaultError(vault.delete('sys/policies/acl/root'));
  assert.is(delRoot.status, 400);
  assert.is(delRoot.message, 'cannot delete root policy');
  const delDefault = await vaultError(vault.delete('sys/policies/acl/default'));
  assert.is(delDefault.status, 400);
  assert.is(delDefault.message, 'cannot delete default policy');
  await vault.delete('sys/policies/acl/b64');
  assert.is((await vaultError(vault.read('sys/policies/acl/b64'))).status, 404);
  assert.match((await vault.read('sys/policies/acl/default')).data.policy, /auth\/token\/lookup-self/);
});

test('sys/capabilities-self with {paths} and {path}; sys/capabilities and -accessor', async () => {
  await vault.write('sys/policies/acl/capa', { policy: 'path "secret/data/capa/*" { capabilities = ["read", "list"] }' });
  const t = await vault.write('auth/token/create', { policies: ['capa'] });
  const c = vaultClient(store.addr, t.auth.client_token);
  const r = await c.write('sys/capabilities-self', { paths: ['secret/data/capa/x', 'secret/data/other'] });
  assert.equal(r.data['secret/data/capa/x'], ['list', 'read']);
  assert.equal(r.data['secret/data/other'], ['deny']);
  assert.equal(r['secret/data/capa/x'], ['list', 'read'], 'top-level copy');
  const single = await c.write('sys/capabilities-self', { path: 'secret/data/capa/y' });
  assert.equal(single.capabilities, ['list', 'read']);
  assert.equal((await vault.write('sys/capabilities-self', { paths: ['x'] })).capabilities, ['root']);
  assert.equal((await vault.write('sys/capabilities', { token: t.auth.client_token, paths: ['secret/data/capa/z'] })).capabilities, ['list', 'read']);
  assert.equal((await vault.write('sys/capabilities-accessor', { accessor: t.auth.accessor, paths: ['secret/data/capa/z'] })).capabilities, ['list', 'read']);
  assert.is((await vaultError(c.write('sys/capabilities-self', {}))).status, 400);
});

test('sys/leases: no leases exist, so renew and lookup say "invalid lease"', async () => {
  const e = await vaultError(vault.renew({ lease_id: 'secret/x/abc', increment: 10 }));
  assert.is(e.status, 400);
  assert.is(e.message, 'invalid lease');
  assert.is((await vaultError(vault.write('sys/leases/lookup', {}))).message, 'lease_id must be specified');
});

test('sys/auth lists the token method', async () => {
  const r = await vault.read('sys/auth');
  assert.is(r.data['token/'].type, 'token');
});

test.run();
