import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startTestStore, storeSuite, vaultClient, vaultError } from '../../helpers/store.js';
import { createStoreServer } from '../../../lib/localvault/server.js';
import { DATA_FILE } from '../../../lib/localvault/storage.js';
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
  assert.ok(files.some((f) => f.endsWith(DATA_FILE)), 'data file exists');
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
  await new Promise((r) => setTimeout(r, 50));
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
  await new Promise((r) => setTimeout(r, 50));
  const log = await readFile(store.auditLog, 'utf8');
  assert.not.ok(log.includes(t));
  assert.ok(log.includes('auth/token/lookup/[token]'));
});

test('a corrupted or truncated data file refuses to start, with a clear message, and is not reset', async () => {
  const home = await mkdtemp(join(tmpdir(), 'lv-corrupt-'));
  try {
    const s = await startTestStore({ home });
    await vaultClient(s.addr, s.rootToken).write('secret/data/x', { data: { a: '1' } });
    await s.stop();
    const file = join(s.dataDir, DATA_FILE);
    const raw = await readFile(file);
    const damaged = Buffer.from(raw);
    damaged[damaged.length - 5] ^= 0xff;
    await writeFile(file, damaged);
    const failure = await createStoreServer({ dataDir: s.dataDir, port: 0 }).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.instance(failure, StoreError, 'the store must not start on a damaged file');
    assert.match((failure as Error).message, /damaged.*refusing to start/);
    assert.ok((await readFile(file)).equals(damaged), 'the file is left untouched');
    await writeFile(file, raw.subarray(0, 20));
    const truncated = await createStoreServer({ dataDir: s.dataDir, port: 0 }).then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.instance(truncated, StoreError);
    assert.match((truncated as Error).message, /truncated/);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

test.run();
