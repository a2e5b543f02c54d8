import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../../lib/config.js';
import { VaultError } from '../../../lib/errors.js';
import { createStoreServer, type StoreServer } from '../../../lib/localvault/server.js';
import { createVaultClient, vaultClientFromConfig } from '../../../lib/vault/client.js';
import { makeTestPki, type TestPki } from '../../helpers/pki.js';

/** lib/vault's client with Vault's client settings against the embedded store over TLS (a CA made here by openssl). */
const test = suite('lib/vault client: VAULT_CACERT & co. against the store over TLS, named TLS failures, X-Vault-Namespace');
let pki: TestPki;
let dir: string;
let tlsStore: StoreServer;
let mtlsStore: StoreServer;
let expiredStore: StoreServer;
let token: string;
const audit = () => join(dir, 'audit.log');

test.before(async () => {
  pki = await makeTestPki();
  dir = await mkdtemp(join(tmpdir(), 'secretfs-client-tls-'));
  tlsStore = await createStoreServer({ dataDir: join(dir, 'd1'), port: 0, auditLog: audit(), tls: { cert: pki.pem['server.crt'], key: pki.pem['server.key'] } });
  token = (await readFile(tlsStore.rootTokenFile, 'utf8')).trim();
  mtlsStore = await createStoreServer({ dataDir: join(dir, 'd2'), port: 0, tls: { cert: pki.pem['server.crt'], key: pki.pem['server.key'], clientCa: pki.pem['ca.crt'] } });
  expiredStore = await createStoreServer({ dataDir: join(dir, 'd3'), port: 0, tls: { cert: pki.pem['expired.crt'], key: pki.pem['server.key'] } });
});
test.after(async () => {
  await Promise.all([tlsStore?.close(), mtlsStore?.close(), expiredStore?.close()]);
  await rm(dir, { recursive: true, force: true });
  await pki?.remove();
});

async function failure(p: Promise<unknown>): Promise<VaultError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof VaultError) return err;
    throw err;
  }
  throw new Error('expected a VaultError');
}

test('VAULT_CACERT (via the config) makes HTTPS work; without it: unknown CA, naming --ca-cert', async () => {
  const cfg = resolveConfig({ env: { VAULT_ADDR: tlsStore.address, VAULT_TOKEN: token, VAULT_CACERT: pki.files['ca.crt'] } });
  assert.equal(cfg.vaultTls, { caCert: pki.files['ca.crt'] });
  const ok = await vaultClientFromConfig(cfg).request('GET', 'sys/mounts');
  assert.ok(ok.data['secret/']);
  const e = await failure(createVaultClient({ addr: tlsStore.address, token }).request('GET', 'sys/mounts'));
  assert.is(e.message, "Vault GET sys/mounts: TLS: the server's certificate is signed by an unknown certificate authority");
  assert.match(e.hint ?? '', /--ca-cert FILE \(VAULT_CACERT\)/);
  const wrongCa = await failure(createVaultClient({ addr: tlsStore.address, token, tls: { caCert: pki.files['other.crt'] } }).request('GET', 'sys/mounts'));
  assert.match(wrongCa.message, /unknown certificate authority/);
});

test('VAULT_CAPATH: a directory of CAs works too', async () => {
  const c = vaultClientFromConfig(resolveConfig({ env: { VAULT_ADDR: tlsStore.address, VAULT_TOKEN: token, VAULT_CAPATH: pki.dir } }));
  // The directory also holds keys and CSRs; the CA among them is found.
  assert.ok((await c.request('GET', 'sys/mounts')).data['secret/']);
});

test('a name the certificate does not list: name mismatch, naming --tls-server-name; VAULT_TLS_SERVER_NAME fixes it', async () => {
  const wrong = await failure(createVaultClient({ addr: tlsStore.address, token, tls: { caCert: pki.files['ca.crt'], serverName: 'vault.example.com' } }).request('GET', 'sys/mounts'));
  assert.match(wrong.message, /^Vault GET sys\/mounts: TLS: the server's certificate does not match the name connected to \(Host: vault\.example\.com/);
  assert.match(wrong.hint ?? '', /--tls-server-name NAME \(VAULT_TLS_SERVER_NAME\)/);
  const byName = vaultClientFromConfig(resolveConfig({ env: { VAULT_ADDR: tlsStore.address, VAULT_TOKEN: token, VAULT_CACERT: pki.files['ca.crt'], VAULT_TLS_SERVER_NAME: 'localhost' } }));
  assert.ok((await byName.request('GET', 'sys/mounts')).data);
});

test('an expired server certificate is named as such', async () => {
  const e = await failure(createVaultClient({ addr: expiredStore.address, token, tls: { caCert: pki.files['ca.crt'] } }).request('GET', 'sys/health'));
  assert.is(e.message, "Vault GET sys/health: TLS: the server's certificate has expired");
  // VAULT_SKIP_VERIFY gets through (tests only).
  const skip = vaultClientFromConfig(resolveConfig({ env: { VAULT_ADDR: expiredStore.address, VAULT_SKIP_VERIFY: 'true' } }));
  assert.is(((await skip.request('GET', 'sys/health')) as any).initialized, true);
});

test('mutual TLS: VAULT_CLIENT_CERT/KEY work; without a client certificate the failure names --client-cert', async () => {
  const c = vaultClientFromConfig(
    resolveConfig({ env: { VAULT_ADDR: mtlsStore.address, VAULT_CACERT: pki.files['ca.crt'], VAULT_CLIENT_CERT: pki.files['client.crt'], VAULT_CLIENT_KEY: pki.files['client.key'] } }),
  );
  assert.is(((await c.request('GET', 'sys/health')) as any).initialized, true);
  const e = await failure(createVaultClient({ addr: mtlsStore.address, tls: { caCert: pki.files['ca.crt'] } }).request('GET', 'sys/health'));
  assert.is(e.message, 'Vault GET sys/health: TLS: the server requires a client certificate it accepts (mutual TLS)');
  assert.is(e.hint, 'give one with --client-cert FILE --client-key FILE (VAULT_CLIENT_CERT, VAULT_CLIENT_KEY)');
});

test('VAULT_NAMESPACE is sent as X-Vault-Namespace on every request (the store audit log shows it)', async () => {
  const c = vaultClientFromConfig(resolveConfig({ env: { VAULT_ADDR: tlsStore.address, VAULT_TOKEN: token, VAULT_CACERT: pki.files['ca.crt'], VAULT_NAMESPACE: 'admin' } }));
  await c.request('POST', 'secret/data/ns-test', { body: { data: { a: '1' } } });
  await c.request('GET', 'secret/data/ns-test');
  await c.withToken(token).request('GET', 'sys/mounts');
  await new Promise((r) => setTimeout(r, 100));
  const lines = (await readFile(audit(), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  const mine = lines.filter((l) => l.path === 'secret/data/ns-test' || l.path === 'sys/mounts');
  assert.ok(mine.length >= 3);
  for (const l of mine.slice(-3)) assert.is(l.namespace, 'admin', l.path);
});

test('bad settings are clear errors: unreadable CA file, half a client certificate, VAULT_SKIP_VERIFY not a boolean', async () => {
  assert.throws(() => createVaultClient({ addr: 'https://127.0.0.1:1', tls: { caCert: join(dir, 'none.pem') } }), (e: Error) => /^cannot read the CA certificate .*none\.pem: ENOENT$/.test(e.message));
  assert.throws(() => createVaultClient({ addr: 'https://127.0.0.1:2', tls: { clientCert: pki.files['client.crt'] } }), (e: Error) => /needs both --client-cert and --client-key/.test(e.message));
  assert.throws(() => resolveConfig({ env: { VAULT_SKIP_VERIFY: 'yes' } }), (e: Error) => e.message === 'could not parse VAULT_SKIP_VERIFY: "yes" is not a boolean');
});

test.run();
