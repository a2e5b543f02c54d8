import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestStore, type TestStore } from '../../helpers/store.js';
import { postPlugin } from '../../unit/driver/plugin-client.js';
import { silentLogger } from '../../../lib/log.js';
import { resolvePaths, type Paths } from '../../../lib/paths.js';
import { startDriver, type RunningDriver } from '../../../lib/driver/daemon.js';
import { provisionDriverCredential } from '../../../lib/driver/driver-policy.js';
import { readDriverCredential } from '../../../lib/driver/credential.js';
import { allowSwarmPath, swarmPolicyName, SWARM_TOKEN_ROLE } from '../../../lib/swarm/access.js';
import { createVaultClient, type VaultClient } from '../../../lib/vault/client.js';
import { resolveKvMount, writeSecret } from '../../../lib/vault/kv.js';
import { writePolicy } from '../../../lib/vault/policy.js';
import { createToken, lookupAccessor, lookupSelf } from '../../../lib/vault/tokens.js';
import { VaultError } from '../../../lib/errors.js';

/**
 * Swarm's secret-provider protocol on the real driver socket (the daemon in this process, a
 * unix socket in a temporary plugin dir), against the real embedded store over HTTP, with the
 * driver credential that init provisions (not root).
 */
const test = suite('driver socket: SecretProvider.GetSecret');
let store: TestStore;
let paths: Paths;
let running: RunningDriver;
let root: VaultClient;
const CANARY = 'canary-7f3a-value';

const get = (body: unknown) => postPlugin(paths.driverSocket, '/SecretProvider.GetSecret', body);
const request = (labels: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  SecretName: 'db_pwd',
  SecretLabels: labels,
  ServiceID: 'svc-id-1',
  ServiceName: 'web',
  TaskID: 'task-1',
  TaskName: 'web.1.task-1',
  NodeID: 'node-1',
  ...extra,
});

async function auditLines(): Promise<{ path: string; accessor: string; status: number }[]> {
  return (await readFile(store.auditLog, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

test.before(async () => {
  store = await startTestStore();
  root = createVaultClient({ addr: store.addr, token: store.rootToken });
  const mount = await resolveKvMount(root, 'secret/app-1');
  await writeSecret(root, mount, 'secret/app-1', { 'db-password': CANARY, user: 'app', port: 5432 });
  await writeSecret(root, mount, 'secret/app-1', { 'db-password': `${CANARY}-v2`, user: 'app', port: 5432 });
  await writeSecret(root, mount, 'secret/empty', { blank: '' });
  await writeSecret(root, mount, 'secret/forbidden', { 'db-password': CANARY });
  paths = resolvePaths({ SECRETFS_HOME: store.home, SECRETFS_DRIVER_NAME: 'sfs-swarm-test', SECRETFS_PLUGIN_DIR: join(store.home, 'plugins') });
  await provisionDriverCredential(root, paths);
  await allowSwarmPath(root, 'secret/app-1');
  await allowSwarmPath(root, 'secret/empty');
  await allowSwarmPath(root, 'secret/missing');
  running = await startDriver(paths, { log: silentLogger });
});

test.after(async () => {
  await running?.close();
  await store?.stop();
});

test('Plugin.Activate lists secretprovider next to VolumeDriver', async () => {
  const res = await postPlugin(paths.driverSocket, '/Plugin.Activate');
  assert.is(res.status, 200);
  assert.equal(res.body, { Implements: ['VolumeDriver', 'secretprovider'] });
});

test('a key: its exact bytes, base64 in Value, DoNotReuse true', async () => {
  const res = await get(request({ 'secretfs.path': 'secret/app-1', 'secretfs.key': 'db-password' }));
  assert.is(res.status, 200);
  assert.equal(Object.keys(res.body).sort(), ['DoNotReuse', 'Err', 'Value']);
  assert.is(res.body.Err, '');
  assert.is(res.body.DoNotReuse, true);
  assert.is(Buffer.from(res.body.Value, 'base64').toString('utf8'), `${CANARY}-v2`);
});

test('secretfs.version pins a KV v2 version; a non-string value comes as JSON', async () => {
  const v1 = await get(request({ 'secretfs.path': 'secret/app-1', 'secretfs.key': 'db-password', 'secretfs.version': '1' }));
  assert.is(Buffer.from(v1.body.Value, 'base64').toString(), CANARY);
  const port = await get(request({ 'secretfs.path': 'secret/app-1', 'secretfs.key': 'port' }));
  assert.is(Buffer.from(port.body.Value, 'base64').toString(), '5432');
});

test('without a key: the whole secret as JSON (default), env or yaml, as the filesystem views render it', async () => {
  const json = await get(request({ 'secretfs.path': 'secret/app-1' }));
  assert.is(Buffer.from(json.body.Value, 'base64').toString(), JSON.stringify({ 'db-password': `${CANARY}-v2`, user: 'app', port: 5432 }, null, 2) + '\n');
  const env = await get(request({ 'secretfs.path': 'secret/app-1', 'secretfs.format': 'env' }));
  assert.is(Buffer.from(env.body.Value, 'base64').toString(), `db_password="${CANARY}-v2"\nport="5432"\nuser="app"\n`);
  const yaml = await get(request({ 'secretfs.path': 'secret/app-1', 'secretfs.format': 'yaml' }));
  assert.is(Buffer.from(yaml.body.Value, 'base64').toString(), `"db-password": "${CANARY}-v2"\n"port": "5432"\n"user": "app"\n`);
});

test('each service reads with its own token, minted through the swarm role and reused while fresh', async () => {
  const before = await auditLines();
  await get(request({ 'secretfs.path': 'secret/app-1', 'secretfs.key': 'user' }, { ServiceID: 'svc-a', ServiceName: 'alpha' }));
  await get(request({ 'secretfs.path': 'secret/app-1', 'secretfs.key': 'user' }, { ServiceID: 'svc-a', ServiceName: 'alpha', TaskID: 'task-2' }));
  await get(request({ 'secretfs.path': 'secret/app-1', 'secretfs.key': 'user' }, { ServiceID: 'svc-b', ServiceName: 'beta' }));
  const lines = (await auditLines()).slice(before.length);
  const mints = lines.filter((l) => l.path === `auth/token/create/${SWARM_TOKEN_ROLE}`);
  assert.is(mints.length, 2, 'one token per service, the second task of alpha reused it');
  const reads = lines.filter((l) => l.path === 'secret/data/app-1');
  assert.is(reads.length, 3, 'every task reads Vault (DoNotReuse)');
  const accessors = [...new Set(reads.map((r) => r.accessor))];
  assert.is(accessors.length, 2);
  const credential = (await readDriverCredential(paths))!;
  const driverAccessor = (await lookupSelf(createVaultClient({ addr: credential.addr, token: credential.token }))).accessor;
  assert.ok(mints.every((m) => m.accessor === driverAccessor), 'minted with the driver credential');
  assert.not.ok(accessors.includes(driverAccessor), 'the driver credential itself never reads a secret');
  const infos = await Promise.all(accessors.map((a) => lookupAccessor(root, a)));
  assert.equal(infos.map((i) => i.meta?.service).sort(), ['alpha', 'beta']);
  const alpha = infos.find((i) => i.meta?.service === 'alpha')!;
  assert.equal(alpha.policies, [swarmPolicyName('secret/app-1')]);
  assert.is(alpha.meta?.service_id, 'svc-a');
  assert.is(alpha.meta?.path, 'secret/app-1');
  assert.ok(alpha.ttlSeconds > 0 && alpha.ttlSeconds <= 300, `short-lived: ${alpha.ttlSeconds}s`);
});

test('malformed bodies: 400 with an Err, nothing read', async () => {
  const cases: [unknown, RegExp][] = [
    ['{"SecretName": ', /^malformed JSON in the request body$/],
    ['[1,2]', /^the request body must be a JSON object$/],
    [{}, /^missing SecretName: /],
    [{ SecretName: 7 }, /^SecretName must be a string$/],
    [{ SecretName: 'x', SecretLabels: ['secretfs.path'] }, /^SecretLabels must be an object of strings$/],
    [{ SecretName: 'x', SecretLabels: { 'secretfs.path': 1 } }, /^SecretLabels\["secretfs.path"\] must be a string$/],
    [{ SecretName: 'x', SecretLabels: {}, ServiceID: {} }, /^ServiceID must be a string$/],
  ];
  for (const [body, re] of cases) {
    const res = await get(body);
    assert.is(res.status, 400, JSON.stringify(body));
    assert.match(res.body.Err, re);
    assert.is(res.body.Value, undefined);
  }
});

test('missing or wrong labels: an Err naming the secret and the label', async () => {
  const cases: [Record<string, string>, string][] = [
    [{}, 'secret "db_pwd": label secretfs.path: missing: the Vault path to read, e.g. --label secretfs.path=secret/app-1'],
    [{ 'secretfs.pth': 'secret/app-1' }, 'secret "db_pwd": label secretfs.pth: unknown label; the secretfs labels are secretfs.path, secretfs.key, secretfs.format, secretfs.version'],
    [{ 'secretfs.path': '/etc/passwd' }, 'secret "db_pwd": label secretfs.path: path must be a Vault path like secret/app-1, not an absolute path: /etc/passwd'],
    [{ 'secretfs.path': 'secret/../sys' }, 'secret "db_pwd": label secretfs.path: path must not contain "." or ".." segments: secret/../sys'],
    [{ 'secretfs.path': 'secret/app-1', 'secretfs.format': 'toml' }, 'secret "db_pwd": label secretfs.format: "toml" is not one of json, env, yaml'],
    [{ 'secretfs.path': 'secret/app-1', 'secretfs.key': 'user', 'secretfs.format': 'env' }, 'secret "db_pwd": label secretfs.format: use it without secretfs.key: one key is always its exact bytes'],
    [{ 'secretfs.path': 'secret/app-1', 'secretfs.version': 'latest' }, 'secret "db_pwd": label secretfs.version: "latest" is not a positive KV v2 version number'],
    [{ 'secretfs.path': 'secret/app-1', 'secretfs.key': 'nope' }, 'secret "db_pwd": label secretfs.key: no key "nope" in secret/app-1 (its keys: db-password, port, user)'],
    [{ 'secretfs.path': 'secret/app-1', 'secretfs.version': '9' }, 'secret "db_pwd": label secretfs.version: no secret at secret/app-1'],
    [{ 'secretfs.path': 'secret/empty', 'secretfs.key': 'blank' }, 'secret "db_pwd": label secretfs.key: the value at secret/empty key blank is empty, and a Swarm secret must hold at least one byte'],
  ];
  for (const [labels, err] of cases) {
    const res = await get(request(labels));
    assert.is(res.status, 500, JSON.stringify(labels));
    assert.is(res.body.Err, err);
  }
});

test('unknown and unallowed paths: an Err with the cause and the fix, never a value', async () => {
  const missing = await get(request({ 'secretfs.path': 'secret/missing' }));
  assert.is(missing.body.Err, 'secret "db_pwd": label secretfs.path: no secret at secret/missing');
  const nomount = await get(request({ 'secretfs.path': 'nomount/app' }));
  assert.is(nomount.body.Err, 'secret "db_pwd": label secretfs.path: no secrets engine is mounted at nomount/app');
  const denied = await get(request({ 'secretfs.path': 'secret/forbidden', 'secretfs.key': 'db-password' }));
  assert.is(denied.status, 500);
  assert.is(
    denied.body.Err,
    'secret "db_pwd": label secretfs.path: permission denied reading secret/forbidden: the path is not allowed for Swarm secrets (an administrator allows it with `docker secretfs secret allow secret/forbidden`)',
  );
  assert.not.ok(JSON.stringify(denied.body).includes(CANARY));
  // The administrator allows it: the next task reads it, without a driver restart.
  await allowSwarmPath(root, 'secret/forbidden');
  const allowed = await get(request({ 'secretfs.path': 'secret/forbidden', 'secretfs.key': 'db-password' }));
  assert.is(Buffer.from(allowed.body.Value, 'base64').toString(), CANARY);
  const log = await readFile(paths.driverLogFile, 'utf8').catch(() => '');
  assert.not.ok(log.includes(CANARY), 'no value in the driver log');
});

test('the boundary is Vault: the driver credential can neither write a swarm policy nor mint outside the role', async () => {
  const credential = (await readDriverCredential(paths))!;
  const driver = createVaultClient({ addr: credential.addr, token: credential.token });
  const write = await writePolicy(driver, swarmPolicyName('secret/forbidden-too'), 'path "secret/*" { capabilities = ["read"] }').then(
    () => undefined,
    (err) => err,
  );
  assert.instance(write, VaultError);
  assert.is((write as VaultError).status, 403);
  const mint = await createToken(driver, { role: SWARM_TOKEN_ROLE, policies: ['secretfs-driver'] }).then(
    () => undefined,
    (err) => err,
  );
  assert.instance(mint, VaultError);
  assert.is((mint as VaultError).status, 400);
  assert.match((mint as VaultError).message, /secretfs-driver/);
});

test.run();
