/**
 * What a first read of a fresh volume costs, counted (never timed): the FUSE requests that reach
 * the filesystem's JS handlers (lib/fs/handlers.ts counts them) and the requests the real
 * embedded store receives (its audit log): the mount reads the secret (prefetch), so the first
 * open waits for no GET. The reads go through child processes (cat, head); the
 * mount is served by this process.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { FuseRequestCounts } from '../../../lib/fs/handlers.js';
import { mountSecretFs, type SecretFsMount } from '../../../lib/fs/mount.js';
import { parseFsOptions } from '../../../lib/fs/options.js';
import { createStoreServer, type StoreServer } from '../../../lib/localvault/server.js';
import { createVaultClient, type VaultClient } from '../../../lib/vault/client.js';
import { resolveKvMount, writeSecret } from '../../../lib/vault/kv.js';
import { missingRequirement, skipped } from '../../helpers/environment.js';

interface Ctx {
  tmp: string;
  auditFile: string;
  server: StoreServer;
  root: VaultClient;
  mounts: SecretFsMount[];
  skip?: string;
}

const test = suite<Ctx>('fs: the requests of a cold read (FUSE + embedded store)');

test.before(async (ctx) => {
  ctx.mounts = [];
  ctx.skip = await missingRequirement({ fuse: true });
  if (ctx.skip) return skipped(ctx.skip, 'suite');
  ctx.tmp = await mkdtemp(join(tmpdir(), 'secretfs-cold-read-'));
  ctx.auditFile = join(ctx.tmp, 'store-audit.log');
  ctx.server = await createStoreServer({ dataDir: join(ctx.tmp, 'store'), port: 0, auditLog: ctx.auditFile });
  ctx.root = createVaultClient({ addr: ctx.server.address, token: (await readFile(ctx.server.rootTokenFile, 'utf8')).trim() });
});

test.after(async (ctx) => {
  for (const m of ctx.mounts.splice(0)) await m.unmount().catch(() => {});
  await ctx.server?.close();
  if (ctx.tmp) await rm(ctx.tmp, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile(cmd, args, { timeout: 10_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))));
}

/** The store's audit log as `METHOD path` lines, once it is stable (a request of the mount may still be in flight). */
async function storeRequests(ctx: Ctx): Promise<string[]> {
  let last = '';
  for (let i = 0; i < 30; i++) {
    await sleep(100);
    const text = await readFile(ctx.auditFile, 'utf8').catch(() => '');
    if (text === last && i > 0) break;
    last = text;
  }
  return last.split('\n').filter(Boolean).map((l) => {
    const r = JSON.parse(l) as { method: string; path: string };
    return `${r.method} ${r.path}`;
  });
}

/** The requests that reached the handlers while `fn` ran (a release arrives after close(2) returned: waited for). */
async function counted(m: SecretFsMount, fn: () => Promise<unknown>): Promise<FuseRequestCounts> {
  const before = m.handlers.requestCounts();
  await fn();
  for (let i = 0; i < 20 && m.handlers.openFileCount() > 0; i++) await sleep(20);
  await sleep(50);
  const after = m.handlers.requestCounts();
  return Object.fromEntries(Object.entries(after).filter(([op, n]) => n !== before[op]).map(([op, n]) => [op, n - (before[op] ?? 0)]));
}

test('a first cat of a fresh volume: lookup, open, read, the EOF read, release; the mount made the one GET of the secret', async (ctx) => {
  if (ctx.skip) return;
  const path = 'secret/cold/app';
  await writeSecret(ctx.root, await resolveKvMount(ctx.root, path), path, { 'db-password': 's3cr3t', other: 'x' });
  const mark = (await storeRequests(ctx)).length;
  const m = await mountSecretFs({ vault: ctx.root, path, mountpoint: join(ctx.tmp, 'mnt'), options: parseFsOptions({}) });
  ctx.mounts.push(m);
  const file = join(m.mountpoint, 'db-password');
  // The mount's own requests: libfuse's init, the root's attributes, and a statfs that sets up
  // libfuse's second worker thread (fuse-native hands a worker's first request over once more).
  const atMount = Object.fromEntries(Object.entries(m.handlers.requestCounts()).filter(([, n]) => n > 0));
  assert.equal(atMount, { init: 1, getattr: 1, statfs: 1 });

  // Right after the mount, as a container's first read follows VolumeDriver.Mount: the open finds
  // the value the mount read (or joins that read if it is still in flight).
  let out = '';
  const cold = await counted(m, async () => (out = await run('cat', [file])));
  assert.is(out, 's3cr3t');
  // getattr answers libfuse's lookup of the name (the root's attributes were asked at mount).
  // With direct_io, cat's second read(2) is a request too, answered 0 (end of file).
  assert.equal(cold, { getattr: 1, open: 1, read: 2, release: 1 });
  // The mount detects the KV engine once and reads the secret once; the open adds nothing.
  assert.equal((await storeRequests(ctx)).slice(mark), ['GET sys/internal/ui/mounts/secret/cold/app', 'GET secret/data/cold/app']);
  assert.is(m.store.stats().vaultReads, 1);

  // The same file again, and another key of the same secret: no lookup of a cached name, no Vault.
  const warm = await counted(m, () => run('cat', [file]));
  assert.equal(warm, { open: 1, read: 2, release: 1 });
  const other = await counted(m, () => run('head', ['-c', '1', join(m.mountpoint, 'other')]));
  assert.equal(other, { getattr: 1, open: 1, read: 1, release: 1 });
  assert.equal((await storeRequests(ctx)).slice(mark + 1), ['GET secret/data/cold/app'], 'still one GET');
});

test('the mount reads the secret before any open; a failed read (no secret yet) does not fail the mount and is what the first open answers', async (ctx) => {
  if (ctx.skip) return;
  const path = 'secret/cold/prefetched';
  await writeSecret(ctx.root, await resolveKvMount(ctx.root, path), path, { key: 'v' });
  const mark = (await storeRequests(ctx)).length;
  const m = await mountSecretFs({ vault: ctx.root, path, mountpoint: join(ctx.tmp, 'mnt-prefetched'), options: parseFsOptions({}) });
  ctx.mounts.push(m);
  assert.equal((await storeRequests(ctx)).slice(mark), ['GET sys/internal/ui/mounts/secret/cold/prefetched', 'GET secret/data/cold/prefetched'], 'read at mount, nothing opened');
  assert.is(m.store.stats().vaultReads, 1);

  const missing = 'secret/cold/not-written-yet';
  const mark2 = (await storeRequests(ctx)).length;
  const m2 = await mountSecretFs({ vault: ctx.root, path: missing, mountpoint: join(ctx.tmp, 'mnt-missing'), options: parseFsOptions({}) });
  ctx.mounts.push(m2);
  assert.equal((await storeRequests(ctx)).slice(mark2), ['GET sys/internal/ui/mounts/secret/cold/not-written-yet', 'GET secret/data/cold/not-written-yet']);
  const err = await run('cat', [join(m2.mountpoint, 'key')]).then(() => undefined, (e: Error) => e);
  assert.ok(err, 'cat of a key of a secret that does not exist fails');
  assert.match(String((err as Error).message), /No such file or directory/);
  // The 404 the mount got is the answer within the cache time: no second GET (a name that is no
  // key may still be a sub-path: its LIST is the lookup's own).
  assert.equal((await storeRequests(ctx)).slice(mark2 + 2), ['GET secret/metadata/cold/not-written-yet/']);
});

test('an open that has to fetch (a mount without the prefetch; any open after cache_ttl): the same FUSE requests, one GET at the open', async (ctx) => {
  if (ctx.skip) return;
  const path = 'secret/cold/fetch';
  await writeSecret(ctx.root, await resolveKvMount(ctx.root, path), path, { 'db-password': 'f3tch' });
  const mark = (await storeRequests(ctx)).length;
  const m = await mountSecretFs({ vault: ctx.root, path, mountpoint: join(ctx.tmp, 'mnt-fetch'), options: parseFsOptions({}), prefetch: false });
  ctx.mounts.push(m);
  assert.equal((await storeRequests(ctx)).slice(mark), ['GET sys/internal/ui/mounts/secret/cold/fetch'], 'no read at mount');
  // cache_ttl=0 caches nothing, so a mount reads nothing ahead either.
  const m0 = await mountSecretFs({ vault: ctx.root, path, mountpoint: join(ctx.tmp, 'mnt-fetch-ttl0'), options: parseFsOptions({ cache_ttl: '0' }) });
  ctx.mounts.push(m0);
  assert.equal((await storeRequests(ctx)).slice(mark + 1), ['GET sys/internal/ui/mounts/secret/cold/fetch'], 'cache_ttl=0: no read at mount');
  assert.is(m0.store.stats().vaultReads, 0);
  const markAfter = (await storeRequests(ctx)).length;
  let out = '';
  const cold = await counted(m, async () => (out = await run('cat', [join(m.mountpoint, 'db-password')])));
  assert.is(out, 'f3tch');
  assert.equal(cold, { getattr: 1, open: 1, read: 2, release: 1 });
  assert.equal((await storeRequests(ctx)).slice(markAfter), ['GET secret/data/cold/fetch']);
  assert.is(m.store.stats().vaultReads, 1);
});

test('a first ls of a fresh volume: one readdir to JS; the secret was read at mount, its sub-paths are listed at the ls; with nothing cached, both once', async (ctx) => {
  if (ctx.skip) return;
  const path = 'secret/cold/dir';
  const kv = await resolveKvMount(ctx.root, path);
  await writeSecret(ctx.root, kv, path, { a: '1', b: '2' });
  await writeSecret(ctx.root, kv, `${path}/sub`, { c: '3' });
  const mark = (await storeRequests(ctx)).length;
  const m = await mountSecretFs({ vault: ctx.root, path, mountpoint: join(ctx.tmp, 'mnt-dir'), options: parseFsOptions({}) });
  ctx.mounts.push(m);
  let out = '';
  const ls = await counted(m, async () => (out = await run('ls', ['-1', '-A', '--color=never', m.mountpoint])));
  assert.is(out, '.secretfs.env\n.secretfs.json\n.secretfs.version\na\nb\nsub\n');
  assert.equal(ls, { readdir: 1 });
  assert.equal((await storeRequests(ctx)).slice(mark), ['GET sys/internal/ui/mounts/secret/cold/dir', 'GET secret/data/cold/dir', 'GET secret/metadata/cold/dir/']);

  // Nothing cached (as after cache_ttl): the ls asks for the secret and its sub-paths, each once.
  m.store.clear();
  const mark2 = (await storeRequests(ctx)).length;
  assert.is(await run('ls', ['-1', '-A', '--color=never', m.mountpoint]), out);
  assert.equal((await storeRequests(ctx)).slice(mark2).sort(), ['GET secret/data/cold/dir', 'GET secret/metadata/cold/dir/']);
});

test.run();
