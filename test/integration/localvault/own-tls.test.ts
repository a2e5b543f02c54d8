import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolvePaths, type Paths } from '../../../lib/paths.js';
import { makeOwnTls, ownTlsFiles, ownTlsUsable } from '../../../lib/localvault/own-tls.js';
import { createStoreServer } from '../../../lib/localvault/server.js';
import { createVaultClient } from '../../../lib/vault/client.js';
import { readHealth } from '../../../lib/vault/sys.js';
import { VaultError } from '../../../lib/errors.js';

/** The store's own CA and certificate (init --store-tls), made with openssl in a temp home, used by the real store over TLS. */
const test = suite('localvault own TLS: a CA and a certificate for the home, kept while usable');
let home: string;
let paths: Paths;

test.before(async () => {
  home = await mkdtemp(join(tmpdir(), 'secretfs-own-tls-'));
  paths = resolvePaths({ SECRETFS_HOME: home });
});
test.after(async () => {
  await rm(home, { recursive: true, force: true });
});

test('made for 127.0.0.1: the key 0600, no CA key kept; usable for 127.0.0.1, not for another name, nor 30 days before it expires', async () => {
  assert.is(await ownTlsUsable(paths, '127.0.0.1'), false, 'nothing there yet');
  const files = await makeOwnTls(paths, '127.0.0.1');
  assert.equal(files, ownTlsFiles(paths));
  assert.equal((await readdir(paths.storeTlsDir)).sort(), ['ca.crt', 'server.crt', 'server.key']);
  assert.equal((await readdir(home)).sort(), ['store-tls'], 'no scratch directory left');
  assert.is((await stat(files.keyFile)).mode & 0o777, 0o600);
  assert.is((await stat(paths.storeTlsDir)).mode & 0o777, 0o700);
  assert.is(await ownTlsUsable(paths, '127.0.0.1'), true);
  assert.is(await ownTlsUsable(paths, 'localhost'), true);
  assert.is(await ownTlsUsable(paths, '10.1.2.3'), false, 'not made for that address');
  assert.is(await ownTlsUsable(paths, '127.0.0.1', Date.now() + 800 * 86_400_000), false, 'made again 30 days before it expires');
});

test('the store serves with them: a client with the CA connects, one without is refused as an unknown CA', async () => {
  const files = ownTlsFiles(paths);
  const dataDir = join(home, 'store');
  const store = await createStoreServer({ dataDir, port: 0, tls: { cert: await readFile(files.certFile, 'utf8'), key: await readFile(files.keyFile, 'utf8') } });
  try {
    assert.match(store.address, /^https:\/\/127\.0\.0\.1:\d+$/);
    const token = (await readFile(store.rootTokenFile, 'utf8')).trim();
    const health = await readHealth(createVaultClient({ addr: store.address, token, tls: { caCert: files.caFile } }));
    assert.is(health.initialized, true);
    const err = await readHealth(createVaultClient({ addr: store.address, token })).then(() => undefined, (e) => e);
    assert.instance(err, VaultError);
    assert.match(err.message, /unknown certificate authority/);
  } finally {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('a certificate from another CA, or a broken file, is not usable; making again replaces them', async () => {
  const files = ownTlsFiles(paths);
  const oldCa = await readFile(files.caFile, 'utf8');
  const other = await mkdtemp(join(tmpdir(), 'secretfs-own-tls-other-'));
  try {
    const otherPaths = resolvePaths({ SECRETFS_HOME: other });
    await makeOwnTls(otherPaths, '127.0.0.1');
    await writeFile(files.caFile, await readFile(ownTlsFiles(otherPaths).caFile));
    assert.is(await ownTlsUsable(paths, '127.0.0.1'), false, 'not signed by this CA');
    await writeFile(files.certFile, 'not a certificate');
    assert.is(await ownTlsUsable(paths, '127.0.0.1'), false);
  } finally {
    await rm(other, { recursive: true, force: true });
  }
  await makeOwnTls(paths, '127.0.0.1');
  assert.is(await ownTlsUsable(paths, '127.0.0.1'), true);
  assert.is.not(await readFile(files.caFile, 'utf8'), oldCa, 'a new CA');
});

test.run();
