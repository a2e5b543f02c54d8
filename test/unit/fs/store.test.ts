import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { VaultError } from '../../../lib/errors.js';
import { MemorySource } from '../../helpers/memory-source.js';
import { createSecretStore } from '../../../lib/fs/store.js';

const test = suite('fs/store');

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test('a value is reused within cache_ttl and re-read after it', async () => {
  const src = new MemorySource('secret/a', { '': { k: 'v1' } });
  const c = clock();
  const store = createSecretStore(src, { cacheTtlMs: 2000, now: c.now });
  assert.is((await store.readSecret('')).data.k, 'v1');
  src.put('', { k: 'v2' });
  c.advance(1999);
  assert.is((await store.readSecret('')).data.k, 'v1');
  c.advance(1);
  assert.is((await store.readSecret('')).data.k, 'v2');
  assert.is(src.reads, 2);
  assert.is(store.stats().vaultReads, 2);
});

test('single-flight: 100 concurrent misses cause one source read', async () => {
  const src = new MemorySource('secret/a', { '': { k: 'v' } });
  src.delayMs = 20;
  const store = createSecretStore(src, { cacheTtlMs: 2000 });
  const all = await Promise.all(Array.from({ length: 100 }, () => store.readSecret('')));
  assert.ok(all.every((s) => s.data.k === 'v'));
  assert.is(src.reads, 1);
});

test('a source call that hangs fails with a timeout', async () => {
  const src = new MemorySource('secret/a', { '': { k: 'v' } });
  src.delayMs = 500;
  const store = createSecretStore(src, { cacheTtlMs: 0, timeoutMs: 50 });
  const started = Date.now();
  try {
    await store.readSecret('');
    assert.unreachable();
  } catch (err) {
    assert.instance(err, VaultError);
    assert.is((err as VaultError).failure, 'timeout');
  }
  assert.ok(Date.now() - started < 400);
});

test('mtime (changedAt) moves only when the content changes', async () => {
  const src = new MemorySource('secret/a', { '': { k: 'v1' } });
  const c = clock();
  const store = createSecretStore(src, { cacheTtlMs: 10, now: c.now });
  const first = (await store.readSecret('')).changedAt;
  c.advance(100);
  assert.is((await store.readSecret('')).changedAt, first);
  src.put('', { k: 'v2' });
  c.advance(100);
  const second = (await store.readSecret('')).changedAt;
  assert.ok(second > first);
});

test('KV v2: mtime moves with the version and its creation time, not with a re-read of the same version', async () => {
  // A source that answers as KV v2 does: data, version, created_time.
  let answer = { data: { k: 'v1' } as Record<string, unknown>, version: 1, createdTime: '2026-01-01T00:00:00.000000001Z' };
  let reads = 0;
  const src = { name: 'secret/v2', read: async () => (reads++, structuredClone(answer)), list: async () => [] };
  const c = clock();
  const store = createSecretStore(src, { cacheTtlMs: 10, now: c.now });
  const first = (await store.readSecret('')).changedAt;
  c.advance(100);
  assert.is((await store.readSecret('')).changedAt, first, 'the same version read again');
  answer = { data: { k: 'v2' }, version: 2, createdTime: '2026-01-01T00:00:01.000000001Z' };
  c.advance(100);
  const second = (await store.readSecret('')).changedAt;
  assert.ok(second > first, 'a new version');
  // Deleted with its metadata and written again: version 1 once more, another creation time.
  answer = { data: { k: 'v3' }, version: 1, createdTime: '2026-01-01T00:00:02.000000001Z' };
  c.advance(100);
  assert.ok((await store.readSecret('')).changedAt > second, 'a recreated secret at version 1');
  assert.is(reads, 4);
});

test('not_found and forbidden are cached for cache_ttl too', async () => {
  const src = new MemorySource('secret/a');
  const c = clock();
  const store = createSecretStore(src, { cacheTtlMs: 1000, now: c.now });
  for (let i = 0; i < 3; i++) await store.readSecret('').catch(() => {});
  assert.is(src.reads, 1);
  assert.is(store.peekSecret(''), 'missing');
  c.advance(1000);
  await store.readSecret('').catch(() => {});
  assert.is(src.reads, 2);
});

test('stale_if_error serves the last good value on unreachable, timeout and 5xx, within its age', async () => {
  for (const failure of ['unreachable', 'timeout', 'server'] as const) {
    const src = new MemorySource('secret/a', { '': { k: 'good' } });
    const c = clock();
    const store = createSecretStore(src, { cacheTtlMs: 1000, staleIfErrorMs: 60_000, now: c.now });
    await store.readSecret('');
    src.fail(failure);
    c.advance(30_000);
    const s = await store.readSecret('');
    assert.is(s.data.k, 'good', failure);
    assert.ok(s.stale);
    c.advance(31_000);
    await store.readSecret('').then(() => assert.unreachable(), (err) => assert.is((err as VaultError).failure, failure));
  }
});

test('without stale_if_error an unreachable Vault is an error', async () => {
  const src = new MemorySource('secret/a', { '': { k: 'good' } });
  const c = clock();
  const store = createSecretStore(src, { cacheTtlMs: 1000, now: c.now });
  await store.readSecret('');
  src.fail('unreachable');
  c.advance(1000);
  await store.readSecret('').then(() => assert.unreachable(), (err) => assert.is((err as VaultError).failure, 'unreachable'));
});

test('stale_if_error never serves after a 403 or a 404', async () => {
  for (const refusal of ['forbidden', 'not_found'] as const) {
    const src = new MemorySource('secret/a', { '': { k: 'good' } });
    const c = clock();
    const store = createSecretStore(src, { cacheTtlMs: 1000, staleIfErrorMs: 60_000, now: c.now });
    await store.readSecret('');
    src.fail(refusal);
    c.advance(1000);
    await store.readSecret('').then(() => assert.unreachable(), (err) => assert.is((err as VaultError).failure, refusal));
    src.fail('unreachable');
    c.advance(1000);
    await store.readSecret('').then(() => assert.unreachable(), (err) => assert.is((err as VaultError).failure, 'unreachable', refusal));
  }
});

test('listChildren: every listed secret and folder is a sub-path, without slashes, cached', async () => {
  const src = new MemorySource('secret/a', { '': { k: 'v' }, db: { p: 'x' }, 'db/replica': { p: 'y' }, 'nested/deep': { q: 'y' } });
  const store = createSecretStore(src, { cacheTtlMs: 1000 });
  assert.equal((await store.listChildren('')).sort(), ['db', 'nested']);
  await store.listChildren('');
  assert.is(src.lists, 1);
  assert.equal(store.peekChildren('')?.sort(), ['db', 'nested']);
});

test.run();
