import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import { join } from 'node:path';
import { createStoreServer, type StoreServer } from '../../../lib/localvault/server.js';
import { runCli } from '../../../harness/run-cli.js';
import { makeTestPki, type TestPki } from '../../helpers/pki.js';

/** The store's TLS listener with a private CA made here by openssl; mutual TLS; the namespace header. */
const test = suite('localvault TLS listener (private CA from openssl), mutual TLS, X-Vault-Namespace');
let dir: string;
let pki: TestPki;
let pem: Record<string, string> = {};

function get(url: string, opts: https.RequestOptions): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ...opts, timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
  return 'no error';
}

test.before(async () => {
  pki = await makeTestPki();
  dir = pki.dir;
  pem = pki.pem;
});
test.after(async () => {
  await pki?.remove();
});

test('HTTPS with a private CA: works with the CA, unknown CA without it, name mismatch for another name', async () => {
  const store: StoreServer = await createStoreServer({ dataDir: join(dir, 'data1'), port: 0, tls: { cert: pem['server.crt'], key: pem['server.key'] } });
  try {
    assert.match(store.address, /^https:\/\/127\.0\.0\.1:\d+$/);
    const ok = await get(`${store.address}/v1/sys/health`, { ca: pem['ca.crt'] });
    assert.is(ok.status, 200);
    assert.is(JSON.parse(ok.body).initialized, true);
    assert.is(await failure(get(`${store.address}/v1/sys/health`, {})), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    assert.is(await failure(get(`${store.address}/v1/sys/health`, { ca: pem['other.crt'] })), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    assert.is(await failure(get(`${store.address}/v1/sys/health`, { ca: pem['ca.crt'], servername: 'vault.example.com' })), 'ERR_TLS_CERT_ALTNAME_INVALID');
    // Plain HTTP to the TLS port gets no answer.
    assert.not.ok(await fetch(store.address.replace('https:', 'http:') + '/v1/sys/health').then(() => true, () => false));
  } finally {
    await store.close();
  }
});

test('mutual TLS: a client certificate signed by the client CA is required', async () => {
  const store = await createStoreServer({ dataDir: join(dir, 'data2'), port: 0, tls: { cert: pem['server.crt'], key: pem['server.key'], clientCa: pem['ca.crt'] } });
  try {
    const ok = await get(`${store.address}/v1/sys/health`, { ca: pem['ca.crt'], cert: pem['client.crt'], key: pem['client.key'] });
    assert.is(ok.status, 200);
    const none = await failure(get(`${store.address}/v1/sys/health`, { ca: pem['ca.crt'] }));
    assert.ok(['ECONNRESET', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'EPROTO'].includes(none), none);
    const foreign = await failure(get(`${store.address}/v1/sys/health`, { ca: pem['ca.crt'], cert: pem['other.crt'], key: pem['other.key'] }));
    assert.ok(foreign !== 'no error', foreign);
  } finally {
    await store.close();
  }
});

test('X-Vault-Namespace is accepted and ignored as in Vault Community Edition (root namespace), and recorded in the audit log', async () => {
  const auditLog = join(dir, 'audit.log');
  const store = await createStoreServer({ dataDir: join(dir, 'data3'), port: 0, auditLog, tls: { cert: pem['server.crt'], key: pem['server.key'] } });
  try {
    const token = (await readFile(store.rootTokenFile, 'utf8')).trim();
    const r = await get(`${store.address}/v1/sys/mounts`, { ca: pem['ca.crt'], headers: { 'X-Vault-Token': token, 'X-Vault-Namespace': 'admin' } });
    assert.is(r.status, 200);
    // Paths stay the root namespace's: secret/ is there.
    assert.ok(JSON.parse(r.body).data['secret/']);
  } finally {
    await store.close();
  }
  const lines = (await readFile(auditLog, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  const rec = lines.find((l) => l.path === 'sys/mounts');
  assert.is(rec.namespace, 'admin');
  assert.is(rec.status, 200);
});

test('`server start --tls-cert --tls-key` (the built CLI) serves HTTPS; bad flag combinations are usage errors', async () => {
  const home = join(dir, 'home');
  const env = { SECRETFS_HOME: home, VAULT_TOKEN: '' };
  const started = await runCli(['server', 'start', '--addr', 'https://127.0.0.1:0', '--tls-cert', join(dir, 'server.crt'), '--tls-key', join(dir, 'server.key')], { env });
  try {
    assert.is(started.code, 0, started.stderr);
    const addr = started.stdout.trim();
    assert.match(addr, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.is((await get(`${addr}/v1/sys/health`, { ca: pem['ca.crt'] })).status, 200);
  } finally {
    assert.is((await runCli(['server', 'stop'], { env })).code, 0);
  }
  const onlyKey = await runCli(['server', 'start', '--addr', 'http://127.0.0.1:0', '--tls-key', join(dir, 'server.key')], { env });
  assert.is(onlyKey.code, 1);
  assert.match(onlyKey.stderr, /--tls-cert and --tls-key go together/);
  const plainHttps = await runCli(['server', 'start', '--addr', 'https://127.0.0.1:0'], { env });
  assert.is(plainHttps.code, 1);
  assert.match(plainHttps.stderr, /an https:\/\/ store address needs --tls-cert and --tls-key/);
  const missing = await runCli(['server', 'serve', '--addr', 'http://127.0.0.1:0', '--tls-cert', join(dir, 'nope.crt'), '--tls-key', join(dir, 'server.key')], { env });
  assert.not.equal(missing.code, 0);
  assert.match(missing.stderr, /cannot read the TLS certificate \(--tls-cert\) .*nope\.crt/);
});

test.run();
