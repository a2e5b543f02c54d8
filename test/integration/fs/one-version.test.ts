/**
 * One version per open, on a real FUSE mount served by this process and the real embedded store
 * over HTTP: 4 readers (child processes) read a 256 KiB or a 2 MiB file whole, open to close, in a
 * loop, to end of file with read sizes of 64 KiB, 128 KiB (cat) and 1 MiB (dd bs=1M), while the
 * secret is rotated every few tens of ms to values of different lengths. Every whole read must be
 * exactly one of the written versions.
 * The test counts the reads that could have mixed versions (another reader opened a different
 * version while it was reading) and requires enough of them, so a pass means something.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mountSecretFs, type SecretFsMount } from '../../../lib/fs/mount.js';
import { parseFsOptions } from '../../../lib/fs/options.js';
import { createVaultClient, type VaultClient } from '../../../lib/vault/client.js';
import { resolveKvMount, writeSecret } from '../../../lib/vault/kv.js';
import { missingRequirement, skipped } from '../../helpers/environment.js';
import { startTestStoreProcess, type TestStore } from '../../helpers/store.js';

const READER = fileURLToPath(new URL('./fixtures/whole-reads.mjs', import.meta.url));
/** How long the readers read in one round. */
const READ_MS = 3000;
/** At most this many rounds of READ_MS. */
const MAX_ROUNDS = 6;
/** Read sizes of the 4 readers: 64 KiB, 128 KiB (as cat), 1 MiB (as dd bs=1M), 128 KiB. */
const CHUNKS = [64 * 1024, 128 * 1024, 1024 * 1024, 128 * 1024];
/** Short, so a new version reaches new opens every 25 ms while others still read the last one. */
const CACHE_TTL = '50ms';
/** A pass needs at least this many reads during which another reader opened a different version. */
const MIN_CONTENDED = 15;

interface Ctx {
  tmp: string;
  store: TestStore;
  root: VaultClient;
  mounts: SecretFsMount[];
  skip?: string;
}

interface WholeRead {
  start: number;
  end: number;
  len: number;
  hash: string;
  tags: [string, number][];
  reader: number;
}

const test = suite<Ctx>('fs: one version per open (4 readers, rotations, FUSE + embedded store)');

test.before(async (ctx) => {
  ctx.mounts = [];
  ctx.skip = await missingRequirement({ fuse: true });
  if (ctx.skip) return skipped(ctx.skip, 'suite');
  ctx.tmp = await mkdtemp(join(tmpdir(), 'secretfs-one-version-'));
  // In a process of its own, as Vault is: its work on 2 MiB writes does not share the JS thread that serves FUSE.
  ctx.store = await startTestStoreProcess();
  ctx.root = createVaultClient({ addr: ctx.store.addr, token: ctx.store.rootToken, timeoutMs: 5000 });
});

test.after(async (ctx) => {
  for (const m of ctx.mounts.splice(0)) await m.unmount().catch(() => {});
  await ctx.store?.stop();
  if (ctx.tmp) await rm(ctx.tmp, { recursive: true, force: true });
});

/**
 * Version i of a value of about `size` bytes (up to 3 KiB less, so lengths differ from one version
 * to the next): its tag `v` + 6 digits repeated; above 1 MiB (Vault's longest JSON string) a JSON
 * array of two such strings.
 */
function versionValue(i: number, baseSize: number): { value: unknown; bytes: Buffer } {
  const size = baseSize - (i % 4) * 1024;
  const tag = `v${String(i).padStart(6, '0')}`;
  if (size <= 1024 * 1024) {
    const s = tag.repeat(Math.ceil(size / tag.length)).slice(0, size);
    return { value: s, bytes: Buffer.from(s) };
  }
  const half = (size - 7) >> 1;
  const s = tag.repeat(Math.ceil(half / tag.length)).slice(0, half);
  const value = [s, s];
  return { value, bytes: Buffer.from(JSON.stringify(value)) };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const now = () => performance.timeOrigin + performance.now();

function runReader(file: string, chunk: number, reader: number): Promise<WholeRead[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [READER, file, String(READ_MS), String(chunk)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), READ_MS + 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`reader ${reader} exited ${code}: ${err.trim()}`));
      resolve(out.split('\n').filter(Boolean).map((l) => ({ ...(JSON.parse(l) as Omit<WholeRead, 'reader'>), reader })));
    });
  });
}

/**
 * Rounds of READ_MS: 4 readers read while the secret is rotated every `everyMs`, until enough
 * reads overlapped another version's open (at most MAX_ROUNDS, so the test is bounded in time).
 */
async function rotateWhileReading(ctx: Ctx, size: number, everyMs: number): Promise<{ reads: WholeRead[]; written: Map<string, number>; rotations: number; rounds: number }> {
  const path = `secret/one-version-${size}`;
  const kv = await resolveKvMount(ctx.root, path);
  const written = new Map<string, number>();
  let rotations = 0;
  const write = async () => {
    const v = versionValue(rotations, size);
    written.set(sha256(v.bytes), rotations);
    await writeSecret(ctx.root, kv, path, { v: v.value });
  };
  await write();
  const m = await mountSecretFs({ vault: ctx.root, path, mountpoint: join(ctx.tmp, `mnt-${size}`), options: parseFsOptions({ cache_ttl: CACHE_TTL }) });
  ctx.mounts.push(m);
  const file = join(m.mountpoint, 'v');
  const reads: WholeRead[] = [];
  let rounds = 0;
  while (rounds < MAX_ROUNDS && (rounds === 0 || contended(reads) < MIN_CONTENDED)) {
    rounds++;
    const readers = Promise.all(CHUNKS.map((chunk, i) => runReader(file, chunk, i)));
    let done = false;
    readers.finally(() => (done = true)).catch(() => {});
    const until = now() + READ_MS + 2000;
    while (!done && now() < until) {
      await new Promise((r) => setTimeout(r, everyMs));
      rotations++;
      await write();
    }
    reads.push(...(await readers).flat());
  }
  await m.unmount();
  ctx.mounts.splice(ctx.mounts.indexOf(m), 1);
  return { reads, written, rotations, rounds };
}

/** Reads during which a reader opened another version: those a shared page cache could have mixed. */
function contended(reads: WholeRead[]): number {
  return reads.filter((r) => reads.some((s) => s.reader !== r.reader && s.start > r.start && s.start < r.end && s.hash !== r.hash)).length;
}

// A rotation every 30 ms (256 KiB) or 100 ms (2 MiB): a 2 MiB write and re-read cost the store and this process more.
for (const [label, size, everyMs] of [['256 KiB', 256 * 1024, 30], ['2 MiB', 2 * 1024 * 1024, 100]] as const) {
  test(`${label}: every whole read is exactly one written version`, async (ctx) => {
    if (ctx.skip) return;
    const { reads, written, rotations, rounds } = await rotateWhileReading(ctx, size, everyMs);
    const versions = new Set(reads.map((r) => r.hash));
    const mixed = reads.filter((r) => !written.has(r.hash));
    const busy = contended(reads);
    const summary = `${reads.length} reads in ${rounds} round(s) of ${READ_MS} ms, ${rotations} rotations, ${versions.size} versions read, ${busy} reads overlapped another version's open, ${mixed.length} mixed`;
    console.log(`  ${label}: ${summary}`);
    assert.equal(
      mixed.slice(0, 5).map((r) => ({ reader: r.reader, len: r.len, tags: r.tags })),
      [],
      `${mixed.length} of ${reads.length} reads are no written version (${summary})`,
    );
    assert.ok(busy >= MIN_CONTENDED, `only ${busy} reads overlapped another version's open (${summary}): the test proved nothing`);
    assert.ok(versions.size >= 5, `only ${versions.size} versions were read (${summary})`);
  });
}

test('cat, head -c and dd bs=1M read a 300000-byte value as on any file (direct_io)', async (ctx) => {
  if (ctx.skip) return;
  const path = 'secret/one-version-tools';
  const value = Array.from({ length: 300_000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
  await writeSecret(ctx.root, await resolveKvMount(ctx.root, path), path, { v: value });
  const m = await mountSecretFs({ vault: ctx.root, path, mountpoint: join(ctx.tmp, 'mnt-tools'), options: parseFsOptions({}) });
  ctx.mounts.push(m);
  const file = join(m.mountpoint, 'v');
  const sh = (script: string) =>
    new Promise<string>((resolve, reject) => execFile('/bin/sh', ['-c', script, 'sh', file], { timeout: 10_000, maxBuffer: 1 << 20 }, (err, out) => (err ? reject(err) : resolve(out))));
  assert.is(await sh('cat "$1"'), value);
  assert.is(await sh('head -c 100000 "$1"'), value.slice(0, 100_000));
  assert.is(await sh('dd if="$1" bs=1M 2>/dev/null'), value);
  assert.is(await sh('dd if="$1" bs=4096 skip=10 count=2 2>/dev/null'), value.slice(40960, 49152));
  assert.is((await sh('stat -c %s "$1"')).trim(), '300000');
});

test.run();
