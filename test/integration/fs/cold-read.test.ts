/**
 * What a first read of a fresh volume costs, counted (never timed): the FUSE requests that reach
 * the filesystem's JS handlers (lib/fs/handlers.ts counts them) and the requests the real
 * embedded store receives (its audit log). The reads go through child processes (cat, head); the
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

test('a first cat of a fresh volume: lookup, open, read, the EOF read, release; one GET of the secret', async (ctx) => {
  if (ctx.skip) return;
  const path = 'secret/cold/app';
  await writeSecret(ctx.root, await resolveKvMount(ctx.root, path), path, { 'db-password': 's3cr3t', other: 'x' });
  const mark = (await storeRequests(ctx)).length;
  const m = await mountSecretFs({ vault: ctx.root, path, mountpoint: join(ctx.tmp, 'mnt'), options: parseFsOptions({}) });
  ctx.mounts.push(m);
  const file = join(m.mountpoint, 'db-password');

  // Right after the mount, as a container's first read follows VolumeDriver.Mount.
  let out = '';
  const cold = await counted(m, async () => (out = await run('cat', [file])));
  assert.is(out, 's3cr3t');
  // getattr answers libfuse's lookup of the name (the root's attributes were asked at mount).
  // With direct_io, cat's second read(2) is a request too, answered 0 (end of file).
  assert.equal(cold, { getattr: 1, open: 1, read: 2, release: 1 });
  // The mount detects the KV engine once; the read is one GET.
  assert.equal((await storeRequests(ctx)).slice(mark), ['GET sys/internal/ui/mounts/secret/cold/app', 'GET secret/data/cold/app']);
  assert.is(m.store.stats().vaultReads, 1);

  // The same file again, and another key of the same secret: no lookup of a cached name, no Vault.
  const warm = await counted(m, () => run('cat', [file]));
  assert.equal(warm, { open: 1, read: 2, release: 1 });
  const other = await counted(m, () => run('head', ['-c', '1', join(m.mountpoint, 'other')]));
  assert.equal(other, { getattr: 1, open: 1, read: 1, release: 1 });
  assert.equal((await storeRequests(ctx)).slice(mark + 1), ['GET secret/data/cold/app'], 'still one GET');
});

test.run();
