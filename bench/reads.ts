import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { BenchContext } from './context.js';
import type { MountHost } from './mounts.js';
import { FLOOR_KEY, FLOOR_VALUE } from './floors.js';
import { probe, readbench } from './native.js';
import { keepAliveAgent, storeRequest, type BenchStore } from './store.js';
import { elapsedUs, quantile, sleep } from './util.js';

/** How long the kernel and the store keep a default volume's entries: cachePlan(2 s) gives 1 s each; we wait a little longer. */
export const EXPIRY_WAIT_MS = 1100;

/** Warm reads through a secretfs mount: the same bytes as the floors, read with readbench after a first read filled the caches. */
export async function measureWarm(ctx: BenchContext, host: MountHost, store: BenchStore, n: number): Promise<{ p50_us: number; p99_us: number; file: string; mountpoint: string }> {
  const { tools, dir } = ctx;
  await store.put('bench/warm', { [FLOOR_KEY]: FLOOR_VALUE });
  const mountpoint = join(dir, 'warm');
  await host.mount('secret/bench/warm', mountpoint);
  const file = join(mountpoint, FLOOR_KEY);
  await readbench(tools, file, Math.min(n, 1000));
  const r = await readbench(tools, file, n);
  return { p50_us: r.p50_us, p99_us: r.p99_us, file, mountpoint };
}

/** p50 of a direct GET of the same secret from the same store, one keep-alive connection, from this process. */
export async function measureVaultGet(store: BenchStore, name: string, n: number): Promise<{ p50_us: number; p99_us: number }> {
  const agent = keepAliveAgent(1);
  try {
    const times: number[] = [];
    for (let i = 0; i < n + 50; i++) {
      const start = process.hrtime.bigint();
      const r = await storeRequest(agent, store.address, store.token, 'GET', `secret/data/${name}`);
      const us = elapsedUs(start);
      if (r.status !== 200) throw new Error(`GET secret/${name}: ${r.status}`);
      if (i >= 50) times.push(us); // the first requests open the connection and warm the JIT
    }
    return { p50_us: quantile(times, 0.5), p99_us: quantile(times, 0.99) };
  } finally {
    agent.destroy();
  }
}

/**
 * Cold reads: the first open after every cache expired, so the value is fetched from the store.
 * K volumes of one secret each are mounted; each cycle empties their stores, waits until the
 * kernel's name and attribute caches have expired too, then reads each file once with readbench
 * (n=1, timed inside readbench). Cycles x K samples in cycles x ~1.1 s.
 */
export async function measureCold(ctx: BenchContext, host: MountHost, store: BenchStore, volumes: number, cycles: number): Promise<{ p50_us: number; p99_us: number; samples: number; vault_reads_per_open: number }> {
  const { tools, dir } = ctx;
  const files: { mountpoint: string; file: string; name: string }[] = [];
  for (let i = 0; i < volumes; i++) {
    const name = `bench/cold-${i}`;
    await store.put(name, { [FLOOR_KEY]: FLOOR_VALUE });
    const mountpoint = join(dir, `cold-${i}`);
    await host.mount(`secret/${name}`, mountpoint);
    files.push({ mountpoint, file: join(mountpoint, FLOOR_KEY), name });
    await readbench(tools, join(mountpoint, FLOOR_KEY), 1);
  }
  const times: number[] = [];
  const readsBefore = await Promise.all(files.map((f) => host.stats(f.mountpoint)));
  for (let c = 0; c < cycles; c++) {
    for (const f of files) await host.clear(f.mountpoint);
    await sleep(EXPIRY_WAIT_MS);
    for (const f of files) times.push((await readbench(tools, f.file, 1)).p50_us);
  }
  const readsAfter = await Promise.all(files.map((f) => host.stats(f.mountpoint)));
  const reads = readsAfter.reduce((s, st, i) => s + st.vaultReads - readsBefore[i].vaultReads, 0);
  for (const f of files) await host.unmount(f.mountpoint);
  return { p50_us: quantile(times, 0.5), p99_us: quantile(times, 0.99), samples: times.length, vault_reads_per_open: reads / times.length };
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
