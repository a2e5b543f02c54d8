import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { storeSuite, vaultClient, vaultError } from '../../helpers/store.js';

const test = suite('localvault KV v1 and v2 over HTTP (node-vault)');
const { store, vault } = storeSuite(test);

test('kv v2: write, read, versions, ?version', async () => {
  const w1 = await vault.write('secret/data/app-1', { data: { user: 'u', password: 'p1' } });
  assert.is(w1.data.version, 1);
  assert.is(w1.data.deletion_time, '');
  assert.is(w1.data.destroyed, false);
  assert.ok(w1.request_id && 'lease_id' in w1 && 'wrap_info' in w1 && 'warnings' in w1 && 'auth' in w1);
  const w2 = await vault.write('secret/data/app-1', { data: { user: 'u', password: 'p2' } });
  assert.is(w2.data.version, 2);
  const latest = await vault.read('secret/data/app-1');
  assert.equal(latest.data.data, { user: 'u', password: 'p2' });
  assert.is(latest.data.metadata.version, 2);
  assert.is(latest.data.metadata.custom_metadata, null);
  const v1 = await vault.read('secret/data/app-1?version=1');
  assert.equal(v1.data.data.password, 'p1');
  const missing = await vaultError(vault.read('secret/data/app-1?version=9'));
  assert.is(missing.status, 404);
  assert.equal(missing.body, { errors: [] });
});

test('kv v2: never-written key is 404 {"errors":[]}', async () => {
  const e = await vaultError(vault.read('secret/data/nope'));
  assert.is(e.status, 404);
  assert.equal(e.body, { errors: [] });
  assert.is(e.message, 'Status 404');
});

test('kv v2: soft delete gives 404 with a normal body; undelete brings it back; destroy is permanent', async () => {
  await vault.write('secret/data/del', { data: { a: '1' } });
  await vault.write('secret/data/del', { data: { a: '2' } });
  assert.is(await vault.delete('secret/data/del'), '');
  const e = await vaultError(vault.read('secret/data/del'));
  assert.is(e.status, 404);
  assert.is(e.body.data.data, null);
  assert.is(e.body.data.metadata.version, 2);
  assert.ok(e.body.data.metadata.deletion_time !== '');
  assert.ok(!('errors' in e.body));
  await vault.write('secret/undelete/del', { versions: [2] });
  assert.is((await vault.read('secret/data/del')).data.data.a, '2');
  await vault.write('secret/delete/del', { versions: [1] });
  assert.is((await vaultError(vault.read('secret/data/del?version=1'))).status, 404);
  await vault.write('secret/destroy/del', { versions: [2] });
  const d = await vaultError(vault.read('secret/data/del'));
  assert.is(d.body.data.metadata.destroyed, true);
  await vault.write('secret/undelete/del', { versions: [2] });
  assert.is((await vaultError(vault.read('secret/data/del'))).status, 404, 'destroyed cannot be undeleted');
  const meta = await vault.read('secret/metadata/del');
  assert.is(meta.data.versions['2'].destroyed, true);
  assert.ok(meta.data.versions['1'].deletion_time !== '');
  const noVersions = await vaultError(vault.write('secret/delete/del', {}));
  assert.is(noVersions.status, 400);
  assert.is(noVersions.message, 'No version number provided');
  assert.is((await vaultError(vault.write('secret/destroy/del', {}))).message, 'no version number provided');
});

test('node-vault destroySecretVersions helper', async () => {
  await vault.write('secret/data/helper', { data: { a: '1' } });
  await vault.destroySecretVersions({ mount_point: 'secret', path: 'helper', versions: [1] });
  assert.is((await vault.read('secret/metadata/helper')).data.versions['1'].destroyed, true);
});

test('kv v2: check-and-set', async () => {
  await vault.write('secret/data/cas', { options: { cas: 0 }, data: { a: '1' } });
  const again = await vaultError(vault.write('secret/data/cas', { options: { cas: 0 }, data: { a: '2' } }));
  assert.is(again.status, 400);
  assert.is(again.message, 'check-and-set parameter did not match the current version');
  await vault.write('secret/data/cas', { options: { cas: 1 }, data: { a: '2' } });
  await vault.write('secret/metadata/cas', { cas_required: true });
  const required = await vaultError(vault.write('secret/data/cas', { data: { a: '3' } }));
  assert.is(required.message, 'check-and-set parameter required for this call');
  const ok = await vault.write('secret/data/cas', { options: { cas: 2 }, data: { a: '3' } });
  assert.is(ok.data.version, 3);
});

test('kv v2: write without data is 400 "no data provided"', async () => {
  const e = await vaultError(vault.write('secret/data/x', { options: {} }));
  assert.is(e.status, 400);
  assert.is(e.message, 'no data provided');
});

test('kv v2: PATCH merge-patch (node-vault update)', async () => {
  await vault.write('secret/data/patch', { data: { a: '1', b: '2', nested: { x: 1, y: 2 } } });
  const r = await vault.update('secret/data/patch', { data: { b: null, c: '3', nested: { y: null } } });
  assert.is(r.data.version, 2);
  assert.equal((await vault.read('secret/data/patch')).data.data, { a: '1', c: '3', nested: { x: 1 } });
  const missing = await vaultError(vault.update('secret/data/patch-missing', { data: { a: '1' } }));
  assert.is(missing.status, 404);
  const plain = await fetch(`${store.addr}/v1/secret/data/patch`, { method: 'PATCH', headers: { 'X-Vault-Token': store.rootToken, 'Content-Type': 'application/json' }, body: '{"data":{}}' });
  assert.is(plain.status, 415);
});

test('kv v2: metadata, custom_metadata, max_versions, metadata delete', async () => {
  await vault.write('secret/metadata/meta', { max_versions: 2, custom_metadata: { owner: 'team-a' }, delete_version_after: '3h25m19s' });
  for (let i = 1; i <= 4; i++) await vault.write('secret/data/meta', { data: { i: String(i) } });
  const m = await vault.read('secret/metadata/meta');
  assert.is(m.data.current_version, 4);
  assert.is(m.data.max_versions, 2);
  assert.is(m.data.oldest_version, 3);
  assert.equal(Object.keys(m.data.versions).sort(), ['3', '4']);
  assert.equal(m.data.custom_metadata, { owner: 'team-a' });
  assert.is(m.data.delete_version_after, '3h25m19s');
  const r = await vault.read('secret/data/meta');
  assert.equal(r.data.metadata.custom_metadata, { owner: 'team-a' });
  assert.ok(r.data.metadata.deletion_time !== '', 'delete_version_after sets a deletion time');
  await vault.update('secret/metadata/meta', { custom_metadata: { env: 'prod' } });
  assert.equal((await vault.read('secret/metadata/meta')).data.custom_metadata, { owner: 'team-a', env: 'prod' });
  await vault.delete('secret/metadata/meta');
  assert.is((await vaultError(vault.read('secret/metadata/meta'))).status, 404);
  assert.is((await vaultError(vault.read('secret/data/meta'))).status, 404);
});

test('kv v2: list via LIST and ?list=true; folders end in /; empty list is 404 {"errors":[]}', async () => {
  await vault.write('secret/data/dir/a', { data: { v: '1' } });
  await vault.write('secret/data/dir/sub/b', { data: { v: '1' } });
  const l = await vault.list('secret/metadata/dir');
  assert.equal(l.data.keys, ['a', 'sub/']);
  const viaGet = await fetch(`${store.addr}/v1/secret/metadata/dir?list=true`, { headers: { 'X-Vault-Token': store.rootToken } });
  assert.equal(((await viaGet.json()) as any).data.keys, ['a', 'sub/']);
  const gl = vaultClient(store.addr, store.rootToken);
  gl.noCustomHTTPVerbs = true;
  assert.equal((await gl.list('secret/metadata/dir/')).data.keys, ['a', 'sub/']);
  const empty = await vaultError(vault.list('secret/metadata/empty-dir'));
  assert.is(empty.status, 404);
  assert.equal(empty.body, { errors: [] });
  const onData = await vaultError(vault.list('secret/data/dir'));
  assert.is(onData.status, 405);
});

test('kv v2: delete_version_after deletes versions on time', async () => {
  await vault.write('secret/metadata/short', { delete_version_after: '1s' });
  await vault.write('secret/data/short', { data: { a: '1' } });
  assert.is((await vault.read('secret/data/short')).data.data.a, '1');
  await new Promise((r) => setTimeout(r, 1200));
  const e = await vaultError(vault.read('secret/data/short'));
  assert.is(e.status, 404);
  assert.is(e.body.data.data, null);
});

test('kv v2: subkeys and config', async () => {
  await vault.write('secret/data/sk', { data: { a: '1', b: { c: '2' } } });
  const sk = await vault.read('secret/subkeys/sk');
  assert.equal(sk.data.subkeys, { a: null, b: { c: null } });
  const cfg = await vault.read('secret/config');
  assert.equal(cfg.data, { cas_required: false, delete_version_after: '0s', max_versions: 0 });
  await vault.write('secret/config', { max_versions: 5 });
  assert.is((await vault.read('secret/config')).data.max_versions, 5);
  await vault.write('secret/config', { max_versions: 0 });
});

test('kv v2: a path outside data/metadata/... is 404 unsupported path', async () => {
  const e = await vaultError(vault.read('secret/app-1'));
  assert.is(e.status, 404);
  assert.match(e.message, /unsupported path/);
});

test('kv v1: mount, write (whole map replaced), read with lease, list, delete, unmount', async () => {
  await vault.mount({ mount_point: 'kv1', type: 'kv', options: { version: '1' } });
  assert.is(await vault.write('kv1/app/db', { user: 'u', password: 'p' }), '');
  await vault.write('kv1/app/db', { password: 'p2' });
  const r = await vault.read('kv1/app/db');
  assert.equal(r.data, { password: 'p2' });
  assert.is(r.lease_duration, 2764800);
  await vault.write('kv1/app/ttl', { v: 'x', ttl: '1h' });
  assert.is((await vault.read('kv1/app/ttl')).lease_duration, 3600);
  assert.equal((await vault.list('kv1/app')).data.keys, ['db', 'ttl']);
  assert.equal((await vault.list('kv1/')).data.keys, ['app/']);
  await vault.delete('kv1/app/db');
  const gone = await vaultError(vault.read('kv1/app/db'));
  assert.is(gone.status, 404);
  assert.equal(gone.body, { errors: [] });
  const empty = await vaultError(vault.write('kv1/app/empty', {}));
  assert.is(empty.status, 400);
  await vault.unmount({ mount_point: 'kv1' });
  const after = await vaultError(vault.read('kv1/app/ttl'));
  assert.is(after.status, 404);
  assert.match(after.message, /no handler for route "kv1\/app\/ttl"/);
});

test('kv: a second v2 mount and upgrade of a v1 mount via tune', async () => {
  await vault.mount({ mount_point: 'team', type: 'kv-v2' });
  await vault.write('team/data/x', { data: { a: '1' } });
  assert.is((await vault.read('team/data/x')).data.data.a, '1');
  await vault.mount({ mount_point: 'legacy', type: 'kv', options: { version: '1' } });
  await vault.write('legacy/k', { a: 'old' });
  await vault.write('sys/mounts/legacy/tune', { options: { version: '2' } });
  assert.is((await vault.read('legacy/data/k')).data.data.a, 'old');
  assert.is((await vault.read('sys/mounts/legacy')).data.options.version, '2');
});

test('kv v2: metadata validation and edge cases as the plugin has them', async () => {
  const long = await vaultError(vault.write('secret/metadata/cm', { custom_metadata: { k: 'x'.repeat(513) } }));
  assert.is(long.status, 400);
  assert.is(long.message, '1 error occurred:\n\t* custom_metadata validation failed: length of value for key "k" is 513 but must be 0 < len(value) <= 512\n\n');
  assert.is(await vault.write('secret/metadata/nothing', {}), '');
  assert.is((await vaultError(vault.read('secret/metadata/nothing'))).status, 404, 'an empty metadata write creates nothing');
  await vault.write('secret/metadata/cm', { custom_metadata: { n: 1 } });
  assert.equal((await vault.read('secret/metadata/cm')).data.custom_metadata, { n: '1' });
  await vault.write('secret/data/pd', { data: { a: '1' } });
  await vault.delete('secret/data/pd');
  const patched = await vaultError(vault.update('secret/data/pd', { data: { a: '2' } }));
  assert.is(patched.status, 404);
  assert.is(patched.body.data.version, 1);
  assert.ok(patched.body.data.deletion_time !== '');
  const trailing = await vaultError(vault.read('secret/data/dir/'));
  assert.is(trailing.status, 404);
});

test('cubbyhole: private per token, gone with the token', async () => {
  const a = (await vault.write('auth/token/create', { policies: ['default'] })).auth.client_token;
  const b = (await vault.write('auth/token/create', { policies: ['default'] })).auth.client_token;
  const ca = vaultClient(store.addr, a);
  const cb = vaultClient(store.addr, b);
  await ca.write('cubbyhole/note', { v: 'mine' });
  assert.is((await ca.read('cubbyhole/note')).data.v, 'mine');
  assert.is((await vaultError(cb.read('cubbyhole/note'))).status, 404);
  assert.equal((await ca.list('cubbyhole/')).data.keys, ['note']);
  await ca.write('auth/token/revoke-self', {});
  assert.is((await vaultError(cb.list('cubbyhole/'))).status, 404);
});

test('kv v2: null fields in a metadata write change nothing (clients that send every field)', async () => {
  await vault.write('secret/metadata/nulls', { custom_metadata: { a: 'b' }, max_versions: 3 });
  await vault.write('secret/metadata/nulls', { custom_metadata: null, max_versions: null, cas_required: null, delete_version_after: null });
  const m = await vault.read('secret/metadata/nulls');
  assert.equal(m.data.custom_metadata, { a: 'b' });
  assert.is(m.data.max_versions, 3);
});

test.run();
