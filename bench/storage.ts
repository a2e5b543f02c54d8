import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchContext } from './context.js';
import { keepAliveAgent, rssMbOf, startBenchStore, storeRequest, type BenchStore } from './store.js';
import { elapsedUs, quantile, round, sleep } from './util.js';

/** One stored-data level of the storage table. */
export interface StorageLevel {
  stored_mb: number;
  write_p50_us: number;
  write_p99_us: number;
  reads_per_s: number;
}

/** The embedded store's engine as the stored total grows, and its compaction. */
export interface StorageResult {
  levels: StorageLevel[];
  /** p50 write latency at the largest level over that at the smallest (target <= 2). */
  write_p50_growth: number;
  /** store.db plus its log, at the largest level (after half of the filler was deleted). */
  file_mb: number;
  compact_ms: number;
  file_after_compact_mb: number;
  /** reads/s while `server compact` runs, and the same measurement just before it (target: ratio ~1). */
  reads_per_s_before_compact: number;
  reads_per_s_during_compact: number;
  /** The store process's peak resident memory (VmHWM). */
  peak_rss_mb: number;
  rss_mb: number;
}

/** Filler value: below Vault's default max_json_string_value_length (1 MiB). */
const FILLER_BYTES = 256 * 1024;

async function fileMb(dataDir: string): Promise<number> {
  let total = 0;
  for (const name of ['store.db', 'store.db-wal']) total += (await stat(join(dataDir, name)).catch(() => ({ size: 0 }))).size;
  return round(total / 1048576, 1);
}

async function peakRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /VmHWM:\s+(\d+)\s+kB/.exec(status);
  return m ? round(Number(m[1]) / 1024, 0) : NaN;
}

/** Small KV v2 writes one after another; latencies in microseconds. */
async function writeLatencies(store: BenchStore, prefix: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    const r = await store.request('POST', `secret/data/${prefix}-${i}`, { data: { v: String(i) } });
    out.push(elapsedUs(t));
    if (r.status !== 200) throw new Error(`write ${prefix}-${i}: ${r.status} ${r.body}`);
  }
  return out;
}

/** KV v2 reads of one key by `clients` keep-alive connections for `ms`; reads per second. */
async function readRate(store: BenchStore, ms: number, clients = 4, until?: Promise<unknown>): Promise<number> {
  const agent = keepAliveAgent(clients);
  let reads = 0;
  let done = false;
  const stop = until ? until.finally(() => (done = true)) : sleep(ms).then(() => (done = true));
  const started = Date.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (!done) {
        const r = await storeRequest(agent, store.address, store.token, 'GET', 'secret/data/storage-probe');
        if (r.status !== 200) throw new Error(`read: ${r.status}`);
        reads++;
      }
    }),
  );
  await stop;
  agent.destroy();
  return Math.round(reads / ((Date.now() - started) / 1000));
}

/**
 * Write latency (p50/p99 of small KV v2 writes, each one durable transaction) and reads/s with
 * 1 MB, 32 MB and 256 MB stored (256 KiB filler values), in a store of its own; then half the
 * filler is deleted and `server compact` (sys/storage/compact) runs while reads are measured.
 */
export async function measureStorage(ctx: BenchContext): Promise<StorageResult> {
  const { progress, quick } = ctx;
  const store = await startBenchStore(ctx.cleanup, join(ctx.dir, 'storage'));
  const dataDir = join(ctx.dir, 'storage', 'data');
  try {
    await store.put('storage-probe', { v: 'probe' });
    const filler = 'f'.repeat(FILLER_BYTES);
    const writes = quick ? 100 : 300;
    const readMs = quick ? 1000 : 2500;
    const levels: StorageLevel[] = [];
    let stored = 0;
    let n = 0;
    for (const mb of [1, 32, 256]) {
      progress.step(`storage: filling the store to ${mb} MB`);
      while (stored < mb * 1048576) {
        await store.put(`fill/${n++}`, { v: filler });
        stored += FILLER_BYTES;
      }
      progress.step(`storage: writes and reads with ${mb} MB stored`);
      const lat = await writeLatencies(store, `w${mb}`, writes);
      levels.push({ stored_mb: mb, write_p50_us: round(quantile(lat, 0.5), 0), write_p99_us: round(quantile(lat, 0.99), 0), reads_per_s: await readRate(store, readMs) });
    }
    progress.step('storage: deleting half the filler, then server compact while reads run');
    for (let i = 0; i < n; i += 2) {
      const r = await store.request('DELETE', `secret/metadata/fill/${i}`);
      if (r.status !== 204) throw new Error(`delete fill/${i}: ${r.status}`);
    }
    const before = await readRate(store, readMs);
    const fileBefore = await fileMb(dataDir);
    const compact = store.request('POST', 'sys/storage/compact').then((r) => {
      if (r.status !== 200) throw new Error(`compact: ${r.status} ${r.body}`);
      return JSON.parse(r.body).data as { duration_ms: number };
    });
    const during = await readRate(store, 0, 4, compact);
    const c = await compact;
    const first = levels[0];
    const last = levels[levels.length - 1];
    return {
      levels,
      write_p50_growth: round(last.write_p50_us / first.write_p50_us, 2),
      file_mb: fileBefore,
      compact_ms: c.duration_ms,
      file_after_compact_mb: await fileMb(dataDir),
      reads_per_s_before_compact: before,
      reads_per_s_during_compact: during,
      peak_rss_mb: await peakRssMb(store.pid),
      rss_mb: round(await rssMbOf(store.pid), 0),
    };
  } finally {
    await store.stop();
  }
}
