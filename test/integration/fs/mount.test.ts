/**
 * Real FUSE mounts against the real embedded store over HTTP. The mount is served by this
 * process's JS thread, so every access to it goes through a child process (sh, cat, ls, stat)
 * or fs/promises, never a synchronous fs call.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { UsageError } from '../../../lib/errors.js';
import { mountSecretFs, type SecretFsMount } from '../../../lib/fs/mount.js';
import { isMounted } from '../../../lib/fs/mount-table.js';
import { parseFsOptions } from '../../../lib/fs/options.js';
import { createStoreServer, type StoreServer } from '../../../lib/localvault/server.js';
import { createVaultClient, type VaultClient } from '../../../lib/vault/client.js';
import { resolveKvMount, writeSecret } from '../../../lib/vault/kv.js';
import { writePolicy } from '../../../lib/vault/policy.js';
import { createToken } from '../../../lib/vault/tokens.js';
import { stopChildren } from '../../helpers/children.js';

const RUNNER = fileURLToPath(new URL('./fixtures/mount-runner.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

interface Ctx {
  tmp: string;
  dataDir: string;
  auditFile: string;
  server?: StoreServer;
  port: number;
  addr: string;
  root: VaultClient;
  rootToken: string;
  mounts: SecretFsMount[];
  children: ChildProcess[];
}

const test = suite<Ctx>('fs/mount (FUSE + embedded store)');

async function startServer(ctx: Ctx): Promise<void> {
  ctx.server = await createStoreServer({ dataDir: ctx.dataDir, port: ctx.port, auditLog: ctx.auditFile });
  ctx.port = ctx.server.port;
  ctx.addr = ctx.server.address;
}

async function stopServer(ctx: Ctx): Promise<void> {
  await ctx.server?.close();
  ctx.server = undefined;
}

test.before(async (ctx) => {
  ctx.tmp = await mkdtemp(join(tmpdir(), 'secretfs-fs-it-'));
  ctx.dataDir = join(ctx.tmp, 'store');
  ctx.auditFile = join(ctx.tmp, 'store-audit.log');
  ctx.port = 0;
  ctx.mounts = [];
  ctx.children = [];
  await startServer(ctx);
  ctx.rootToken = (await readFile(ctx.server!.rootTokenFile, 'utf8')).trim();
  ctx.root = createVaultClient({ addr: ctx.addr, token: ctx.rootToken, timeoutMs: 2000 });
});

test.after.each(async (ctx) => {
  for (const m of ctx.mounts.splice(0)) await m.unmount().catch(() => {});
  const killed = await stopChildren(ctx.children.splice(0));
  if (!ctx.server) await startServer(ctx);
  assert.equal(killed, [], 'every mount runner left stops on SIGTERM');
});

test.after(async (ctx) => {
  await stopServer(ctx);
  await rm(ctx.tmp, { recursive: true, force: true });
});

function sh(script: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', script], { env: { ...process.env, ...env }, timeout: 20_000, maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

async function put(ctx: Ctx, path: string, data: Record<string, unknown>, client = ctx.root): Promise<void> {
  await writeSecret(client, await resolveKvMount(client, path), path, data);
}

async function mount(ctx: Ctx, path: string, opts: Record<string, string> = {}, client = ctx.root, extra: { audit?: { file: string }; prefetch?: boolean } = {}): Promise<SecretFsMount> {
  const dir = join(ctx.tmp, `mnt-${ctx.mounts.length}-${Math.random().toString(36).slice(2, 8)}`);
  const m = await mountSecretFs({ vault: client, path, mountpoint: dir, options: parseFsOptions(opts), ...extra });
  ctx.mounts.push(m);
  return m;
}

async function storeReads(ctx: Ctx, apiPath: string): Promise<number> {
  const lines = (await readFile(ctx.auditFile, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return lines.filter((l) => l.method === 'GET' && l.path === apiPath).length;
}

const APP1 = { 'db-password': 's3cr3t', port: 5432, tls: { ca: '-----BEGIN CERTIFICATE-----\nMII...' } };

test('cat, ls, stat: exact bytes, keys as files, modes, owner and sizes', async (ctx) => {
  await put(ctx, 'secret/app-1', APP1);
  const m = await mount(ctx, 'secret/app-1', { uid: '1234', gid: '5678', mode: '0440', dir_mode: '0550' });
  const d = q(m.mountpoint);
  assert.is((await sh(`cat ${d}/db-password`)).stdout, 's3cr3t');
  assert.is((await sh(`cat ${d}/port`)).stdout, '5432');
  assert.equal(JSON.parse((await sh(`cat ${d}/tls`)).stdout), APP1.tls);
  assert.is((await sh(`ls ${d}`)).stdout, 'db-password\nport\ntls\n');
  assert.is((await sh(`stat -c '%a %u %g %s %F' ${d}/db-password`)).stdout.trim(), '440 1234 5678 6 regular file');
  assert.is((await sh(`stat -c '%a %u %g %F' ${d}`)).stdout.trim(), '550 1234 5678 directory');
  const sizes = (await sh(`stat -c '%n %s' ${d}/port ${d}/tls`)).stdout.trim().split('\n').map((l) => Number(l.split(' ').pop()));
  assert.equal(sizes, [4, JSON.stringify(APP1.tls).length]);
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  const line = mounts.split('\n').find((l) => l.split(' ')[1] === m.mountpoint)!;
  assert.match(line, /^secretfs:secret\/app-1 \S+ fuse\.secretfs ro,/);
  assert.match(line, /allow_other/);
  assert.match(line, /default_permissions/);
});

test('views: .secretfs.json and .secretfs.env are the whole secret; ls -a shows them', async (ctx) => {
  await put(ctx, 'secret/app-1', APP1);
  const m = await mount(ctx, 'secret/app-1');
  const d = q(m.mountpoint);
  assert.equal(JSON.parse((await sh(`cat ${d}/.secretfs.json`)).stdout), APP1);
  const env = await sh(`set -a; . ${d}/.secretfs.env; printf '%s|%s' "$db_password" "$port"`);
  assert.is(env.stdout, 's3cr3t|5432');
  assert.match((await sh(`ls -a ${d}`)).stdout, /\.secretfs\.env\n\.secretfs\.json\n/);
});

test('sub-paths Vault lists are subdirectories', async (ctx) => {
  await put(ctx, 'secret/app-2', { a: '1' });
  await put(ctx, 'secret/app-2/db', { user: 'app' });
  await put(ctx, 'secret/app-2/db/replica', { host: 'r1' });
  const m = await mount(ctx, 'secret/app-2');
  const d = q(m.mountpoint);
  assert.is((await sh(`ls ${d}`)).stdout, 'a\ndb\n');
  assert.is((await sh(`cat ${d}/db/user`)).stdout, 'app');
  assert.is((await sh(`cat ${d}/db/replica/host`)).stdout, 'r1');
  assert.is((await sh(`stat -c %F ${d}/db`)).stdout.trim(), 'directory');
});

test('ENOENT for a missing key', async (ctx) => {
  await put(ctx, 'secret/app-1', APP1);
  const m = await mount(ctx, 'secret/app-1');
  const r = await sh(`cat ${q(m.mountpoint)}/nope`);
  assert.is.not(r.code, 0);
  assert.match(r.stderr, /No such file or directory/);
});

test('EACCES with a token whose policy lacks the path', async (ctx) => {
  await put(ctx, 'secret/app-1', APP1);
  await put(ctx, 'secret/other', { k: 'v' });
  await writePolicy(ctx.root, 'fs-it-app1', 'path "secret/data/app-1" { capabilities = ["read"] }\n');
  const t = await createToken(ctx.root, { policies: ['fs-it-app1'], ttl: '10m' });
  const limited = ctx.root.withToken(t.token);
  const ok = await mount(ctx, 'secret/app-1', {}, limited);
  assert.is((await sh(`cat ${q(ok.mountpoint)}/db-password`)).stdout, 's3cr3t');
  const denied = await mount(ctx, 'secret/other', {}, limited);
  const r = await sh(`cat ${q(denied.mountpoint)}/k`);
  assert.is.not(r.code, 0);
  assert.match(r.stderr, /Permission denied/);
});

test('EIO when the store is stopped; served again after it restarts', async (ctx) => {
  await put(ctx, 'secret/app-1', APP1);
  const m = await mount(ctx, 'secret/app-1', { cache_ttl: '200ms' });
  const d = q(m.mountpoint);
  assert.is((await sh(`cat ${d}/db-password`)).stdout, 's3cr3t');
  await stopServer(ctx);
  await new Promise((r) => setTimeout(r, 300));
  const started = Date.now();
  const r = await sh(`cat ${d}/db-password`);
  assert.is.not(r.code, 0);
  assert.match(r.stderr, /Input\/output error/);
  assert.ok(Date.now() - started < 10_000, 'answers well within the FUSE timeout');
  await startServer(ctx);
  await new Promise((r) => setTimeout(r, 300));
  assert.is((await sh(`cat ${d}/db-password`)).stdout, 's3cr3t');
});

test('stale_if_error serves the last good value while the store is down, never after a 403', async (ctx) => {
  await put(ctx, 'secret/app-3', { k: 'good' });
  await writePolicy(ctx.root, 'fs-it-app3', 'path "secret/data/app-3" { capabilities = ["read"] }\n');
  const t = await createToken(ctx.root, { policies: ['fs-it-app3'], ttl: '10m' });
  const limited = ctx.root.withToken(t.token);
  const m = await mount(ctx, 'secret/app-3', { cache_ttl: '200ms', stale_if_error: '1m' }, limited);
  const d = q(m.mountpoint);
  assert.is((await sh(`cat ${d}/k`)).stdout, 'good');
  await stopServer(ctx);
  await new Promise((r) => setTimeout(r, 300));
  assert.is((await sh(`cat ${d}/k`)).stdout, 'good', 'stale value served while the store is down');
  await startServer(ctx);
  // Access revoked: the policy no longer grants the path.
  await writePolicy(ctx.root, 'fs-it-app3', 'path "secret/data/nothing" { capabilities = ["read"] }\n');
  await new Promise((r) => setTimeout(r, 300));
  const denied = await sh(`cat ${d}/k`);
  assert.match(denied.stderr, /Permission denied/);
  await stopServer(ctx);
  await new Promise((r) => setTimeout(r, 300));
  const after = await sh(`cat ${d}/k`);
  assert.is.not(after.code, 0);
  assert.not.match(after.stdout, /good/);
  assert.match(after.stderr, /Input\/output error/);
});

test('a rotated value is seen by a new open within cache_ttl (longer and same-size values)', async (ctx) => {
  await put(ctx, 'secret/rot', { k: 'v1' });
  const m = await mount(ctx, 'secret/rot', { cache_ttl: '2s' });
  const d = q(m.mountpoint);
  for (let i = 0; i < 20; i++) assert.is((await sh(`cat ${d}/k`)).stdout, 'v1');
  for (const next of ['v2', 'a-much-longer-rotated-value', 'a-much-longer-rotated-valuf']) {
    await put(ctx, 'secret/rot', { k: next });
    const started = Date.now();
    let seen = '';
    while (Date.now() - started < 4000) {
      seen = (await sh(`cat ${d}/k`)).stdout;
      if (seen === next) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const elapsed = Date.now() - started;
    assert.is(seen, next);
    // cache_ttl plus the cost of one poll round.
    assert.ok(elapsed <= 2000 + 250, `seen after ${elapsed} ms`);
    assert.is(Number((await sh(`stat -c %s ${d}/k`)).stdout), next.length);
  }
});

test('100 concurrent opens of an uncached secret cause one Vault read; right after a mount that reads it, one read in all', async (ctx) => {
  await put(ctx, 'secret/busy', { k: 'v' });
  const script = `const fs=require('fs/promises');Promise.all(Array.from({length:100},()=>fs.readFile(process.argv[1],'utf8'))).then(r=>{if(!r.every(x=>x==='v'))process.exit(3)})`;
  // Mounted without the prefetch: the opens find nothing cached and share one read.
  const m = await mount(ctx, 'secret/busy', { cache_ttl: '5s' }, ctx.root, { prefetch: false });
  const before = await storeReads(ctx, 'secret/data/busy');
  const r = await sh(`node -e ${q(script)} ${q(m.mountpoint + '/k')}`, { UV_THREADPOOL_SIZE: '128' });
  assert.is(r.code, 0, r.stderr);
  assert.is((await storeReads(ctx, 'secret/data/busy')) - before, 1, 'the store saw one read');
  assert.is(m.store.stats().vaultReads, 1);
  // As every mount does: the mount's read and the opens (which join it or find its value) are one read.
  const before2 = await storeReads(ctx, 'secret/data/busy');
  const m2 = await mount(ctx, 'secret/busy', { cache_ttl: '5s' });
  const r2 = await sh(`node -e ${q(script)} ${q(m2.mountpoint + '/k')}`, { UV_THREADPOOL_SIZE: '128' });
  assert.is(r2.code, 0, r2.stderr);
  assert.is((await storeReads(ctx, 'secret/data/busy')) - before2, 1, 'one read for the mount and the 100 opens');
  assert.is(m2.store.stats().vaultReads, 1);
});

test('binary values (encoding=base64) and 1 MiB values', async (ctx) => {
  // 768 KiB: its base64 is 1 MiB, Vault's default max_json_string_value_length (a longer string is refused, 400).
  const big = Buffer.alloc(768 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
  const text = 'x'.repeat(1024 * 1024 - 1) + 'y';
  await put(ctx, 'secret/bin', { blob: big.toString('base64') });
  await put(ctx, 'secret/big', { text });
  const bin = await mount(ctx, 'secret/bin', { encoding: 'base64' });
  const got = await readFile(join(bin.mountpoint, 'blob'));
  assert.ok(got.equals(big), 'binary bytes round-trip');
  assert.is((await stat(join(bin.mountpoint, 'blob'))).size, big.length);
  const plain = await mount(ctx, 'secret/big');
  const r = await sh(`wc -c < ${q(plain.mountpoint)}/text; tail -c 1 ${q(plain.mountpoint)}/text`);
  assert.is(r.stdout, `${text.length}\ny`);
});

test('unicode keys', async (ctx) => {
  await put(ctx, 'secret/uni', { 'пароль-🔑': 'ünïcødé', 'key with spaces': 'ok' });
  const m = await mount(ctx, 'secret/uni');
  const d = q(m.mountpoint);
  assert.is((await sh(`cat ${d}/'пароль-🔑'`)).stdout, 'ünïcødé');
  assert.is((await sh(`cat ${d}/'key with spaces'`)).stdout, 'ok');
  assert.is((await sh(`ls ${d}`, { LC_ALL: 'C.UTF-8' })).stdout, 'key with spaces\nпароль-🔑\n');
});

test('KV v1 and KV v2 are detected per mount; version=N pins a KV v2 version', async (ctx) => {
  await ctx.root.request('POST', 'sys/mounts/kv1', { body: { type: 'kv', options: { version: '1' } } });
  await put(ctx, 'kv1/app', { k: 'from-v1' });
  const v1 = await mount(ctx, 'kv1/app');
  assert.is((await sh(`cat ${q(v1.mountpoint)}/k`)).stdout, 'from-v1');
  await put(ctx, 'secret/ver', { k: 'one' });
  await put(ctx, 'secret/ver', { k: 'two' });
  const latest = await mount(ctx, 'secret/ver');
  assert.is((await sh(`cat ${q(latest.mountpoint)}/k`)).stdout, 'two');
  const pinned = await mount(ctx, 'secret/ver', { version: '1' });
  assert.is((await sh(`cat ${q(pinned.mountpoint)}/k`)).stdout, 'one');
  await assert_rejects(() => mount(ctx, 'kv1/app', { version: '1' }), /KV v2/);
});

async function assert_rejects(fn: () => Promise<unknown>, pattern: RegExp): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    assert.match((err as Error).message, pattern);
    return err;
  }
  assert.unreachable('expected a rejection');
}

test('hidden listing: ls shows nothing, files still open by name', async (ctx) => {
  await put(ctx, 'secret/app-1', APP1);
  const m = await mount(ctx, 'secret/app-1', { listing: 'hidden' });
  assert.is((await sh(`ls -A ${q(m.mountpoint)}`)).stdout, '');
  assert.is((await sh(`cat ${q(m.mountpoint)}/db-password`)).stdout, 's3cr3t');
});

test('every write operation fails with EROFS', async (ctx) => {
  await put(ctx, 'secret/app-1', APP1);
  const m = await mount(ctx, 'secret/app-1');
  const d = q(m.mountpoint);
  const ops = {
    write: `echo x > ${d}/db-password`,
    append: `echo x >> ${d}/db-password`,
    create: `touch ${d}/new-file`,
    unlink: `rm -f ${d}/db-password`,
    rename: `mv ${d}/db-password ${d}/renamed`,
    chmod: `chmod 777 ${d}/db-password`,
    chown: `chown 1:1 ${d}/db-password`,
    truncate: `truncate -s 0 ${d}/db-password`,
    mkdir: `mkdir ${d}/dir`,
    rmdir: `rmdir ${d}/tls`,
    symlink: `ln -s /etc/passwd ${d}/link`,
    link: `ln ${d}/db-password ${d}/hard`,
    mknod: `mkfifo ${d}/fifo`,
    utimens: `touch -m ${d}/db-password`,
  };
  for (const [name, cmd] of Object.entries(ops)) {
    const r = await sh(cmd);
    assert.is.not(r.code, 0, name);
    assert.match(r.stderr, /Read-only file system/, `${name}: ${r.stderr}`);
  }
  assert.is((await sh(`cat ${d}/db-password`)).stdout, 's3cr3t', 'nothing changed');
});

test('each open is audited (0600, no values)', async (ctx) => {
  await put(ctx, 'secret/app-1', APP1);
  const auditFile = join(ctx.tmp, 'fs-audit.log');
  const m = await mount(ctx, 'secret/app-1', {}, ctx.root, { audit: { file: auditFile } });
  await sh(`cat ${q(m.mountpoint)}/db-password ${q(m.mountpoint)}/nope`);
  await m.unmount();
  const text = await readFile(auditFile, 'utf8');
  assert.is((await stat(auditFile)).mode & 0o777, 0o600);
  assert.not.match(text, /s3cr3t/);
  const lines = text.trim().split('\n').map((l) => JSON.parse(l));
  // `cat nope` fails at the lookup, before any open: only real opens are audited.
  assert.is(lines.length, 1);
  assert.equal(Object.keys(lines[0]), ['time', 'mount', 'path', 'key', 'version', 'result']);
  assert.equal([lines[0].mount, lines[0].path, lines[0].key, lines[0].result], [m.mountpoint, 'secret/app-1', 'db-password', 'ok']);
  assert.ok(typeof lines[0].version === 'number' && lines[0].version >= 1);
});

function startRunner(ctx: Ctx, path: string, dir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', RUNNER, path, dir], {
    cwd: REPO,
    env: { ...process.env, VAULT_ADDR: ctx.addr, VAULT_TOKEN: ctx.rootToken },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  ctx.children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (b) => (err += b));
    child.stdout!.on('data', (b) => {
      out += b;
      if (out.includes('ready')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`runner exited ${code}: ${err}`)));
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

test('SIGTERM unmounts cleanly: no mount left', async (ctx) => {
  await put(ctx, 'secret/app-1', APP1);
  const dir = join(ctx.tmp, 'runner-term');
  const child = await startRunner(ctx, 'secret/app-1', dir);
  assert.is((await sh(`cat ${q(dir)}/db-password`)).stdout, 's3cr3t');
  assert.ok(await isMounted(dir));
  child.kill('SIGTERM');
  assert.is(await exited(child), 0);
  assert.not.ok(await isMounted(dir));
});

test('a stale mount at DIR (its process killed) is cleaned before mounting', async (ctx) => {
  await put(ctx, 'secret/app-1', APP1);
  const dir = join(ctx.tmp, 'runner-kill');
  const child = await startRunner(ctx, 'secret/app-1', dir);
  child.kill('SIGKILL');
  await exited(child);
  assert.ok(await isMounted(dir), 'the killed process left a dead mount');
  assert.match((await sh(`ls ${q(dir)}`)).stderr, /Transport endpoint is not connected/);
  const m = await mountSecretFs({ vault: ctx.root, path: 'secret/app-1', mountpoint: dir, options: parseFsOptions({}) });
  ctx.mounts.push(m);
  assert.is((await sh(`cat ${q(dir)}/db-password`)).stdout, 's3cr3t');
  await m.unmount();
  assert.not.ok(await isMounted(dir));
});

test('a path with .., NUL or a leading / is refused with a clear error, and nothing is mounted', async (ctx) => {
  for (const bad of ['secret/../sys', 'secret/a\0b', '/secret/app-1', 'secret//x', '']) {
    const dir = join(ctx.tmp, 'refused');
    const err = await assert_rejects(() => mountSecretFs({ vault: ctx.root, path: bad, mountpoint: dir, options: parseFsOptions({}) }), /path/);
    assert.instance(err, UsageError);
    assert.not.ok(await isMounted(dir));
  }
});

test.run();
