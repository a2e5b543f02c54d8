import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { missingRequirement, skipped } from '../../helpers/environment.js';
import { startPrivateSecretfsEnv, type PrivateSecretfsEnv } from '../../helpers/secretfs-env.js';
import { runCli } from '../../../harness/run-cli.js';

const test = suite('e2e/secret commands (init, put, get, ls, rm, history, policy, token)');
const CANARY = `CANARY-${randomBytes(8).toString('hex')}`;
let sfs: PrivateSecretfsEnv;
let skip: string | undefined;

test.before(async () => {
  skip = await missingRequirement({ docker: true, fuse: true });
  if (skip) return;
  // A dockerd of this suite's own: doctor times a lookup of an unknown volume name, which the
  // shared engine makes slow once other suites have stopped drivers it had used.
  sfs = await startPrivateSecretfsEnv();
});

test.after(async () => {
  await sfs?.stop();
});

test('init again changes nothing and says so; config and credential are 0600', async () => {
  if (skip) return skipped(skip);
  const again = await sfs.cli(['init', '--yes', '--format', 'json']);
  assert.is(again.code, 0, again.stderr);
  const report = JSON.parse(again.stdout);
  assert.is(report.changed, false, again.stdout);
  for (const file of ['config.json', 'driver/credential.json', 'store/root-token']) {
    assert.is((await stat(join(sfs.home, file))).mode & 0o777, 0o600, file);
  }
});

test('put from stdin, then get prints exactly the bytes', async () => {
  if (skip) return skipped(skip);
  const put = await sfs.cli(['put', 'secret/app-1', 'db-password'], { input: CANARY + '\n' });
  assert.is(put.code, 0, put.stderr);
  assert.is(put.stdout, '');
  const get = await sfs.cli(['get', 'secret/app-1', 'db-password']);
  assert.is(get.code, 0, get.stderr);
  assert.is(get.stdout, CANARY);
});

test('put merges keys by default and --replace replaces the secret', async () => {
  if (skip) return skipped(skip);
  await writeFile(join(sfs.home, 'port.txt'), '5432');
  assert.is((await sfs.cli(['put', 'secret/app-1', `port=@${join(sfs.home, 'port.txt')}`])).code, 0);
  const all = JSON.parse((await sfs.cli(['get', 'secret/app-1', '--format', 'json'])).stdout);
  assert.equal(all, { 'db-password': CANARY, port: '5432' });
  assert.is((await sfs.cli(['put', 'secret/tmp', 'a=-'], { input: '1' })).code, 0);
  assert.is((await sfs.cli(['put', 'secret/tmp', 'b=-', '--replace'], { input: '2' })).code, 0);
  assert.equal(JSON.parse((await sfs.cli(['get', 'secret/tmp', '--format', 'json'])).stdout), { b: '2' });
});

test('concurrent writers to one secret lose no key (check-and-set merge)', async () => {
  if (skip) return skipped(skip);
  const writers = Array.from({ length: 8 }, (_, i) => sfs.cli(['put', 'secret/race', `k${i}=-`], { input: `v${i}` }));
  const results = await Promise.all(writers);
  results.forEach((r) => assert.is(r.code, 0, r.stderr));
  const data = JSON.parse((await sfs.cli(['get', 'secret/race', '--format', 'json'])).stdout);
  assert.equal(Object.keys(data).sort(), ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7']);
});

test('a value on the command line is refused, changes nothing, and is not echoed', async () => {
  if (skip) return skipped(skip);
  const res = await sfs.cli(['put', 'secret/app-1', `db-password=${CANARY}-argv`]);
  assert.is(res.code, 1);
  assert.is(res.stdout, '');
  assert.not.match(res.stderr, /-argv/);
  assert.is((await sfs.cli(['get', 'secret/app-1', 'db-password'])).stdout, CANARY);
});

test('get formats: env, yaml, table; a missing key and a missing secret fail on stderr only', async () => {
  if (skip) return skipped(skip);
  assert.match((await sfs.cli(['get', 'secret/app-1', '--format', 'env'])).stdout, /^db_password="CANARY-/m);
  assert.match((await sfs.cli(['get', 'secret/app-1', '--format', 'yaml'])).stdout, /^"port": "5432"$/m);
  assert.match((await sfs.cli(['get', 'secret/app-1'])).stdout, /^KEY\s+VALUE/);
  const missingKey = await sfs.cli(['get', 'secret/app-1', 'nope']);
  assert.is(missingKey.code, 1);
  assert.is(missingKey.stdout, '');
  const missing = await sfs.cli(['get', 'secret/none']);
  assert.is(missing.code, 2);
  assert.is(missing.stdout, '');
  assert.match(missing.stderr, /no secret at secret\/none/);
});

test('ls, history, rm of one key keeps the others; rm --destroy without a TTY needs --yes', async () => {
  if (skip) return skipped(skip);
  assert.equal(JSON.parse((await sfs.cli(['ls', 'secret/', '--format', 'json'])).stdout).keys.sort(), ['app-1', 'race', 'tmp']);
  const history = JSON.parse((await sfs.cli(['history', 'secret/app-1', '--format', 'json'])).stdout);
  assert.is(history.current, 2);
  assert.is(history.versions.length, 2);
  assert.is((await sfs.cli(['rm', 'secret/app-1', 'port'])).code, 0);
  assert.equal(JSON.parse((await sfs.cli(['get', 'secret/app-1', '--format', 'json'])).stdout), { 'db-password': CANARY });
  const noTty = await sfs.cli(['rm', 'secret/tmp', '--destroy']);
  assert.is(noTty.code, 1);
  assert.match(noTty.stderr, /--yes/);
  assert.is((await sfs.cli(['rm', 'secret/tmp', '--destroy', '--yes'])).code, 0);
  assert.is((await sfs.cli(['history', 'secret/tmp'])).code, 2);
});

test('policy create --dry-run renders least privilege for KV v2 and writes nothing', async () => {
  if (skip) return skipped(skip);
  const res = await sfs.cli(['policy', 'create', 'app1-read', '--read', 'secret/app-1', '--list', '--dry-run']);
  assert.is(res.code, 0, res.stderr);
  assert.match(res.stdout, /path "secret\/data\/app-1" \{\n  capabilities = \["read"\]/);
  assert.not.ok(JSON.parse((await sfs.cli(['policy', 'ls', '--format', 'json'])).stdout).includes('app1-read'));
  assert.is((await sfs.cli(['policy', 'create', 'app1-read', '--read', 'secret/app-1'])).code, 0);
  assert.match((await sfs.cli(['policy', 'show', 'app1-read'])).stdout, /secret\/data\/app-1/);
});

test('token create --wrap prints only a wrapping token; lookup and revoke read the token from stdin', async () => {
  if (skip) return skipped(skip);
  const wrapped = await sfs.cli(['token', 'create', '--policy', 'app1-read', '--wrap', '60s', '--format', 'json']);
  assert.is(wrapped.code, 0, wrapped.stderr);
  assert.ok(JSON.parse(wrapped.stdout).wrapping_token);
  const created = await sfs.cli(['token', 'create', '--policy', 'app1-read', '--ttl', '10m']);
  const token = created.stdout.trim();
  assert.match(token, /^hvs\./);
  assert.not.match(created.stderr, new RegExp(token.replace('.', '\\.')));
  const info = JSON.parse((await sfs.cli(['token', 'lookup', '--format', 'json'], { input: token })).stdout);
  assert.ok(info.policies.includes('app1-read'));
  assert.is((await sfs.cli(['token', 'revoke'], { input: token })).code, 0);
  assert.is((await sfs.cli(['token', 'lookup'], { input: token })).code, 2);
  assert.is((await sfs.cli(['token', 'revoke'])).code, 1);
});

test('without a config every command says to run init, exit 1', async () => {
  const res = await runCli(['get', 'secret/app-1'], { env: { SECRETFS_HOME: '/nonexistent-secretfs', VAULT_ADDR: '', VAULT_TOKEN: '' } });
  assert.is(res.code, 1);
  assert.match(res.stderr, /docker secretfs init/);
});

test('doctor passes on a working set-up and --format json says so', async () => {
  if (skip) return skipped(skip);
  const res = await sfs.cli(['doctor', '--format', 'json']);
  assert.is(res.code, 0, res.stdout + res.stderr);
  assert.ok(JSON.parse(res.stdout).checks.every((c: { ok: boolean }) => c.ok));
});

test('the canary value is in no log, state, config or audit file', async () => {
  if (skip) return skipped(skip);
  const files: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory() && p !== join(sfs.home, 'mnt')) await walk(p);
      else if (entry.isFile()) files.push(p);
    }
  };
  await walk(sfs.home);
  assert.ok(files.some((f) => f.endsWith('audit.log')), files.join('\n'));
  for (const file of files) assert.not.ok((await readFile(file)).includes(CANARY), `canary found in ${file}`);
});

test.run();
