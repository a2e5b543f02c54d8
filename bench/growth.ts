import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchContext } from './context.js';
import { startMemfs, tmpfsDir } from './floors.js';
import type { MountHost } from './mounts.js';
import { probe } from './native.js';
import { EXPIRY_WAIT_MS } from './reads.js';
import { keepAliveAgent, storeRequest, type BenchStore } from './store.js';
import { median, round, sleep } from './util.js';

/** One row of the value-size table. */
export interface SizeRow {
  bytes: number;
  warm_p50_us: number;
  cold_p50_us: number;
  tmpfs_p50_us: number;
}
/** One row of the keys-per-secret table. */
export interface KeysRow {
  keys: number;
  ls_warm_p50_us: number;
  ls_cold_p50_us: number;
}
/** One row of the concurrent-readers table. */
export interface ReadersRow {
  readers: number;
  reads_per_s: number;
  floor_reads_per_s: number;
  errors: number;
}
/** The embedded store's KV v2 throughput over keep-alive connections. */
export interface StoreThroughput {
  connections: number;
  seconds: number;
  kv2_reads_per_s: number;
  kv2_writes_per_s: number;
}
export interface GrowthResult {
  value_size: SizeRow[];
  keys_per_secret: KeysRow[];
  readers: ReadersRow[];
  store: StoreThroughput;
}

export const VALUE_SIZES = [1, 1024, 16 * 1024, 256 * 1024, 1024 * 1024];
export const KEY_COUNTS = [1, 10, 100, 1000];
export const READER_COUNTS = [1, 4, 16, 64];

function warmIterations(bytes: number, quick: boolean): number {
  const n = bytes >= 256 * 1024 ? 200 : 2000;
  return quick ? Math.ceil(n / 4) : n;
}

/**
 * How read time grows with the value's size (1 B .. 1 MiB, whole-file reads with bench/probe.c,
 * warm and cold, next to tmpfs), how `ls` grows with keys per secret (1 .. 1000), and reads per
 * second with 1 .. 64 concurrent readers (threads of one process) next to the memfs floor.
 */
export async function measureGrowth(ctx: BenchContext, host: MountHost, store: BenchStore, warmFile: string): Promise<Omit<GrowthResult, 'store'>> {
  const { tools, dir, progress } = ctx;
  const tmpfs = await tmpfsDir(ctx.cleanup);
  const sizes: { bytes: number; mp: string; file: string; tmpfsFile: string }[] = [];
  for (const bytes of VALUE_SIZES) {
    const value = 'x'.repeat(bytes);
    await store.put(`bench/size-${bytes}`, { v: value });
    const mp = join(dir, `size-${bytes}`);
    await host.mount(`secret/bench/size-${bytes}`, mp);
    const tmpfsFile = join(tmpfs, `v-${bytes}`);
    await writeFile(tmpfsFile, value);
    sizes.push({ bytes, mp, file: join(mp, 'v'), tmpfsFile });
  }
  const keySets: { keys: number; mp: string }[] = [];
  for (const keys of KEY_COUNTS) {
    const data: Record<string, string> = {};
    for (let i = 0; i < keys; i++) data[`key-${i}`] = `value-${i}`;
    await store.put(`bench/keys-${keys}`, data);
    const mp = join(dir, `keys-${keys}`);
    await host.mount(`secret/bench/keys-${keys}`, mp);
    keySets.push({ keys, mp });
  }

  // Warm: a first read fills the caches, then the timed loop.
  const warmSize = new Map<number, number>();
  const tmpfsSize = new Map<number, number>();
  for (const s of sizes) {
    progress.step(`growth: warm read of ${s.bytes} B`);
    const n = warmIterations(s.bytes, ctx.quick);
    await probe(tools, ['readall', s.file, '5']);
    warmSize.set(s.bytes, (await probe(tools, ['readall', s.file, String(n)])).p50_us);
    tmpfsSize.set(s.bytes, (await probe(tools, ['readall', s.tmpfsFile, String(n)])).p50_us);
  }
  const warmLs = new Map<number, number>();
  for (const k of keySets) {
    progress.step(`growth: warm ls of ${k.keys} keys`);
    const n = ctx.quick ? 100 : 400;
    const first = await probe<{ entries: number }>(tools, ['readdir', k.mp, '3']);
    // . and .. and two views (.json, .env) come with the keys.
    if (first.entries < k.keys) throw new Error(`ls ${k.mp} listed ${first.entries} entries, expected at least ${k.keys}`);
    warmLs.set(k.keys, (await probe(tools, ['readdir', k.mp, String(n)])).p50_us);
  }

  // Cold: each cycle empties every store, waits until the kernel caches expired, reads each once.
  const coldSize = new Map<number, number[]>(VALUE_SIZES.map((b) => [b, []]));
  const coldLs = new Map<number, number[]>(KEY_COUNTS.map((k) => [k, []]));
  const cycles = ctx.quick ? 3 : 7;
  for (let c = 0; c < cycles; c++) {
    progress.step(`growth: cold cycle ${c + 1}/${cycles}`);
    for (const s of sizes) await host.clear(s.mp);
    for (const k of keySets) await host.clear(k.mp);
    await sleep(EXPIRY_WAIT_MS);
    for (const s of sizes) coldSize.get(s.bytes)!.push((await probe(tools, ['readall', s.file, '1'])).p50_us);
    for (const k of keySets) coldLs.get(k.keys)!.push((await probe(tools, ['readdir', k.mp, '1'])).p50_us);
  }
  for (const s of sizes) await host.unmount(s.mp);
  for (const k of keySets) await host.unmount(k.mp);

  // Concurrent readers of the warm file, and of memfs with the same options.
  const memfs = await startMemfs(ctx.cleanup, tools, join(dir, 'memfs-readers'));
  const readers: ReadersRow[] = [];
  const ms = ctx.quick ? 500 : 1000;
  try {
    for (const threads of READER_COUNTS) {
      progress.step(`growth: ${threads} concurrent readers`);
      const r = await probe<{ ops_per_s: number; errors: number }>(tools, ['loop', warmFile, String(ms), String(threads)]);
      const f = await probe<{ ops_per_s: number }>(tools, ['loop', memfs.file, String(ms), String(threads)]);
      readers.push({ readers: threads, reads_per_s: r.ops_per_s, floor_reads_per_s: f.ops_per_s, errors: r.errors });
    }
  } finally {
    await memfs.stop();
  }

  return {
    value_size: sizes.map((s) => ({
      bytes: s.bytes,
      warm_p50_us: warmSize.get(s.bytes)!,
      cold_p50_us: round(median(coldSize.get(s.bytes)!), 1),
      tmpfs_p50_us: tmpfsSize.get(s.bytes)!,
    })),
    keys_per_secret: keySets.map((k) => ({ keys: k.keys, ls_warm_p50_us: warmLs.get(k.keys)!, ls_cold_p50_us: round(median(coldLs.get(k.keys)!), 1) })),
    readers,
  };
}

/** KV v2 reads and writes per second against the store, `connections` keep-alive connections each sending request after request. */
export async function measureStoreThroughput(ctx: BenchContext, store: BenchStore): Promise<StoreThroughput> {
  const connections = 8;
  const seconds = ctx.quick ? 1 : 2;
  await store.put('bench/throughput', { value: 'x'.repeat(32) });
  const run = async (write: boolean): Promise<number> => {
    const agent = keepAliveAgent(connections);
    try {
      let ops = 0;
      const until = Date.now() + seconds * 1000;
      const worker = async (w: number) => {
        let i = 0;
        while (Date.now() < until) {
          const r = write
            ? await storeRequest(agent, store.address, store.token, 'POST', `secret/data/bench/throughput-${w}`, { data: { value: `v-${i++}` } })
            : await storeRequest(agent, store.address, store.token, 'GET', 'secret/data/bench/throughput');
          if (r.status !== 200) throw new Error(`store ${write ? 'write' : 'read'}: ${r.status} ${r.body}`);
          ops++;
        }
      };
      const started = Date.now();
      await Promise.all(Array.from({ length: connections }, (_, w) => worker(w)));
      return ops / ((Date.now() - started) / 1000);
    } finally {
      agent.destroy();
    }
  };
  ctx.progress.step('store throughput: reads');
  const reads = await run(false);
  ctx.progress.step('store throughput: writes');
  const writes = await run(true);
  return { connections, seconds, kv2_reads_per_s: Math.round(reads), kv2_writes_per_s: Math.round(writes) };
}
