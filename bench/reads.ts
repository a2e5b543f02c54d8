import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { BenchContext } from './context.js';
import type { MountHost } from './mounts.js';
import { fork } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FuseRequestCounts } from '../lib/fs/handlers.js';
import { FLOOR_KEY, FLOOR_VALUE, floorMountOptions, startMemfs, tmpfsDir } from './floors.js';
import { probe, readbench, type ReadbenchResult } from './native.js';
import { createVaultClient } from '../lib/vault/client.js';
import { keepAliveAgent, storeRequest, type BenchStore } from './store.js';
import { elapsedUs, median, quantile, round, sleep, stopChild, unmountIfMounted } from './util.js';

/** How long the kernel and the store keep a default volume's entries: cachePlan(2 s) gives 1 s each; we wait a little longer. */
export const EXPIRY_WAIT_MS = 1100;

/** A running Node FUSE floor (bench/node-floor-child.ts). */
async function startNodeFloor(ctx: BenchContext, mountpoint: string, shape: 'open-release' | 'open-only' | 'path-only'): Promise<{ file: string; stop(): Promise<void> }> {
  const script = join(fileURLToPath(new URL('.', import.meta.url)), 'node-floor-child.js');
  const child = fork(script, [mountpoint, shape], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const stop = ctx.cleanup.add(`stop the node floor (pid ${child.pid})`, async () => {
    await stopChild(child);
    await unmountIfMounted(mountpoint);
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the node floor did not mount within 15 s: ${stderr}`)), 15_000);
    child.once('message', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the node floor exited ${code}: ${stderr.trim()}`));
    });
  });
  return { file: join(mountpoint, FLOOR_KEY), stop };
}

/** Warm read results: medians over rounds of each round's p50/p99. */
export interface WarmResult {
  warm_p50_us: number;
  warm_p99_us: number;
  floor_p50_us: number;
  floor_p99_us: number;
  tmpfs_p50_us: number;
  /** fuse-native with synchronous in-memory handlers, open and release in JS (as secretfs). */
  node_floor_p50_us: number;
  /** The same with an open handler but no release handler. */
  node_floor_open_only_p50_us: number;
  /** The same without open/release handlers (libfuse answers them in C). */
  node_floor_path_only_p50_us: number;
  rounds: Record<'warm' | 'floor' | 'tmpfs' | 'node' | 'nodeOpenOnly' | 'nodePathOnly', ReadbenchResult>[];
  file: string;
  mountpoint: string;
}

/**
 * Warm reads with readbench on the same 30-byte file three ways: through a secretfs volume
 * (default options, served by the mount host), through memfs mounted with the same -o options,
 * and on tmpfs. Rounds alternate the three, so a busy moment of the machine hits all of them
 * alike; each figure is the median over rounds of that round's p50 (or p99).
 */
export async function measureWarm(ctx: BenchContext, host: MountHost, store: BenchStore, n: number, rounds: number): Promise<WarmResult> {
  const { tools, dir } = ctx;
  await store.put('bench/warm', { [FLOOR_KEY]: FLOOR_VALUE });
  const mountpoint = join(dir, 'warm');
  await host.mount('secret/bench/warm', mountpoint);
  const file = join(mountpoint, FLOOR_KEY);
  const memfs = await startMemfs(ctx.cleanup, tools, join(dir, 'memfs'));
  const node = await startNodeFloor(ctx, join(dir, 'node-floor'), 'open-release');
  const nodeOpenOnly = await startNodeFloor(ctx, join(dir, 'node-floor-open-only'), 'open-only');
  const nodePathOnly = await startNodeFloor(ctx, join(dir, 'node-floor-path-only'), 'path-only');
  const tmpfsFile = join(await tmpfsDir(ctx.cleanup), FLOOR_KEY);
  await writeFile(tmpfsFile, FLOOR_VALUE, { mode: 0o444 });
  const files = { warm: file, floor: memfs.file, tmpfs: tmpfsFile, node: node.file, nodeOpenOnly: nodeOpenOnly.file, nodePathOnly: nodePathOnly.file };
  const all: WarmResult['rounds'] = [];
  try {
    for (const f of Object.values(files)) await readbench(tools, f, 1000);
    for (let r = 0; r < rounds; r++) {
      ctx.progress.step(`reads: warm round ${r + 1}/${rounds}`);
      const order = (r % 2 === 0 ? ['warm', 'floor', 'node', 'nodeOpenOnly', 'nodePathOnly', 'tmpfs'] : ['floor', 'warm', 'nodePathOnly', 'nodeOpenOnly', 'node', 'tmpfs']) as (keyof typeof files)[];
      const round: Partial<WarmResult['rounds'][number]> = {};
      for (const which of order) round[which] = await readbench(tools, files[which], n);
      all.push(round as WarmResult['rounds'][number]);
    }
  } finally {
    await memfs.stop();
    await node.stop();
    await nodeOpenOnly.stop();
    await nodePathOnly.stop();
  }
  const med = (pick: (x: WarmResult['rounds'][number]) => number) => median(all.map(pick));
  return {
    warm_p50_us: med((x) => x.warm.p50_us),
    warm_p99_us: med((x) => x.warm.p99_us),
    floor_p50_us: med((x) => x.floor.p50_us),
    floor_p99_us: med((x) => x.floor.p99_us),
    tmpfs_p50_us: med((x) => x.tmpfs.p50_us),
    node_floor_p50_us: med((x) => x.node.p50_us),
    node_floor_open_only_p50_us: med((x) => x.nodeOpenOnly.p50_us),
    node_floor_path_only_p50_us: med((x) => x.nodePathOnly.p50_us),
    rounds: all,
    file,
    mountpoint,
  };
}

/**
 * The FUSE floor of a first read: memfs freshly mounted `count` times, one read of each, back to
 * back, timed in one probe process. A detail for the cold read (the cold floor uses the
 * warm memfs p50).
 */
export async function measureFloorFirstRead(ctx: BenchContext, count: number): Promise<{ p50_us: number; p99_us: number }> {
  const mounts = [];
  try {
    for (let i = 0; i < count; i++) mounts.push(await startMemfs(ctx.cleanup, ctx.tools, join(ctx.dir, `memfs-first-${i}`)));
    const r = await probe<{ p50_us: number; p99_us: number }>(ctx.tools, ['each', ...mounts.map((m) => m.file)]);
    return { p50_us: r.p50_us, p99_us: r.p99_us };
  } finally {
    for (const m of mounts) await m.stop();
  }
}

/**
 * p50 of a direct GET of the same secret from the same store, one keep-alive connection, from
 * this process (the Vault floor); interleaved with the same GET through lib/vault's client
 * (which every filesystem read goes through), to show what the client costs, and with a direct
 * LIST of the secret's sub-paths (none: 404, as a fresh volume's ls lists), the floor of a cold ls.
 */
export async function measureVaultGet(store: BenchStore, name: string, n: number): Promise<{ p50_us: number; p99_us: number; lib_vault_p50_us: number; list_p50_us: number }> {
  const agent = keepAliveAgent(1);
  const vault = createVaultClient({ addr: store.address, token: store.token });
  try {
    const times: number[] = [];
    const lib: number[] = [];
    const lists: number[] = [];
    for (let i = 0; i < n + 50; i++) {
      let start = process.hrtime.bigint();
      const r = await storeRequest(agent, store.address, store.token, 'GET', `secret/data/${name}`);
      const us = elapsedUs(start);
      if (r.status !== 200) throw new Error(`GET secret/${name}: ${r.status}`);
      start = process.hrtime.bigint();
      await vault.request('GET', `secret/data/${name}`);
      const libUs = elapsedUs(start);
      start = process.hrtime.bigint();
      const l = await storeRequest(agent, store.address, store.token, 'LIST', `secret/metadata/${name}/`);
      const listUs = elapsedUs(start);
      if (l.status !== 404 && l.status !== 200) throw new Error(`LIST secret/metadata/${name}/: ${l.status}`);
      // The first requests open the connections and warm the JIT.
      if (i >= 50) {
        times.push(us);
        lib.push(libUs);
        lists.push(listUs);
      }
    }
    return { p50_us: quantile(times, 0.5), p99_us: quantile(times, 0.99), lib_vault_p50_us: quantile(lib, 0.5), list_p50_us: quantile(lists, 0.5) };
  } finally {
    agent.destroy();
  }
}

/** One kind of first access to fresh volumes: its time, and what it costs in FUSE requests to JS and in store requests. */
export interface ColdKind {
  p50_us: number;
  p99_us: number;
  samples: number;
  /** Store reads (GETs of the secret) made during the accesses, per access, from the filesystems' counters: 0 when the mount had fetched the value. */
  vault_reads_per_open: number;
  /** FUSE requests that reached the JS handlers per access, by operation (getattr answers libfuse's lookup). */
  fuse_requests_per_open: Record<string, number>;
  fuse_requests_total_per_open: number;
  /** Store requests per volume from before its mount to after its access (the audit log), as `METHOD path` with the volume's name as `*`. */
  vault_requests_per_volume: Record<string, number>;
}

/** What the cold read measures: three kinds of first access to volumes nobody has read yet. */
export interface ColdResult {
  /** The first open of a fresh volume, as a container's first read after VolumeDriver.Mount: the mount prefetched the value (lib/fs/mount.ts). */
  fresh: ColdKind;
  /** The same on volumes mounted without the prefetch (prefetch: false): the open fetches the value, as any open does once cache_ttl ran out. */
  fetch: ColdKind;
  /** The first ls (opendir + readdir + closedir) of a fresh volume: the secret was prefetched, its sub-paths are listed (LIST) at the ls. */
  ls: ColdKind;
  /** Volumes mounted per batch of each kind (each batch is read right after it is mounted, well within the store's cache time). */
  batch: number;
}

/** Volumes of each kind mounted, then read, at a time: a batch is read well within the store's cache time (1 s by default). */
const COLD_BATCH = 5;

/**
 * Cold reads: the first access to volumes nobody has read yet, so the kernel's caches are empty.
 * In batches of `COLD_BATCH` of each kind: the volumes are mounted (`fresh` and `ls` as every mount
 * does, with the prefetch; `fetch` without it), then one bench/probe.c process per kind opens,
 * reads to EOF and closes each file once (`ls`: opendir, readdir, closedir of each volume), back to
 * back, timing each; the kinds take turns being first. Counted next to the time: the FUSE requests
 * that reached JS (the handlers' counters), the store reads made during the accesses (the
 * filesystems' counters) and the store's requests per volume (its audit log).
 */
export async function measureCold(ctx: BenchContext, host: MountHost, store: BenchStore, volumes: number): Promise<ColdResult> {
  const { tools, dir } = ctx;
  const kinds = ['fresh', 'fetch', 'ls'] as const;
  type Kind = (typeof kinds)[number];
  const nameOf = (kind: Kind, i: number) => (kind === 'fresh' ? `bench/cold-${i}` : `bench/cold-${kind}-${i}`);
  const times: Record<Kind, number[]> = { fresh: [], fetch: [], ls: [] };
  const fuse: Record<Kind, Record<string, number>> = { fresh: {}, fetch: {}, ls: {} };
  const reads: Record<Kind, number> = { fresh: 0, fetch: 0, ls: 0 };
  const audit: Record<Kind, Record<string, number>> = { fresh: {}, fetch: {}, ls: {} };
  const batches = Math.ceil(volumes / COLD_BATCH);
  for (let b = 0; b < batches; b++) {
    const ids = Array.from({ length: Math.min(COLD_BATCH, volumes - b * COLD_BATCH) }, (_, j) => b * COLD_BATCH + j);
    for (const kind of kinds) for (const i of ids) await store.put(nameOf(kind, i), { [FLOOR_KEY]: FLOOR_VALUE });
    const mark = await store.auditMark();
    ctx.progress.step(`reads: cold: batch ${b + 1}/${batches}`);
    const mps: Record<Kind, string[]> = { fresh: [], fetch: [], ls: [] };
    for (const kind of kinds) {
      for (const i of ids) {
        const mountpoint = join(dir, nameOf(kind, i).replace('bench/', ''));
        await host.mount(`secret/${nameOf(kind, i)}`, mountpoint, {}, undefined, { prefetch: kind !== 'fetch' });
        mps[kind].push(mountpoint);
      }
    }
    // The accesses follow each other without a gap, as the direct GETs of the floor do (a gap of a few ms
    // lets both processes fall asleep, and waking them costs more than the work on this kind of VM).
    await readbench(tools, join(dir, 'warm', FLOOR_KEY), 100).catch(() => undefined);
    const before = new Map<string, { requests: FuseRequestCounts; reads: number }>();
    for (const mp of Object.values(mps).flat()) before.set(mp, { requests: await host.requests(mp), reads: (await host.stats(mp)).vaultReads });
    const order = [...kinds.slice(b % 3), ...kinds.slice(0, b % 3)];
    for (const kind of order) {
      const args = kind === 'ls' ? ['eachdir', ...mps.ls] : ['each', ...mps[kind].map((mp) => join(mp, FLOOR_KEY))];
      const r = await probe<{ us: number[]; failures: number }>(tools, args);
      if (r.failures > 0) throw new Error(`cold ${kind}: ${r.failures} of ${args.length - 1} accesses failed`);
      times[kind].push(...r.us);
    }
    // A release reaches the filesystem after close(2) has returned.
    await sleep(200);
    for (const kind of kinds) {
      for (const mp of mps[kind]) {
        const was = before.get(mp)!;
        const now = await host.requests(mp);
        for (const [op, n] of Object.entries(now)) if (n > (was.requests[op] ?? 0)) fuse[kind][op] = (fuse[kind][op] ?? 0) + n - (was.requests[op] ?? 0);
        reads[kind] += (await host.stats(mp)).vaultReads - was.reads;
      }
    }
    for (const r of await store.auditSince(mark)) {
      const m = /bench\/cold-(fetch-|ls-)?\d+/.exec(r);
      if (!m) continue;
      const kind: Kind = m[1] === 'fetch-' ? 'fetch' : m[1] === 'ls-' ? 'ls' : 'fresh';
      const key = r.replace(/bench\/cold-(fetch-|ls-)?\d+/, `bench/cold-${m[1] ?? ''}*`);
      audit[kind][key] = (audit[kind][key] ?? 0) + 1;
    }
    for (const mp of Object.values(mps).flat()) await host.unmount(mp);
  }
  const total = (o: Record<string, number>) => round(Object.values(o).reduce((a, v) => a + v, 0), 2);
  const per = (o: Record<string, number>, n: number) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round(v / n, 2)]));
  const result = (kind: Kind): ColdKind => {
    const n = times[kind].length;
    const f = per(fuse[kind], n);
    return {
      p50_us: round(quantile(times[kind], 0.5), 1),
      p99_us: round(quantile(times[kind], 0.99), 1),
      samples: n,
      vault_reads_per_open: round(reads[kind] / n, 2),
      fuse_requests_per_open: f,
      fuse_requests_total_per_open: total(f),
      vault_requests_per_volume: per(audit[kind], n),
    };
  };
  return { fresh: result('fresh'), fetch: result('fetch'), ls: result('ls'), batch: COLD_BATCH };
}

/** One value size of the one-version cost: whole-file reads through direct_io against the page cache. */
export interface OneVersionRow {
  bytes: number;
  /** secretfs as it mounts (direct_io: every read(2) is served from the open's snapshot). */
  direct_io_p50_us: number;
  /** The same secret on a secretfs mount with the page cache (auto_cache; what mounts had before, and tore). */
  page_cache_p50_us: number;
  /** direct_io over the page cache: what one version per open costs at this size. */
  ratio: number;
  /** FUSE read requests per whole read with direct_io (a reader that reads to EOF makes one more, answered 0). */
  reads_per_open: number;
}

export interface OneVersionResult {
  rows: OneVersionRow[];
  /** The C floor of the same two modes on the 30-byte file: memfs with direct_io and with auto_cache. */
  memfs_direct_io_p50_us: number;
  memfs_page_cache_p50_us: number;
  /** The 30-byte read of secretfs (direct_io) over memfs with the same options. */
  small_vs_floor: number;
}

/** A value of about `bytes` for a key (above 1 MiB, Vault's longest JSON string, a JSON array of two strings). */
function valueOfSize(bytes: number): unknown {
  if (bytes <= 1024 * 1024) return 'x'.repeat(bytes);
  const half = (bytes - 7) >> 1;
  return ['x'.repeat(half), 'x'.repeat(half)];
}

/**
 * The cost of one version per open (lib/fs/mount.ts: every mount is direct_io): whole-file reads
 * (bench/probe.c readall: open, read 64 KiB at a time to EOF, close) of a 30 B, a 256 KiB and a
 * 2 MiB file on one secret, through a secretfs mount as it mounts and through a second mount of
 * the same secret with the page cache (auto_cache), and the 30 B file on memfs both ways; rounds
 * alternate the order. cache_ttl=1h on both secretfs mounts, so no store re-read lands in a round.
 */
export async function measureOneVersion(ctx: BenchContext, host: MountHost, store: BenchStore, rounds: number): Promise<OneVersionResult> {
  const { tools, dir } = ctx;
  const sizes = [FLOOR_VALUE.length, 256 * 1024, 2 * 1024 * 1024];
  const keyOf = (bytes: number) => (bytes === FLOOR_VALUE.length ? FLOOR_KEY : `v${bytes}`);
  const data: Record<string, unknown> = { [FLOOR_KEY]: FLOOR_VALUE };
  for (const bytes of sizes.slice(1)) data[keyOf(bytes)] = valueOfSize(bytes);
  await store.put('bench/one-version', data);
  const direct = join(dir, 'one-version-direct');
  const page = join(dir, 'one-version-page');
  await host.mount('secret/bench/one-version', direct, { cache_ttl: '1h' });
  await host.mount('secret/bench/one-version', page, { cache_ttl: '1h' }, { dataCache: 'auto_cache' });
  const memDirect = await startMemfs(ctx.cleanup, tools, join(dir, 'memfs-direct'));
  const memPage = await startMemfs(ctx.cleanup, tools, join(dir, 'memfs-page'), floorMountOptions(undefined, { dataCache: 'auto_cache' }));
  const n = (bytes: number) => Math.ceil((bytes >= 1024 * 1024 ? 40 : bytes >= 256 * 1024 ? 200 : 2000) / (ctx.quick ? 2 : 1));
  const readall = async (file: string, count: number) => (await probe<{ p50_us: number }>(tools, ['readall', file, String(count)])).p50_us;
  const samples = new Map<string, number[]>();
  const add = (k: string, v: number) => samples.set(k, [...(samples.get(k) ?? []), v]);
  const reads = new Map<number, number>();
  try {
    for (const bytes of sizes) {
      await readall(join(direct, keyOf(bytes)), 5);
      await readall(join(page, keyOf(bytes)), 5);
    }
    for (let r = 0; r < rounds; r++) {
      ctx.progress.step(`reads: one version per open: round ${r + 1}/${rounds}`);
      for (const bytes of sizes) {
        const pair: [string, string][] = [[`direct-${bytes}`, join(direct, keyOf(bytes))], [`page-${bytes}`, join(page, keyOf(bytes))]];
        if (r % 2) pair.reverse();
        for (const [k, file] of pair) {
          const before = k.startsWith('direct') ? (await host.requests(direct)).read : 0;
          add(k, await readall(file, n(bytes)));
          if (k.startsWith('direct')) reads.set(bytes, (reads.get(bytes) ?? 0) + ((await host.requests(direct)).read - before) / n(bytes));
        }
      }
      const mem: [string, string][] = [['memfs-direct', memDirect.file], ['memfs-page', memPage.file]];
      if (r % 2) mem.reverse();
      for (const [k, file] of mem) add(k, await readall(file, n(FLOOR_VALUE.length)));
    }
  } finally {
    await memDirect.stop();
    await memPage.stop();
    await host.unmount(direct);
    await host.unmount(page);
  }
  const med = (k: string) => round(median(samples.get(k) ?? []), 1);
  const rows = sizes.map((bytes) => ({
    bytes,
    direct_io_p50_us: med(`direct-${bytes}`),
    page_cache_p50_us: med(`page-${bytes}`),
    ratio: round(med(`direct-${bytes}`) / med(`page-${bytes}`), 2),
    reads_per_open: round((reads.get(bytes) ?? 0) / rounds, 2),
  }));
  return {
    rows,
    memfs_direct_io_p50_us: med('memfs-direct'),
    memfs_page_cache_p50_us: med('memfs-page'),
    small_vs_floor: round(rows[0].direct_io_p50_us / med('memfs-direct'), 2),
  };
}

/**
 * Cold reads after idle: the first open after every cache expired on a volume read before
 * (cache_ttl ran out while nothing happened). Each cycle empties the stores of `volumes`
 * volumes, waits 1.1 s so the kernel's name/attribute caches (1 s with the default cache_ttl)
 * expire too, then reads each once. Reported next to a direct GET after the same idle time:
 * on this VM both processes' wake-up after 1 s idle costs more than the work itself.
 */
export async function measureColdAfterIdle(ctx: BenchContext, host: MountHost, store: BenchStore, volumes: number, cycles: number): Promise<{ p50_us: number; vault_get_after_idle_p50_us: number; samples: number }> {
  const { tools, dir } = ctx;
  const files: { mountpoint: string; file: string }[] = [];
  for (let i = 0; i < volumes; i++) {
    const name = `bench/idle-${i}`;
    await store.put(name, { [FLOOR_KEY]: FLOOR_VALUE });
    const mountpoint = join(dir, `idle-${i}`);
    await host.mount(`secret/${name}`, mountpoint);
    files.push({ mountpoint, file: join(mountpoint, FLOOR_KEY) });
    await readbench(tools, join(mountpoint, FLOOR_KEY), 1);
  }
  const agent = keepAliveAgent(1);
  const times: number[] = [];
  const gets: number[] = [];
  try {
    await storeRequest(agent, store.address, store.token, 'GET', 'secret/data/bench/idle-0');
    for (let c = 0; c < cycles; c++) {
      ctx.progress.step(`reads: cold after idle: cycle ${c + 1}/${cycles}`);
      for (const f of files) await host.clear(f.mountpoint);
      await sleep(EXPIRY_WAIT_MS);
      times.push((await readbench(tools, files[c % files.length].file, 1)).p50_us);
      await sleep(EXPIRY_WAIT_MS);
      const start = process.hrtime.bigint();
      await storeRequest(agent, store.address, store.token, 'GET', 'secret/data/bench/idle-0');
      gets.push(elapsedUs(start));
    }
  } finally {
    agent.destroy();
  }
  for (const f of files) await host.unmount(f.mountpoint);
  return { p50_us: quantile(times, 0.5), vault_get_after_idle_p50_us: quantile(gets, 0.5), samples: times.length };
}

/**
 * Coalescing: N threads (bench/probe.c burst, released together by a barrier) open a secret
 * nobody has read yet, on a fresh mount. Counted where it matters, in the store's audit log:
 * GETs of that secret. Two shapes: all N open the same file, and each opens a different key
 * of the same secret (N distinct lookups reach the filesystem at once).
 */
export async function measureCoalescing(ctx: BenchContext, host: MountHost, store: BenchStore, n: number): Promise<{ same_file: number; distinct_keys: number; failures: number; burst_wall_us: number; store_counted: number }> {
  const { tools, dir } = ctx;
  const tag = randomBytes(4).toString('hex');
  // Same file.
  const sameName = `bench/coalesce-${tag}-a`;
  await store.put(sameName, { [FLOOR_KEY]: FLOOR_VALUE });
  const mpA = join(dir, `coalesce-a`);
  await host.mount(`secret/${sameName}`, mpA);
  const a = await probe<{ failures: number; wall_us: number }>(tools, ['burst', join(mpA, FLOOR_KEY), String(n)]);
  const statsA = await host.stats(mpA);
  await host.unmount(mpA);
  // N distinct keys of one secret.
  const distinctName = `bench/coalesce-${tag}-b`;
  const data: Record<string, string> = {};
  for (let i = 0; i < n; i++) data[`k${i}`] = FLOOR_VALUE;
  await store.put(distinctName, data);
  const mpB = join(dir, `coalesce-b`);
  await host.mount(`secret/${distinctName}`, mpB);
  const b = await probe<{ failures: number; wall_us: number }>(tools, ['burstkeys', mpB, String(n)]);
  const statsB = await host.stats(mpB);
  await host.unmount(mpB);
  const sameFile = await store.countReads(sameName);
  const distinct = await store.countReads(distinctName);
  return {
    same_file: sameFile,
    distinct_keys: distinct,
    failures: a.failures + b.failures,
    burst_wall_us: Math.max(a.wall_us, b.wall_us),
    store_counted: statsA.vaultReads + statsB.vaultReads,
  };
}
