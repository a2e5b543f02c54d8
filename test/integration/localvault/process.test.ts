import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolvePaths, type Paths } from '../../../lib/paths.js';
import { builtCliEntry } from '../../../lib/version.js';
import { parseStoreAddr, renderStoreEnv, startStoreInBackground, stopStore, storeStatus } from '../../../lib/localvault/process.js';
import { ENGINE_FILE } from '../../../lib/localvault/engine.js';
import { StoreError, UsageError } from '../../../lib/errors.js';
import { startTestStoreProcess, vaultClient } from '../../helpers/store.js';

const test = suite('localvault process control');
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
let home = '';
let paths: Paths;

const entry = (addr: string) => ({ file: process.execPath, args: ['--import', 'tsx', join(ROOT, 'test/helpers/serve-store.ts'), addr], cwd: ROOT });

test.before.each(async () => {
  home = await mkdtemp(join(tmpdir(), 'lv-proc-'));
  paths = resolvePaths({ SECRETFS_HOME: home });
});
test.after.each(async () => {
  await stopStore(paths).catch(() => {});
  await rm(home, { recursive: true, force: true });
});

test('start in background, status, env, stop: pid and address files come and go', async () => {
  const before = await storeStatus(paths);
  assert.is(before.running, false);
  assert.is(before.health, null);
  const started = await startStoreInBackground(paths, { addr: 'http://127.0.0.1:0', command: entry('http://127.0.0.1:0') });
  assert.match(started.address, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.is(started.alreadyRunning, false);
  assert.is((await readFile(paths.storePidFile, 'utf8')).trim(), String(started.pid));
  assert.is((await readFile(paths.storeAddrFile, 'utf8')).trim(), started.address);
  assert.is((await stat(paths.storePidFile)).mode & 0o777, 0o600);
  const status = await storeStatus(paths);
  assert.is(status.running, true);
  assert.is(status.pid, started.pid);
  assert.is(status.address, started.address);
  assert.equal({ initialized: status.health?.initialized, sealed: status.health?.sealed }, { initialized: true, sealed: false });
  assert.is(status.rootTokenFile, join(paths.storeDir, 'root-token'));
  assert.is((await stat(status.rootTokenFile)).mode & 0o777, 0o600);
  const again = await startStoreInBackground(paths, { command: entry('http://127.0.0.1:0') });
  assert.is(again.alreadyRunning, true);
  assert.is(again.pid, started.pid);
  const env = await renderStoreEnv(paths);
  const token = (await readFile(status.rootTokenFile, 'utf8')).trim();
  assert.is(env, `export VAULT_ADDR='${started.address}'\nexport VAULT_TOKEN='${token}'\n`);
  const v = vaultClient(started.address, token);
  await v.write('secret/data/proc', { data: { a: '1' } });
  const stopped = await stopStore(paths);
  assert.equal(stopped, { stopped: true, pid: started.pid });
  assert.not.ok(await stat(paths.storePidFile).then(() => true, () => false), 'pid file removed');
  assert.not.ok(await stat(paths.storeAddrFile).then(() => true, () => false), 'addr file removed');
  assert.is((await storeStatus(paths)).running, false);
  assert.equal(await stopStore(paths), { stopped: false, pid: null });
  const log = await readFile(paths.storeLogFile, 'utf8');
  assert.not.ok(log.includes(token), 'the log holds no token');
});

test('a damaged database file: start fails with StoreError and the log says why', async () => {
  await startStoreInBackground(paths, { command: entry('http://127.0.0.1:0') });
  await stopStore(paths);
  const file = join(paths.storeDir, ENGINE_FILE);
  await writeFile(file, (await readFile(file)).subarray(0, 30));
  try {
    await startStoreInBackground(paths, { command: entry('http://127.0.0.1:0'), timeoutMs: 10_000 });
    assert.unreachable('started on a damaged file');
  } catch (err) {
    assert.instance(err, StoreError);
    assert.match((err as StoreError).message, /exited during start/);
    assert.match(String((err as StoreError).hint), /damaged/);
  }
});

test('startTestStoreProcess runs a real separate store process and restarts it on the same address', async () => {
  const s = await startTestStoreProcess();
  try {
    assert.ok(s.pid !== process.pid);
    const v = vaultClient(s.addr, s.rootToken);
    await v.write('secret/data/p', { data: { a: 'x' } });
    const oldPid = s.pid;
    await s.restart();
    assert.ok(s.pid !== oldPid);
    assert.is((await v.read('secret/data/p')).data.data.a, 'x');
  } finally {
    await s.stop();
  }
});

test('address parsing and the CLI entry path', () => {
  assert.equal(parseStoreAddr('http://127.0.0.1:8282'), { host: '127.0.0.1', port: 8282 });
  assert.equal(parseStoreAddr('http://[::1]:0'), { host: '::1', port: 0 });
  assert.throws(() => parseStoreAddr('https://127.0.0.1:8282'), (e: unknown) => e instanceof UsageError);
  assert.throws(() => parseStoreAddr('nonsense'), (e: unknown) => e instanceof UsageError);
  assert.is(builtCliEntry(), join(ROOT, 'dist', 'cli', 'main.js'));
});

test('a stale pid file naming another live process is ignored, never signalled', async () => {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(paths.runDir, { recursive: true });
  await writeFile(paths.storePidFile, `${process.ppid}\n`);
  const status = await storeStatus(paths);
  assert.is(status.running, false);
  assert.equal(await stopStore(paths), { stopped: false, pid: null });
});

test('renderStoreEnv without a store is a StoreError', async () => {
  try {
    await renderStoreEnv(paths);
    assert.unreachable();
  } catch (err) {
    assert.instance(err, StoreError);
  }
});

test.run();
