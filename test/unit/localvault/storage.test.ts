import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm, stat, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DATA_FILE, KEY_FILE, openDocument, Persister, sealDocument, Storage } from '../../../lib/localvault/storage.js';
import { newState, serializeState, deserializeState } from '../../../lib/localvault/state.js';
import { StoreError } from '../../../lib/errors.js';

const test = suite('localvault storage');
let dir = '';
test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lv-storage-'));
});
test.after.each(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('seal and open round-trip; the ciphertext hides the plaintext', () => {
  const key = randomBytes(32);
  const blob = sealDocument(key, 'canary-plaintext-123');
  assert.not.ok(blob.toString('latin1').includes('canary-plaintext-123'));
  assert.is(openDocument(key, blob, 'f'), 'canary-plaintext-123');
});

test('a flipped byte, truncation, a wrong key or a foreign file are refused with StoreError', () => {
  const key = randomBytes(32);
  const blob = sealDocument(key, 'x'.repeat(100));
  const flipped = Buffer.from(blob);
  flipped[flipped.length - 1] ^= 1;
  for (const bad of [flipped, blob.subarray(0, blob.length - 10), blob.subarray(0, 10), Buffer.from('not ours at all, not ours at all, not ours')]) {
    assert.throws(() => openDocument(key, bad, 'f'), (e: unknown) => e instanceof StoreError && /damaged/.test((e as Error).message));
  }
  assert.throws(() => openDocument(randomBytes(32), blob, 'f'), (e: unknown) => e instanceof StoreError);
});

test('storage creates a 0700 directory and a 0600 key; saves atomically with mode 0600', async () => {
  const storeDir = join(dir, 'store');
  const storage = await Storage.open(storeDir);
  assert.is((await stat(storeDir)).mode & 0o777, 0o700);
  assert.is((await stat(join(storeDir, KEY_FILE))).mode & 0o777, 0o600);
  assert.is(await storage.load(), undefined);
  const state = newState();
  state.policies.set('p', 'path "canary-policy" {}');
  await storage.save(serializeState(state));
  assert.is((await stat(join(storeDir, DATA_FILE))).mode & 0o777, 0o600);
  assert.equal((await readdir(storeDir)).sort(), [DATA_FILE, KEY_FILE].sort(), 'no temp files left');
  const raw = await readFile(join(storeDir, DATA_FILE));
  assert.not.ok(raw.toString('latin1').includes('canary-policy'));
  const again = await (await Storage.open(storeDir)).load();
  assert.is(again?.policies.get('p'), 'path "canary-policy" {}');
});

test('a truncated data file stops the store; it is not reset', async () => {
  const storeDir = join(dir, 'store');
  const storage = await Storage.open(storeDir);
  await storage.save(serializeState(newState()));
  const file = join(storeDir, DATA_FILE);
  const raw = await readFile(file);
  await writeFile(file, raw.subarray(0, raw.length / 2));
  const reopened = await Storage.open(storeDir);
  try {
    await reopened.load();
    assert.unreachable('should have thrown');
  } catch (err) {
    assert.instance(err, StoreError);
    assert.match((err as Error).message, /damaged/);
  }
  assert.is((await readFile(file)).length, Math.floor(raw.length / 2), 'the damaged file is left as it was');
});

test('a missing key file next to a data file is refused', async () => {
  const storeDir = join(dir, 'store');
  const storage = await Storage.open(storeDir);
  await storage.save(serializeState(newState()));
  await rm(join(storeDir, KEY_FILE));
  try {
    await Storage.open(storeDir);
    assert.unreachable('should have thrown');
  } catch (err) {
    assert.instance(err, StoreError);
    assert.match((err as Error).message, /key file/);
  }
});

test('state survives serialization, including awkward keys', () => {
  const s = newState();
  const kv = [...s.kv.values()][0];
  if (kv.version !== 2) throw new Error('expected v2');
  kv.keys.set('__proto__', { cas_required: false, created_time: 't', current_version: 1, delete_version_after: 0, max_versions: 0, oldest_version: 0, updated_time: 't', custom_metadata: null, versions: new Map([[1, { created_time: 't', deletion_time: '', destroyed: false, data: { a: 1 } }]]) });
  const back = deserializeState(serializeState(s));
  const kv2 = [...back.kv.values()][0];
  assert.ok(kv2.version === 2 && kv2.keys.get('__proto__')?.versions.get(1)?.data?.a === 1);
  assert.ok(back.hmacKey.equals(s.hmacKey));
});

test('Persister runs one write at a time and coalesces the rest', async () => {
  let running = 0;
  let maxRunning = 0;
  let writes = 0;
  const p = new Persister(async () => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    await new Promise((r) => setTimeout(r, 20));
    writes++;
    running--;
  });
  await Promise.all(Array.from({ length: 20 }, () => p.flush()));
  assert.is(maxRunning, 1);
  assert.ok(writes <= 3, `20 flushes took ${writes} writes`);
  assert.ok(writes >= 2, 'flushes that arrive during a write get a later write');
});

test('Persister: a flush resolves only after a write that started after it', async () => {
  const log: string[] = [];
  let n = 0;
  const p = new Persister(async () => {
    const id = ++n;
    log.push(`start ${id}`);
    await new Promise((r) => setTimeout(r, 10));
    log.push(`end ${id}`);
  });
  const first = p.flush();
  await new Promise((r) => setTimeout(r, 2));
  const second = p.flush().then(() => log.push('second resolved'));
  await Promise.all([first, second]);
  assert.equal(log, ['start 1', 'end 1', 'start 2', 'end 2', 'second resolved']);
});

test.run();
