import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startTestStore, storeSuite, vaultClient, vaultError } from '../../helpers/store.js';
import { createStoreServer } from '../../../lib/localvault/server.js';
import { ENGINE_FILE } from '../../../lib/localvault/engine.js';
import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';
import { StoreError } from '../../../lib/errors.js';

const test = suite('localvault persistence, encryption at rest and audit');
const { store, vault } = storeSuite(test);

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await allFiles(p)));
    else out.push(p);
  }
  return out;
}

test('a restart keeps secrets, versions, mounts, policies, tokens and roles; no file holds a value or a token', async () => {
  const canary = `canary-${randomBytes(8).toString('hex')}`;
  const canaryV1 = `canary-v1-${randomBytes(8).toString('hex')}`;
  const canaryWrap = `canary-wrap-${randomBytes(8).toString('hex')}`;
  await vault.write('secret/data/p/app', { data: { password: canary } });
  await vault.write('secret/data/p/app', { data: { password: canary + '-2' } });
  await vault.mount({ mount_point: 'pv1', type: 'kv', options: { version: '1' } });
  await vault.write('pv1/x', { value: canaryV1 });
  await vault.write('sys/policies/acl/keep', { policy: 'path "secret/data/p/*" { capabilities = ["read"] }' });
  await vault.write('auth/token/roles/keep', { allowed_policies: ['keep'] });
  const child = (await vault.write('auth/token/create', { policies: ['keep'], ttl: '1h' })).auth;
  const wrapped = await vault.write('sys/wrapping/wrap', { v: canaryWrap }, { headers: { 'X-Vault-Wrap-TTL': '10m' } });
  const wrapToken = wrapped.wrap_info.token;
  // a failed request whose error text must not leak the value either
  await vaultError(vault.write('secret/data/p/app', { options: { cas: 99 }, data: { password: canary } }));

  await store.restart();

  assert.is((await vault.read('secret/data/p/app')).data.data.password, canary + '-2');
  assert.is((await vault.read('secret/data/p/app?version=1')).data.data.password, canary);
  assert.is((await vault.read('pv1/x')).data.value, canaryV1);
  assert.ok((await vault.read('sys/policies/acl/keep')).data.policy.includes('secret/data/p/*'));
  assert.equal((await vault.read('auth/token/roles/keep')).data.allowed_policies, ['keep']);
  const c = vaultClient(store.addr, child.client_token);
  assert.is((await c.read('secret/data/p/app')).data.data.password, canary + '-2');

  const secrets = [canary, canaryV1, canaryWrap, child.client_token, wrapToken];
  const files = await allFiles(store.home);
  assert.ok(files.some((f) => f.endsWith('audit.log')), 'audit log exists');
  assert.ok(files.some((f) => f.endsWith(ENGINE_FILE)), 'database file exists');
  for (const file of files) {
    const content = await readFile(file, 'latin1');
    for (const s of secrets) assert.not.ok(content.includes(s), `${file} contains a secret value or token`);
    if (!file.endsWith('root-token')) assert.not.ok(content.includes(store.rootToken), `${file} contains the root token`);
    assert.is((await stat(file)).mode & 0o077, 0, `${file} is private`);
  }
  assert.is((await stat(store.dataDir)).mode & 0o777, 0o700);
  assert.is((await vault.unwrap({ token: wrapToken })).data.v, canaryWrap, 'a wrapped response survives a restart');
});

test('the audit log records time, operation, path, accessor, remote address and status as JSON lines', async () => {
  await vault.read('secret/data/p/app');
  const lines = (await readFile(store.auditLog, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  const rec = lines.reverse().find((l) => l.path === 'secret/data/p/app' && l.operation === 'read');
  assert.ok(rec, 'record found');
  assert.ok(rec.time && rec.remote_address && rec.accessor);
  assert.is(rec.status, 200);
  const self = await vault.tokenLookupSelf();
  assert.is(rec.accessor, self.data.accessor);
  assert.is((await stat(store.auditLog)).mode & 0o777, 0o600);
});

test('a token put in a URL path is masked in the audit log', async () => {
  const t = (await vault.write('auth/token/create', { policies: ['default'] })).auth.client_token;
  await vaultError(vault.read(`auth/token/lookup/${t}`));
  const log = await readFile(store.auditLog, 'utf8');
  assert.not.ok(log.includes(t));
  assert.ok(log.includes('auth/token/lookup/[token]'));
});

test('a request\'s audit line is on file when its answer arrives, in order: a log read after an answer holds exactly the requests answered', async () => {
  const lineCount = async () => (await readFile(store.auditLog, 'utf8')).split('\n').filter(Boolean).length;
  const from = await lineCount();
  const paths: string[] = [];
  // Concurrent requests on several connections, each checked the moment its answer arrives.
  await Promise.all(Array.from({ length: 4 }, async (_, c) => {
    for (let i = 0; i < 25; i++) {
      const path = `secret/data/p/order-${c}-${i}`;
      const res = await fetch(`${store.addr}/v1/${path}`, { headers: { 'X-Vault-Token': store.rootToken } });
      assert.is(res.status, 404);
      const log = await readFile(store.auditLog, 'utf8');
      assert.ok(log.includes(`"path":"${path}"`), `the line of ${path} is on file when its answer arrives`);
      paths.push(path);
      await res.arrayBuffer();
    }
  }));
  const lines = (await readFile(store.auditLog, 'utf8')).split('\n').filter(Boolean).slice(from).map((l) => JSON.parse(l));
  assert.is(lines.length, 100, 'no line missing, none extra');
  assert.equal(lines.map((l) => l.path).sort(), [...paths].sort());
  assert.is(await lineCount(), from + 100);
});

/** Opens the store's database directly (as an attacker with the files would) to change records. */
function openDb(dataDir: string): Database.Database {
  return new (createRequire(import.meta.url)('better-sqlite3') as typeof Database)(join(dataDir, ENGINE_FILE));
}

async function startFailure(dataDir: string): Promise<unknown> {
  return createStoreServer({ dataDir, port: 0 }).then(
    async (s) => {
      await s.close();
      return undefined;
    },
    (err: unknown) => err,
  );
}

test('a modified record, a value moved to another key, or a truncated database refuses to start, naming the file, and is not reset', async () => {
  const home = await mkdtemp(join(tmpdir(), 'lv-corrupt-'));
  try {
    const s = await startTestStore({ home });
    const v = vaultClient(s.addr, s.rootToken);
    await v.write('secret/data/x', { data: { a: '1' } });
    await v.write('secret/data/y', { data: { a: '2' } });
    await s.stop();
    const file = join(s.dataDir, ENGINE_FILE);
    const db = openDb(s.dataDir);
    const x = db.prepare("SELECT k, v FROM records WHERE k LIKE 'kv2/%/v/1/x'").get() as { k: string; v: Buffer };
    const y = db.prepare("SELECT k, v FROM records WHERE k LIKE 'kv2/%/v/1/y'").get() as { k: string; v: Buffer };
    const flipped = Buffer.from(x.v);
    flipped[flipped.length - 3] ^= 0x01;
    db.prepare('UPDATE records SET v = ? WHERE k = ?').run(flipped, x.k);
    db.close();
    const failure = await startFailure(s.dataDir);
    assert.instance(failure, StoreError, 'the store must not start on a modified record');
    assert.is((failure as Error).message, `the store database ${file} is damaged (record ${JSON.stringify(x.k)} fails its check: it was modified, moved or written with another key); refusing to start`);
    const again = openDb(s.dataDir);
    assert.ok((again.prepare('SELECT v FROM records WHERE k = ?').get(x.k) as { v: Buffer }).v.equals(flipped), 'the record is left untouched');
    // y's sealed value under x's key: authentic bytes, wrong place.
    again.prepare('UPDATE records SET v = ? WHERE k = ?').run(y.v, x.k);
    again.close();
    const moved = await startFailure(s.dataDir);
    assert.instance(moved, StoreError);
    assert.match((moved as Error).message, /fails its check: it was modified, moved or written with another key/);
    await writeFile(file, (await readFile(file)).subarray(0, 20));
    const truncated = await startFailure(s.dataDir);
    assert.instance(truncated, StoreError);
    assert.match((truncated as Error).message, new RegExp(`^the store database ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is damaged \\(.+\\); refusing to start$`));
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

test.run();
