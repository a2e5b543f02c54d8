import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { storeSuite, vaultClient, vaultError } from '../../helpers/store.js';

/**
 * ACL enforcement over HTTP: (policy, operation) -> allowed or 403, with real tokens, so the
 * operation-to-capability mapping (create vs update by existence, KV v2 paths) is tested end to end.
 */
const test = suite('localvault ACL enforcement over HTTP');
const { store, vault: root } = storeSuite(test, async (_store, root) => {
  await root.write('secret/data/acl/existing', { data: { v: '1' } });
  await root.mount({ mount_point: 'v1', type: 'kv', options: { version: '1' } });
  await root.write('v1/acl/existing', { v: '1' });
});

let n = 0;
async function clientWith(policy: string): Promise<any> {
  const name = `acl-${++n}`;
  await root.write(`sys/policies/acl/${name}`, { policy });
  const t = await root.write('auth/token/create', { policies: [name], no_default_policy: true });
  return vaultClient(store.addr, t.auth.client_token);
}
const p = (path: string, caps: string[]) => `path "${path}" { capabilities = ${JSON.stringify(caps)} }\n`;

type Op = (c: any) => Promise<unknown>;
const read = (path: string): Op => (c) => c.read(path);
const write = (path: string, body: unknown): Op => (c) => c.write(path, body);
const patch = (path: string, body: unknown): Op => (c) => c.update(path, body);
const del = (path: string): Op => (c) => c.delete(path);
const list = (path: string): Op => (c) => c.list(path);

const ROWS: Array<{ name: string; policy: string; op: Op; allowed: boolean }> = [
  { name: 'kv2 read with read on data/', policy: p('secret/data/acl/*', ['read']), op: read('secret/data/acl/existing'), allowed: true },
  { name: 'kv2 read with read on metadata/ only', policy: p('secret/metadata/acl/*', ['read']), op: read('secret/data/acl/existing'), allowed: false },
  { name: 'kv2 new key needs create', policy: p('secret/data/acl/*', ['create']), op: write('secret/data/acl/new-1', { data: { a: '1' } }), allowed: true },
  { name: 'kv2 new key with update only', policy: p('secret/data/acl/*', ['update']), op: write('secret/data/acl/new-2', { data: { a: '1' } }), allowed: false },
  { name: 'kv2 existing key needs update', policy: p('secret/data/acl/*', ['update']), op: write('secret/data/acl/existing', { data: { v: '2' } }), allowed: true },
  { name: 'kv2 existing key with create only', policy: p('secret/data/acl/*', ['create']), op: write('secret/data/acl/existing', { data: { v: '3' } }), allowed: false },
  { name: 'kv2 patch needs patch', policy: p('secret/data/acl/*', ['patch']), op: patch('secret/data/acl/existing', { data: { w: '1' } }), allowed: true },
  { name: 'kv2 patch with update only', policy: p('secret/data/acl/*', ['update', 'create', 'read']), op: patch('secret/data/acl/existing', { data: { w: '2' } }), allowed: false },
  { name: 'kv2 soft delete needs delete on data/', policy: p('secret/data/acl/*', ['delete']), op: del('secret/data/acl/never'), allowed: true },
  { name: 'kv2 list needs list on metadata/', policy: p('secret/metadata/acl/*', ['list']), op: list('secret/metadata/acl/'), allowed: true },
  { name: 'kv2 list with list on data/ only', policy: p('secret/data/acl/*', ['list', 'read']), op: list('secret/metadata/acl/'), allowed: false },
  { name: 'kv2 list of the exact dir path', policy: p('secret/metadata/acl', ['list']), op: list('secret/metadata/acl'), allowed: true },
  { name: 'kv2 undelete needs update on undelete/', policy: p('secret/undelete/acl/*', ['update']), op: write('secret/undelete/acl/existing', { versions: [1] }), allowed: true },
  { name: 'kv2 destroy with update on data/ only', policy: p('secret/data/acl/*', ['update', 'create']), op: write('secret/destroy/acl/existing', { versions: [1] }), allowed: false },
  { name: 'kv2 metadata read', policy: p('secret/metadata/acl/*', ['read']), op: read('secret/metadata/acl/existing'), allowed: true },
  { name: 'kv2 metadata delete needs delete on metadata/', policy: p('secret/metadata/acl/*', ['read']), op: del('secret/metadata/acl/existing'), allowed: false },
  { name: 'kv1 new key needs create', policy: p('v1/acl/*', ['create']), op: write('v1/acl/new', { a: '1' }), allowed: true },
  { name: 'kv1 existing key with create only', policy: p('v1/acl/*', ['create']), op: write('v1/acl/existing', { a: '1' }), allowed: false },
  { name: 'kv1 existing key with update', policy: p('v1/acl/*', ['update']), op: write('v1/acl/existing', { a: '2' }), allowed: true },
  { name: 'deny wins over a grant on the same path in another stanza set', policy: p('secret/data/acl/existing', ['read']) + p('secret/data/acl/existing', ['deny']), op: read('secret/data/acl/existing'), allowed: false },
  { name: 'exact deny beats a glob grant', policy: p('secret/data/acl/*', ['read']) + p('secret/data/acl/existing', ['deny']), op: read('secret/data/acl/existing'), allowed: false },
  { name: '+ segment grant', policy: p('secret/data/+/existing', ['read']), op: read('secret/data/acl/existing'), allowed: true },
  { name: 'sys/mounts needs read on sys/mounts', policy: p('sys/mounts', ['read']), op: (c) => c.mounts(), allowed: true },
  { name: 'enabling a mount needs update on sys/mounts/<path>', policy: p('sys/mounts', ['read']), op: (c) => c.mount({ mount_point: 'nope', type: 'kv' }), allowed: false },
  { name: 'policy write needs update on sys/policies/acl/<name>', policy: p('sys/policies/acl/*', ['update']), op: write('sys/policies/acl/mine', { policy: 'path "a" { capabilities = ["read"] }' }), allowed: true },
  { name: 'revoke-orphan needs sudo', policy: p('auth/token/revoke-orphan', ['update']), op: write('auth/token/revoke-orphan', { token: 'x' }), allowed: false },
  { name: 'unmounted path for a non-root token is 403, not 404', policy: p('secret/*', ['read']), op: read('nomount/x'), allowed: false },
];

for (const row of ROWS) {
  test(`acl over http: ${row.name}`, async () => {
    const c = await clientWith(row.policy);
    if (row.allowed) {
      await row.op(c);
    } else {
      const e = await vaultError(row.op(c));
      assert.is(e.status, 403);
      assert.is(e.message, '1 error occurred:\n\t* permission denied\n\n');
    }
  });
}

test('a deleted policy acts as an empty one; a rewritten policy applies at once', async () => {
  await root.write('sys/policies/acl/live', { policy: p('secret/data/acl/*', ['read']) });
  const t = await root.write('auth/token/create', { policies: ['live'] });
  const c = vaultClient(store.addr, t.auth.client_token);
  await c.read('secret/data/acl/existing');
  await root.write('sys/policies/acl/live', { policy: p('secret/data/other/*', ['read']) });
  assert.is((await vaultError(c.read('secret/data/acl/existing'))).status, 403);
  await root.write('sys/policies/acl/live', { policy: p('secret/data/acl/*', ['read']) });
  await c.read('secret/data/acl/existing');
  await root.delete('sys/policies/acl/live');
  assert.is((await vaultError(c.read('secret/data/acl/existing'))).status, 403);
});

test('parameter constraints are enforced on writes (KV v1)', async () => {
  const c = await clientWith('path "v1/params/*" { capabilities = ["create", "update"] allowed_parameters = { "env" = ["dev", "qa-*"] "note" = [] } }');
  await c.write('v1/params/a', { env: 'qa-1', note: 'x' });
  const bad = await vaultError(c.write('v1/params/b', { env: 'prod' }));
  assert.is(bad.status, 403);
  const extra = await vaultError(c.write('v1/params/c', { env: 'dev', other: '1' }));
  assert.is(extra.status, 403);
});

test('listed keys are not filtered by policy', async () => {
  await root.write('secret/data/acl/hidden', { data: { v: '1' } });
  const c = await clientWith(p('secret/metadata/acl/', ['list']));
  const keys = (await c.list('secret/metadata/acl')).data.keys;
  assert.ok(keys.includes('hidden'));
});

test.run();
