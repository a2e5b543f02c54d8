import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { TEST_IMAGE } from '../../../harness/docker-image.js';
import { sharedTestDockerd } from '../../../harness/dockerd.js';
import { createSecretfsEnv, type SecretfsEnv } from '../../helpers/secretfs-env.js';
import { missingRequirement } from '../../helpers/environment.js';
import { makeTestPki, type TestPki } from '../../helpers/pki.js';
import { CLI_ENTRY, runCli, type CliResult } from '../../../harness/run-cli.js';

/**
 * What a user with a production-like Vault does, end to end with the built CLI: the store over
 * HTTPS signed by a private CA (made here with openssl), `init --vault-addr https://... --ca-cert`
 * with the driver on AppRole and a namespace, then `put`, a volume and a container that reads it.
 * Without the CA, and with a wrong server name, the CLI fails naming the fix.
 */
const test = suite('e2e: store over TLS with a private CA, init --ca-cert --auth approle --namespace, put, volume, container');
let skip: string | undefined;
let sfs: SecretfsEnv | undefined;
let pki: TestPki;
let env: NodeJS.ProcessEnv;
let addr = '';
let home = '';
const volume = `sfstls-${randomBytes(3).toString('hex')}`;

const docker = (args: string[]): Promise<CliResult> => sfs!.docker(args);

test.before(async () => {
  skip = await missingRequirement({ docker: true, fuse: true });
  if (skip) return;
  if (!existsSync(CLI_ENTRY)) throw new Error(`${CLI_ENTRY} is missing: run npm run build`);
  sfs = await createSecretfsEnv(await sharedTestDockerd());
  pki = await makeTestPki();
  ({ home, env } = sfs);
  const started = await runCli(['server', 'start', '--addr', 'https://127.0.0.1:0', '--tls-cert', pki.files['server.crt'], '--tls-key', pki.files['server.key']], { env });
  assert.is(started.code, 0, started.stderr);
  addr = started.stdout.trim();
});

test.after(async () => {
  if (skip || !sfs) return;
  // Removes the volumes, stops the driver and the store (each must stop on SIGTERM) and the home.
  try {
    await sfs.teardown();
  } finally {
    await pki?.remove();
  }
  const mounts = await readFile('/proc/mounts', 'utf8');
  assert.not.ok(mounts.split('\n').some((l) => l.includes(' fuse') && l.split(' ')[1]?.startsWith(home)), 'no FUSE mount left');
});

test('without the CA the CLI fails naming --ca-cert; with a wrong server name it names --tls-server-name', async () => {
  if (skip) return;
  const rootToken = (await readFile(join(home, 'store', 'root-token'), 'utf8')).trim();
  const noCa = await runCli(['init', '--yes', '--vault-addr', addr], { env: { ...env, VAULT_TOKEN: rootToken } });
  assert.not.equal(noCa.code, 0);
  assert.match(noCa.stderr, /TLS: the server's certificate is signed by an unknown certificate authority/);
  assert.match(noCa.stderr, /--ca-cert FILE \(VAULT_CACERT\)/);
  const wrongName = await runCli(['init', '--yes', '--vault-addr', addr, '--ca-cert', pki.files['ca.crt'], '--tls-server-name', 'vault.example.com'], { env: { ...env, VAULT_TOKEN: rootToken } });
  assert.not.equal(wrongName.code, 0);
  assert.match(wrongName.stderr, /does not match the name connected to/);
  assert.match(wrongName.stderr, /--tls-server-name NAME/);
  assert.not.ok(existsSync(join(home, 'config.json')), 'nothing was written');
});

test('init --vault-addr https://... --ca-cert --auth approle --namespace; put; a volume; a container reads it', async () => {
  if (skip) return;
  const rootToken = (await readFile(join(home, 'store', 'root-token'), 'utf8')).trim();
  const init = await runCli(['init', '--yes', '--vault-addr', addr, '--ca-cert', pki.files['ca.crt'], '--auth', 'approle', '--namespace', 'admin'], { env: { ...env, VAULT_TOKEN: rootToken } });
  assert.is(init.code, 0, init.stderr);
  const config = JSON.parse(await readFile(join(home, 'config.json'), 'utf8'));
  assert.equal(config.vaultTls, { caCert: pki.files['ca.crt'] });
  assert.is(config.vaultNamespace, 'admin');
  const credential = JSON.parse(await readFile(join(home, 'driver', 'credential.json'), 'utf8'));
  assert.is(credential.token, undefined, 'the driver holds no token');
  assert.equal(credential.tls, { caCert: pki.files['ca.crt'] });
  // The CLI uses the recorded CA (no VAULT_CACERT in the environment).
  const put = await runCli(['put', 'secret/app-1', 'db-password'], { env: { ...env, VAULT_TOKEN: rootToken }, input: 'tls-pw' });
  assert.is(put.code, 0, put.stderr);
  const created = await docker(['volume', 'create', '-d', sfs!.driverName, '-o', 'path=secret/app-1', volume]);
  assert.is(created.code, 0, created.stderr);
  const read = await docker(['run', '--rm', '-v', `${volume}:/secrets`, TEST_IMAGE, 'cat', '/secrets/db-password']);
  assert.is(read.code, 0, read.stderr);
  assert.is(read.stdout, 'tls-pw');
  const status = await runCli(['driver', 'status'], { env });
  assert.match(status.stdout, /auth: AppRole, logged in/);
  // Every request of the CLI and the driver carried the namespace.
  const audit = (await readFile(join(home, 'store', 'audit.log'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  const logins = audit.filter((l) => l.path === 'auth/approle/login');
  assert.ok(logins.length >= 1);
  for (const l of logins) assert.is(l.namespace, 'admin');
  assert.ok(audit.filter((l) => l.path === 'secret/data/app-1').every((l) => l.namespace === 'admin'));
});

test.run();
