import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { randomBytes, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { TEST_IMAGE } from '../../../harness/docker-image.js';
import { sharedTestDockerd } from '../../../harness/dockerd.js';
import { createSecretfsEnv, type SecretfsEnv } from '../../helpers/secretfs-env.js';
import { missingRequirement } from '../../helpers/environment.js';
import { CLI_ENTRY, runCli, type CliResult } from '../../../harness/run-cli.js';

/**
 * `init --store-tls` end to end with the built CLI on a private dockerd: the embedded store is
 * started on https with a CA and certificate made for the home (the CA's key not kept, the server
 * key 0600), the config and the driver's credential carry the CA, `put` and a container read
 * work through it, and a plain http request to the store's port gets no answer.
 */
const test = suite('e2e: init --embedded --store-tls, put, volume, container; plain http refused');
let skip: string | undefined;
let sfs: SecretfsEnv | undefined;
let env: NodeJS.ProcessEnv;
let home = '';
const volume = `sfsowntls-${randomBytes(3).toString('hex')}`;
const value = `own-tls-${randomBytes(6).toString('hex')}`;

const docker = (args: string[]): Promise<CliResult> => sfs!.docker(args);

test.before(async () => {
  skip = await missingRequirement({ docker: true, fuse: true });
  if (skip) return;
  if (!existsSync(CLI_ENTRY)) throw new Error(`${CLI_ENTRY} is missing: run npm run build`);
  sfs = await createSecretfsEnv(await sharedTestDockerd());
  ({ home, env } = sfs);
});

test.after(async () => {
  if (skip || !sfs) return;
  // Removes the volumes, stops the driver and the store (each must stop on SIGTERM) and the home.
  await sfs.teardown();
  const mounts = await readFile('/proc/mounts', 'utf8');
  assert.not.ok(mounts.split('\n').some((l) => l.includes(' fuse') && l.split(' ')[1]?.startsWith(home)), 'no FUSE mount left');
});

test('--store-tls with an http:// store address or an existing Vault is refused before anything is made', async () => {
  if (skip) return;
  const http = await runCli(['init', '--yes', '--embedded', '--store-tls', '--store-addr', 'http://127.0.0.1:0'], { env });
  assert.is(http.code, 1, http.stderr);
  assert.match(http.stderr, '--store-tls listens on an https:// address, not http://127.0.0.1:0');
  const vault = await runCli(['init', '--yes', '--store-tls', '--vault-addr', 'https://127.0.0.1:1'], { env: { ...env, VAULT_TOKEN: 'x' } });
  assert.is(vault.code, 1, vault.stderr);
  assert.match(vault.stderr, '--store-tls is for the embedded store, not an existing Vault');
  assert.not.ok(existsSync(join(home, 'store-tls')), 'no certificate made');
  assert.not.ok(existsSync(join(home, 'config.json')), 'no config written');
});

test('init --embedded --store-tls: https store with its own CA; put; a container reads the value; plain http gets no answer', async () => {
  if (skip) return;
  const init = await runCli(['init', '--yes', '--embedded', '--store-tls', '--store-addr', 'https://127.0.0.1:0'], { env });
  assert.is(init.code, 0, init.stderr);
  const tlsDir = join(home, 'store-tls');
  const files = { ca: join(tlsDir, 'ca.crt'), cert: join(tlsDir, 'server.crt'), key: join(tlsDir, 'server.key') };
  assert.equal((await readdir(tlsDir)).sort(), ['ca.crt', 'server.crt', 'server.key'], 'the CA key is not kept');
  assert.is((await stat(files.key)).mode & 0o777, 0o600);
  assert.is((await stat(tlsDir)).mode & 0o777, 0o700);
  const cert = new X509Certificate(await readFile(files.cert));
  assert.ok(cert.checkIssued(new X509Certificate(await readFile(files.ca))), 'signed by the CA');
  assert.is(cert.checkIP('127.0.0.1'), '127.0.0.1');

  const config = JSON.parse(await readFile(join(home, 'config.json'), 'utf8'));
  assert.match(config.vaultAddr, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(config.vaultTls, { caCert: files.ca });
  const credential = JSON.parse(await readFile(join(home, 'driver', 'credential.json'), 'utf8'));
  assert.is(credential.addr, config.vaultAddr);
  assert.equal(credential.tls, { caCert: files.ca });

  // The CLI reaches the store through the recorded CA (nothing in the environment).
  const put = await runCli(['put', 'secret/app-1', 'db-password'], { env, input: value });
  assert.is(put.code, 0, put.stderr);
  const created = await docker(['volume', 'create', '-d', sfs!.driverName, '-o', 'path=secret/app-1', volume]);
  assert.is(created.code, 0, created.stderr);
  const read = await docker(['run', '--rm', '-v', `${volume}:/secrets`, TEST_IMAGE, 'cat', '/secrets/db-password']);
  assert.is(read.code, 0, read.stderr);
  assert.is(read.stdout, value);

  // Plain http to the store's port: the TLS listener drops it without an HTTP answer.
  const port = new URL(config.vaultAddr).port;
  const plain = await new Promise<{ status?: number; code?: string }>((resolve) => {
    const req = httpGet(`http://127.0.0.1:${port}/v1/sys/health`, { timeout: 10_000 }, (res) => {
      res.resume();
      resolve({ status: res.statusCode });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ code: err.code }));
  });
  assert.equal(plain, { code: 'ECONNRESET' }, 'no HTTP answer over plain http');

  // A second init keeps TLS (the config's https address says so) and changes nothing.
  const again = await runCli(['init', '--yes', '--format', 'json'], { env });
  assert.is(again.code, 0, again.stderr);
  assert.is(JSON.parse(again.stdout).changed, false, again.stdout);
});

test.run();
