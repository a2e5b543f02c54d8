import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm, stat, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DATA_FILE, KEY_FILE, openDocument, openStoreKey, sealDocument } from '../../../lib/localvault/storage.js';
import { ENGINE_FILE, Engine, openRecord, sealRecord } from '../../../lib/localvault/engine.js';
import { allRecordKeys, buildState, recordValue } from '../../../lib/localvault/records.js';
import { Core } from '../../../lib/localvault/core.js';
import { newState, serializeState, deserializeState } from '../../../lib/localvault/state.js';
import { StoreError } from '../../../lib/errors.js';

const test = suite('localvault storage: sealed records, the engine, the key file, migration');
let dir = '';
test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lv-storage-'));
});
test.after.each(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a sealed record opens under its own key only; the ciphertext hides the value', () => {
  const key = randomBytes(32);
  const blob = sealRecord(key, 'kv1/u/a', { password: 'canary-plaintext-123' });
  assert.not.ok(blob.toString('latin1').includes('canary-plaintext-123'));
  assert.equal(openRecord(key, 'kv1/u/a', blob), { password: 'canary-plaintext-123' });
  assert.throws(() => openRecord(key, 'kv1/u/b', blob), 'moved to another record key');
  assert.throws(() => openRecord(randomBytes(32), 'kv1/u/a', blob), 'another store key');
});

test('any flipped byte of a sealed record, or a truncated one, is refused', () => {
  const key = randomBytes(32);
  const blob = sealRecord(key, 'token/h', { a: 'x'.repeat(40) });
  for (let i = 0; i < blob.length; i++) {
    const flipped = Buffer.from(blob);
    flipped[i] ^= 0x01;
    assert.throws(() => openRecord(key, 'token/h', flipped), `byte ${i}`);
  }
  assert.throws(() => openRecord(key, 'token/h', blob.subarray(0, 20)));
});

test('the legacy document format: round-trip; a flipped byte, truncation, a wrong key or a foreign file are refused with StoreError', () => {
  const key = randomBytes(32);
  const blob = sealDocument(key, 'x'.repeat(100));
  assert.is(openDocument(key, blob, 'f'), 'x'.repeat(100));
  const flipped = Buffer.from(blob);
  flipped[flipped.length - 1] ^= 1;
  for (const bad of [flipped, blob.subarray(0, blob.length - 10), blob.subarray(0, 10), Buffer.from('not ours at all, not ours at all, not ours')]) {
    assert.throws(() => openDocument(key, bad, 'f'), (e: unknown) => e instanceof StoreError && /damaged/.test((e as Error).message));
  }
  assert.throws(() => openDocument(randomBytes(32), blob, 'f'), (e: unknown) => e instanceof StoreError);
});

test('the engine: a 0700 directory, a 0600 key and 0600 database; commits are read back; nothing holds a value in clear', async () => {
  const storeDir = join(dir, 'store');
  const key = await openStoreKey(storeDir, [ENGINE_FILE]);
  assert.is((await stat(storeDir)).mode & 0o777, 0o700);
  assert.is((await stat(join(storeDir, KEY_FILE))).mode & 0o777, 0o600);
  const engine = Engine.open(storeDir, key);
  assert.ok(engine.isEmpty());
  engine.commit([['policy/p', 'path "canary-policy" {}'], ['policy/q', 'x']]);
  engine.commit([['policy/q', undefined]]);
  assert.is(engine.get('policy/p'), 'path "canary-policy" {}');
  assert.is(engine.get('policy/q'), undefined);
  await engine.close();
  assert.is((await stat(join(storeDir, ENGINE_FILE))).mode & 0o777, 0o600);
  for (const name of await readdir(storeDir)) {
    assert.not.ok((await readFile(join(storeDir, name), 'latin1')).includes('canary-policy'), `${name} holds the value`);
  }
  const again = Engine.open(storeDir, key);
  assert.equal(again.readAll(), [['policy/p', 'path "canary-policy" {}']]);
  await again.close();
});

test('a missing key file next to a database is refused', async () => {
  const storeDir = join(dir, 'store');
  const engine = Engine.open(storeDir, await openStoreKey(storeDir, [ENGINE_FILE]));
  await engine.close();
  await rm(join(storeDir, KEY_FILE));
  try {
    await openStoreKey(storeDir, [ENGINE_FILE, DATA_FILE]);
    assert.unreachable('should have thrown');
  } catch (err) {
    assert.instance(err, StoreError);
    assert.is((err as Error).message, `the store key file ${join(storeDir, KEY_FILE)} is missing but ${join(storeDir, ENGINE_FILE)} exists; refusing to start`);
  }
});

test('state survives records, including awkward keys (a KV key with slashes and "__proto__")', () => {
  const s = newState();
  const kv = [...s.kv.values()][0];
  if (kv.version !== 2) throw new Error('expected v2');
  const key = (data: unknown) => ({ cas_required: false, created_time: 't', current_version: 1, delete_version_after: 0, max_versions: 0, oldest_version: 0, updated_time: 't', custom_metadata: null, versions: new Map([[1, { created_time: 't', deletion_time: '', destroyed: false, data: data as Record<string, unknown> }]]) });
  kv.keys.set('__proto__', key({ a: 1 }));
  kv.keys.set('a/b/v/2/c', key({ b: 2 }));
  const back = buildState(allRecordKeys(s).map((k) => [k, JSON.parse(JSON.stringify(recordValue(s, k)))]))!;
  const kv2 = [...back.kv.values()][0];
  assert.ok(kv2.version === 2 && kv2.keys.get('__proto__')?.versions.get(1)?.data?.a === 1);
  assert.ok(kv2.version === 2 && kv2.keys.get('a/b/v/2/c')?.versions.get(1)?.data?.b === 2);
  assert.ok(back.hmacKey.equals(s.hmacKey));
  assert.is(serializeState(back), serializeState(deserializeState(serializeState(back))));
});

test('migration: the old encrypted data file is moved into the engine at first start, verified, then removed', async () => {
  const storeDir = join(dir, 'store');
  const key = await openStoreKey(storeDir, []);
  const old = newState();
  old.policies.set('default', 'path "x" {}');
  old.policies.set('keep', 'path "secret/data/keep" { capabilities = ["read"] }');
  const kv = old.kv.get(old.mounts.get('secret/')!.uuid)!;
  if (kv.version !== 2) throw new Error('expected v2');
  kv.keys.set('app', { cas_required: false, created_time: 't', current_version: 2, delete_version_after: 0, max_versions: 0, oldest_version: 0, updated_time: 't', custom_metadata: { owner: 'me' }, versions: new Map([[1, { created_time: 't', deletion_time: '', destroyed: true }], [2, { created_time: 't', deletion_time: '', destroyed: false, data: { password: 'migrated-canary' } }]]) });
  await writeFile(join(storeDir, DATA_FILE), sealDocument(key, serializeState(old)), { mode: 0o600 });
  const messages: string[] = [];
  const log = { info: (m: string) => messages.push(m), warn() {}, error() {} };
  const core = await Core.open({ dataDir: storeDir, log });
  try {
    assert.equal(messages, ['migrated the store data file into the store database']);
    const app = (core.state.kv.get(old.mounts.get('secret/')!.uuid) as typeof kv).keys.get('app')!;
    assert.equal(app.versions.get(2)?.data, { password: 'migrated-canary' });
    assert.is(app.versions.get(1)?.destroyed, true);
    assert.is(core.state.policies.get('keep'), old.policies.get('keep'));
    assert.ok(core.state.hmacKey.equals(old.hmacKey), 'existing tokens keep working: same HMAC key');
  } finally {
    await core.close();
  }
  assert.equal((await readdir(storeDir)).sort(), [ENGINE_FILE, KEY_FILE].sort(), 'the old data file is gone once verified');
});

test('migration refuses to start on a damaged old data file, naming it, and keeps it', async () => {
  const storeDir = join(dir, 'store');
  const key = await openStoreKey(storeDir, []);
  const blob = sealDocument(key, serializeState(newState()));
  blob[blob.length - 1] ^= 1;
  await writeFile(join(storeDir, DATA_FILE), blob, { mode: 0o600 });
  try {
    await Core.open({ dataDir: storeDir });
    assert.unreachable('should have thrown');
  } catch (err) {
    assert.instance(err, StoreError);
    assert.match((err as Error).message, new RegExp(`^the store data file ${join(storeDir, DATA_FILE)} is damaged`));
  }
  assert.ok((await readFile(join(storeDir, DATA_FILE))).equals(blob), 'kept as it was');
});

test('a stale temp file of an interrupted write is removed at start', async () => {
  const storeDir = join(dir, 'store');
  await (await Core.open({ dataDir: storeDir })).close();
  await writeFile(join(storeDir, '.store.data.0a1b2c3d4e5f.tmp'), 'leftover');
  await writeFile(join(storeDir, `${ENGINE_FILE}.compact.tmp`), 'leftover');
  await (await Core.open({ dataDir: storeDir })).close();
  assert.equal((await readdir(storeDir)).sort(), [ENGINE_FILE, KEY_FILE, 'root-token'].sort());
});

test.run();
