import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { VaultError } from '../../../lib/errors.js';
import { createVaultClient } from '../../../lib/vault/client.js';
import { mergeIntoSecret, readSecret, resolveKvMount, updateSecret } from '../../../lib/vault/kv.js';
import { KV_MOUNT_CACHE_TTL_MS, resolveKvMountCached } from '../../../lib/vault/kv-mount-cache.js';
import { storeSuite } from '../../helpers/store.js';

/**
 * lib/vault's own HTTP client (no node-vault) against the real embedded store over HTTP, and
 * against small hostile servers on 127.0.0.1: Vault's error texts kept, timeouts bounded,
 * non-JSON answers refused; KV v2 check-and-set merges in one GET per attempt.
 */
const test = suite('lib/vault client and KV updates');
const { store } = storeSuite(test);

const root = () => createVaultClient({ addr: store.addr, token: store.rootToken, timeoutMs: 5000 });

/**
 * The store's audit log lines (method and path) written since `from` bytes. No wait: the store
 * writes a request's line before answering it, so the log read after an answer holds exactly the
 * requests answered, at the start of the slice as at its end.
 */
async function auditSince(from: number): Promise<string[]> {
  const text = (await readFile(store.auditLog, 'utf8')).slice(from);
  return text.split('\n').filter(Boolean).map((l) => {
    const r = JSON.parse(l) as { method: string; path: string };
    return `${r.method} ${r.path}`;
  });
}

test('Vault errors keep their status, failure and message; a 204 is an empty envelope', async () => {
  const vault = root();
  const err = await vault.request('GET', 'secret/data/nope/missing').then(() => undefined, (e) => e);
  assert.instance(err, VaultError);
  assert.is(err.status, 404);
  assert.is(err.failure, 'not_found');
  const denied = await vault.withToken('hvs.not-a-token').request('GET', 'secret/data/x').then(() => undefined, (e) => e);
  assert.instance(denied, VaultError);
  assert.is(denied.status, 403);
  assert.is(denied.failure, 'forbidden');
  assert.match(denied.message, /permission denied/);
  const none = await vault.request('POST', 'sys/policies/acl/client-kv-test', { body: { policy: 'path "secret/data/x" { capabilities = ["read"] }' } });
  assert.equal(none, {});
});

test('updateSecret merges with one data GET per attempt, also over a deleted latest version', async () => {
  const vault = root();
  const mount = await resolveKvMount(vault, 'secret/client-kv/app');
  assert.equal(mount, { mount: 'secret/', version: 2 });
  const from = (await readFile(store.auditLog, 'utf8')).length;
  await updateSecret(vault, mount, 'secret/client-kv/app', (cur) => ({ ...cur, a: '1' }));
  await updateSecret(vault, mount, 'secret/client-kv/app', (cur) => ({ ...cur, b: '2' }));
  const lines = await auditSince(from);
  assert.equal(lines, ['GET secret/data/client-kv/app', 'POST secret/data/client-kv/app', 'GET secret/data/client-kv/app', 'POST secret/data/client-kv/app']);
  assert.equal((await readSecret(vault, mount, 'secret/client-kv/app')).data, { a: '1', b: '2' });
  // Soft-delete the latest version: the next merge starts from nothing, checked against version 2.
  await vault.request('DELETE', 'secret/data/client-kv/app');
  const res = await updateSecret(vault, mount, 'secret/client-kv/app', (cur) => ({ ...cur, c: '3' }));
  assert.is(res.version, 3);
  assert.equal((await readSecret(vault, mount, 'secret/client-kv/app')).data, { c: '3' });
});

test('concurrent merges lose no key (check-and-set retried)', async () => {
  const vault = root();
  const mount = await resolveKvMount(vault, 'secret/client-kv/race');
  await Promise.all(Array.from({ length: 8 }, (_, i) => updateSecret(vault, mount, 'secret/client-kv/race', (cur) => ({ ...cur, [`k${i}`]: String(i) }))));
  const data = (await readSecret(vault, mount, 'secret/client-kv/race')).data;
  assert.equal(Object.keys(data).sort(), ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7']);
});

/** A server on 127.0.0.1 that answers every request with `handler`. */
async function hostile(handler: Parameters<typeof createServer>[1]): Promise<{ addr: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { addr: `http://127.0.0.1:${port}`, server };
}

test('a Vault that never answers times out within the bound; a non-JSON or oversized answer is refused', async () => {
  const silent = await hostile(() => undefined);
  const notJson = await hostile((_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('<html>proxy error</html>'));
  const endless = await hostile((_req, res) => {
    res.writeHead(200);
    const chunk = Buffer.alloc(1024 * 1024, 'a');
    let sent = 0;
    const pump = () => {
      while (sent < 80 && res.write(chunk)) sent++;
      if (sent < 80) res.once('drain', pump);
      else res.end();
    };
    pump();
  });
  try {
    const started = Date.now();
    const slow = await createVaultClient({ addr: silent.addr, token: 't', timeoutMs: 300 }).request('GET', 'secret/data/x').then(() => undefined, (e) => e);
    assert.instance(slow, VaultError);
    assert.is(slow.failure, 'timeout');
    assert.ok(Date.now() - started < 3000, 'the deadline bounds the request');
    const bad = await createVaultClient({ addr: notJson.addr, token: 't' }).request('GET', 'secret/data/x').then(() => undefined, (e) => e);
    assert.instance(bad, VaultError);
    assert.match(bad.message, /not JSON/);
    const big = await createVaultClient({ addr: endless.addr, token: 't', timeoutMs: 20_000 }).request('GET', 'secret/data/x').then(() => undefined, (e) => e);
    assert.instance(big, VaultError);
    assert.match(big.message, /larger than/);
  } finally {
    for (const s of [silent, notJson, endless]) {
      s.server.closeAllConnections();
      s.server.close();
    }
  }
});

test('an address nobody listens on is unreachable, with the hint', async () => {
  const err = await createVaultClient({ addr: 'http://127.0.0.1:1', token: 't' }).request('GET', 'sys/health').then(() => undefined, (e) => e);
  assert.instance(err, VaultError);
  assert.is(err.failure, 'unreachable');
  assert.match(err.hint ?? '', /doctor/);
});

test('a KV mount is asked once within the TTL for every path in it, again after it; the cache file is 0600 and a broken one is ignored', async () => {
  const vault = root();
  await vault.request('POST', 'sys/mounts/cache-kv1', { body: { type: 'kv', options: { version: '1' } } });
  const dir = await mkdtemp(join(tmpdir(), 'secretfs-kvcache-'));
  const file = join(dir, 'run', 'kv-mounts.json');
  try {
    const lookups = async (fn: () => Promise<unknown>) => {
      const from = (await readFile(store.auditLog, 'utf8')).length;
      await fn();
      return (await auditSince(from)).filter((l) => l.includes('sys/internal/ui/mounts'));
    };
    const t0 = Date.now();
    assert.equal(await lookups(() => resolveKvMountCached(vault, 'secret/cache/a', file, t0)), ['GET sys/internal/ui/mounts/secret/cache/a']);
    assert.equal(await lookups(() => resolveKvMountCached(vault, 'secret/cache/a', file, t0 + 1000)), []);
    assert.equal(await resolveKvMountCached(vault, 'secret/cache/a', file, t0 + 1000), { mount: 'secret/', version: 2 });
    // Another path of the same mount, and the mount itself (`ls secret`), need no look-up.
    assert.equal(await lookups(() => resolveKvMountCached(vault, 'secret/cache/b/c', file, t0 + 1000)), []);
    assert.equal(await resolveKvMountCached(vault, 'secret', file, t0 + 1000), { mount: 'secret/', version: 2 });
    // Another mount is its own entry, whose name starts like the first's; both are remembered.
    assert.equal(await lookups(() => resolveKvMountCached(vault, 'cache-kv1/app', file, t0 + 2000)), ['GET sys/internal/ui/mounts/cache-kv1/app']);
    assert.equal(await resolveKvMountCached(vault, 'cache-kv1/other', file, t0 + 2000), { mount: 'cache-kv1/', version: 1 });
    assert.equal(await lookups(() => resolveKvMountCached(vault, 'secret/cache/a', file, t0 + 2000)), []);
    // A path that only starts with a remembered mount's name is not in it: Vault is asked (and refuses).
    let err: unknown;
    assert.equal(await lookups(async () => (err = await resolveKvMountCached(vault, 'secretx/app', file, t0 + 2000).then(() => undefined, (e) => e))), ['GET sys/internal/ui/mounts/secretx/app']);
    assert.instance(err, VaultError);
    // Another Vault namespace is its own entry.
    const namespaced = createVaultClient({ addr: store.addr, token: store.rootToken, namespace: 'team-a' });
    assert.equal((await lookups(() => resolveKvMountCached(namespaced, 'secret/cache/a', file, t0 + 2000).catch(() => undefined))).length, 1);
    // After the TTL the mount is asked again.
    assert.equal(await lookups(() => resolveKvMountCached(vault, 'secret/cache/b', file, t0 + KV_MOUNT_CACHE_TTL_MS + 1)), ['GET sys/internal/ui/mounts/secret/cache/b']);
    assert.is((await stat(file)).mode & 0o777, 0o600);
    assert.not.match(await readFile(file, 'utf8'), new RegExp(store.rootToken));
    await writeFile(file, '{"mounts": [{"addr": "x", "mount": "evil", "version": 3, "at": 1}], not json');
    assert.equal(await resolveKvMountCached(vault, 'secret/cache/a', file), { mount: 'secret/', version: 2 });
    // An entry of another shape is ignored, not trusted.
    await writeFile(file, JSON.stringify({ mounts: [{ addr: store.addr, namespace: '', mount: 'secret/', version: 1, at: 'now' }] }));
    assert.equal(await resolveKvMountCached(vault, 'secret/cache/a', file), { mount: 'secret/', version: 2 });
  } finally {
    await vault.request('DELETE', 'sys/mounts/cache-kv1');
    await rm(dir, { recursive: true, force: true });
  }
});

test('mergeIntoSecret: one PATCH on KV v2 for an existing secret; a new or deleted one, values a merge patch would change, and KV v1 take the read and check-and-set write', async () => {
  const vault = root();
  const mount = await resolveKvMount(vault, 'secret/client-kv/merge');
  const requests = async (fn: () => Promise<unknown>) => {
    const from = (await readFile(store.auditLog, 'utf8')).length;
    const result = await fn();
    return { result, lines: await auditSince(from) };
  };
  const path = 'secret/client-kv/merge';
  // No secret yet: the PATCH answers 404 and changes nothing; the read and the create follow.
  const created = await requests(() => mergeIntoSecret(vault, mount, path, { a: '1' }));
  assert.equal(created.lines, [`PATCH secret/data/client-kv/merge`, `GET secret/data/client-kv/merge`, `POST secret/data/client-kv/merge`]);
  assert.equal(created.result, { version: 1 });
  const patched = await requests(() => mergeIntoSecret(vault, mount, path, { b: '2', a: 'one' }));
  assert.equal(patched.lines, ['PATCH secret/data/client-kv/merge']);
  assert.equal(patched.result, { version: 2 });
  assert.equal((await readSecret(vault, mount, path)).data, { a: 'one', b: '2' });
  // An object value would be merged into the stored one and a null would remove its key: a shallow merge instead.
  await mergeIntoSecret(vault, mount, path, { c: { x: '1', y: '2' } });
  const nested = await requests(() => mergeIntoSecret(vault, mount, path, { c: { x: '3' }, d: null }));
  assert.equal(nested.lines, ['GET secret/data/client-kv/merge', 'POST secret/data/client-kv/merge']);
  assert.equal((await readSecret(vault, mount, path)).data, { a: 'one', b: '2', c: { x: '3' }, d: null });
  // Soft-deleted latest version: PATCH 404s, the merge starts from nothing against that version.
  await vault.request('DELETE', 'secret/data/client-kv/merge');
  const afterDelete = await requests(() => mergeIntoSecret(vault, mount, path, { e: '5' }));
  assert.equal(afterDelete.lines, ['PATCH secret/data/client-kv/merge', 'GET secret/data/client-kv/merge', 'POST secret/data/client-kv/merge']);
  assert.equal((await readSecret(vault, mount, path)).data, { e: '5' });
  // A token that may read and write but not patch: PATCH is refused (403), the read and write succeed.
  await vault.request('POST', 'sys/policies/acl/client-kv-nopatch', { body: { policy: 'path "secret/data/client-kv/merge" { capabilities = ["read", "create", "update"] }' } });
  const token = (await vault.request('POST', 'auth/token/create', { body: { policies: ['client-kv-nopatch'], ttl: '5m' } })).auth!.client_token;
  const noPatch = await requests(() => mergeIntoSecret(vault.withToken(token), mount, path, { f: '6' }));
  assert.equal(noPatch.lines, ['PATCH secret/data/client-kv/merge', 'GET secret/data/client-kv/merge', 'POST secret/data/client-kv/merge']);
  assert.equal((await readSecret(vault, mount, path)).data, { e: '5', f: '6' });
  // A token that may do nothing there: the read's error, as before the PATCH existed.
  const none = createVaultClient({ addr: store.addr, token: 'hvs.not-a-token' });
  const denied = await mergeIntoSecret(none, mount, path, { g: '7' }).then(() => undefined, (e) => e);
  assert.instance(denied, VaultError);
  assert.is(denied.status, 403);
  assert.match(denied.message, /^Vault GET secret\/data\/client-kv\/merge: .*permission denied/);
  // KV v1 has no PATCH: the plain read and write.
  await vault.request('POST', 'sys/mounts/merge-kv1', { body: { type: 'kv', options: { version: '1' } } });
  try {
    const v1 = await resolveKvMount(vault, 'merge-kv1/app');
    await mergeIntoSecret(vault, v1, 'merge-kv1/app', { a: '1' });
    const kv1 = await requests(() => mergeIntoSecret(vault, v1, 'merge-kv1/app', { b: '2' }));
    assert.equal(kv1.lines, ['GET merge-kv1/app', 'POST merge-kv1/app']);
    assert.equal((await readSecret(vault, v1, 'merge-kv1/app')).data, { a: '1', b: '2' });
  } finally {
    await vault.request('DELETE', 'sys/mounts/merge-kv1');
  }
});

test.run();
