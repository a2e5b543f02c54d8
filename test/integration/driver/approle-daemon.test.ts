import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { missingRequirement } from '../../helpers/environment.js';
import { CLI_ENTRY, runCli } from '../../../harness/run-cli.js';
import { startTestDriverDaemon, type TestDriverDaemon } from '../../helpers/driver-daemon.js';
import type { TestStore } from '../../helpers/store.js';
import type { Paths } from '../../../lib/paths.js';
import type { VaultClient } from '../../../lib/vault/client.js';
import { callDriver } from '../../../lib/driver/client.js';
import { readDriverCredential } from '../../../lib/driver/credential.js';
import { DEFAULT_APPROLE_MOUNT, DRIVER_APPROLE, provisionDriverAppRole } from '../../../lib/driver/driver-approle.js';
import { DRIVER_POLICY_NAME } from '../../../lib/driver/driver-policy.js';
import { driverStatus } from '../../../lib/driver/process.js';

const exec = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The driver daemon logging in with AppRole (no long-lived token) against the embedded store:
 * its tokens live 2 s and may be renewed up to 4 s, so it logs in again every few seconds while a
 * volume keeps being read through FUSE. Then its secret_id is destroyed and it says so.
 */
const test = suite('driver daemon with an AppRole credential (2 s tokens, FUSE, embedded store)');
let skip: string | undefined;
let daemon: TestDriverDaemon;
let store: TestStore;
let paths: Paths;
let root: VaultClient;
let pid: number;
const name = `sfa${randomBytes(4).toString('hex')}`;

async function logins(): Promise<number> {
  const lines = (await readFile(store.auditLog, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  return lines.filter((l) => l.path === `auth/${DEFAULT_APPROLE_MOUNT}/login` && l.status === 200).length;
}

test.before(async () => {
  skip = await missingRequirement({ fuse: true });
  if (skip) return;
  if (!existsSync(CLI_ENTRY)) throw new Error(`${CLI_ENTRY} is missing: run npm run build`);
  // What `init --auth approle` does against the embedded store, with very short driver tokens.
  daemon = await startTestDriverDaemon({
    driverName: name,
    secrets: { 'secret/app-1': { 'db-password': 'approle-pw' } },
    credential: (vault, p) => provisionDriverAppRole(vault, p, { tokenTtl: '2s', tokenMaxTtl: '4s' }),
    allow: ['secret/app-1'],
  });
  ({ store, paths, root, pid } = daemon);
});

test.after(async () => {
  if (skip) return;
  await daemon?.stop();
});

test('the credential holds a role_id and secret_id (0600), no token; the role has the bounded driver policy', async () => {
  if (skip) return;
  const st = await stat(paths.driverCredentialFile);
  assert.is(st.mode & 0o777, 0o600);
  const cred = await readDriverCredential(paths);
  assert.is(cred!.token, undefined);
  assert.is(cred!.approle!.mount, 'approle');
  assert.match(cred!.approle!.secretId!, /^[0-9a-f-]{36}$/);
  const role = await root.request('GET', `auth/approle/role/${DRIVER_APPROLE}`);
  assert.equal(role.data.token_policies, [DRIVER_POLICY_NAME]);
  assert.is(role.data.token_ttl, 2);
  assert.is(role.data.token_max_ttl, 4);
  const environ = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
  assert.not.ok(environ.join('\n').includes(cred!.approle!.secretId!), 'the secret_id is not in the environment');
});

test('a volume keeps serving across several re-logins of the driver', async () => {
  if (skip) return;
  const before = await logins();
  assert.ok(before >= 1, 'logged in at start');
  await callDriver(paths.driverSocket, '/VolumeDriver.Create', { Name: 'av1', Opts: { path: 'secret/app-1' } });
  const m = await callDriver<{ Mountpoint: string }>(paths.driverSocket, '/VolumeDriver.Mount', { Name: 'av1', ID: 'b'.repeat(64) });
  // 14 s: the driver's tokens (max 4 s) force at least three new logins meanwhile.
  for (let i = 0; i < 7; i++) {
    const { stdout } = await exec('cat', [`${m.Mountpoint}/db-password`]);
    assert.is(stdout, 'approle-pw', `read ${i}`);
    await sleep(2000);
  }
  const after = await logins();
  assert.ok(after - before >= 3, `expected at least 3 re-logins, saw ${after - before}`);
  // A new volume is minted with the current (re-logged-in) driver token.
  await callDriver(paths.driverSocket, '/VolumeDriver.Create', { Name: 'av2', Opts: { path: 'secret/app-1' } });
  const m2 = await callDriver<{ Mountpoint: string }>(paths.driverSocket, '/VolumeDriver.Mount', { Name: 'av2', ID: 'c'.repeat(64) });
  assert.is((await exec('cat', [`${m2.Mountpoint}/db-password`])).stdout, 'approle-pw');
  const s = await driverStatus(paths);
  assert.is(s.auth?.method, 'approle');
  assert.is(s.auth?.state, 'ok');
  assert.ok((s.auth?.logins ?? 0) >= 4);
  await callDriver(paths.driverSocket, '/VolumeDriver.Unmount', { Name: 'av2', ID: 'c'.repeat(64) });
  await callDriver(paths.driverSocket, '/VolumeDriver.Unmount', { Name: 'av1', ID: 'b'.repeat(64) });
});

test('a destroyed secret_id: the driver says so in its status, `driver status` and `doctor`', async () => {
  if (skip) return;
  const cred = await readDriverCredential(paths);
  await root.request('POST', `auth/approle/role/${DRIVER_APPROLE}/secret-id/destroy`, { body: { secret_id: cred!.approle!.secretId } });
  // Within a token max TTL (4 s) the driver must log in again and be refused.
  let state = '';
  for (let i = 0; i < 40 && state !== 'refused'; i++) {
    await sleep(250);
    state = (await driverStatus(paths)).auth?.state ?? '';
  }
  assert.is(state, 'refused');
  const env = { ...daemon.env, VAULT_ADDR: store.addr, VAULT_TOKEN: store.rootToken };
  const status = await runCli(['driver', 'status'], { env });
  assert.is(status.code, 1);
  assert.match(status.stdout, /auth: AppRole, NOT LOGGED IN: Vault refused the driver's AppRole login \(.*invalid role or secret ID\): the secret_id is spent, expired or destroyed/);
  const doctor = await runCli(['doctor', '--format', 'json'], { env });
  const checks = JSON.parse(doctor.stdout);
  const login = (Array.isArray(checks) ? checks : checks.checks).find((c: any) => c.name === 'driver login');
  assert.is(login.ok, false);
  assert.match(login.hint, /init --auth approle/);
});

test('init refuses a secret_id in argv and AppRole flags without --auth approle, before touching anything', async () => {
  if (skip) return;
  const env = daemon.env;
  const plain = await runCli(['init', '--yes', '--auth', 'approle', '--role-id', 'r1', '--secret-id', 'the-secret-itself'], { env });
  assert.is(plain.code, 1);
  assert.match(plain.stderr, /--secret-id takes @FILE or - \(stdin\), never the secret itself/);
  const noAuth = await runCli(['init', '--yes', '--role-id', 'r1', '--secret-id', '-'], { env });
  assert.is(noAuth.code, 1);
  assert.match(noAuth.stderr, /--role-id, --secret-id and --approle-mount go with --auth approle/);
  const missingFile = await runCli(['init', '--yes', '--auth', 'approle', '--role-id', 'r1', '--secret-id', '@/nonexistent/sid'], { env });
  assert.is(missingFile.code, 1);
  assert.match(missingFile.stderr, /cannot read the secret_id file \/nonexistent\/sid: ENOENT/);
  const badAuth = await runCli(['init', '--yes', '--auth', 'ldap'], { env });
  assert.match(badAuth.stderr, /--auth must be token or approle, not "ldap"/);
});

test.run();
