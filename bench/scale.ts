import { join } from 'node:path';
import type { BenchContext } from './context.js';
import { startBenchDriver, type BenchDriver } from './driver.js';
import { FLOOR_KEY, FLOOR_VALUE } from './floors.js';
import { probe } from './native.js';
import type { ScaleRow } from './report.js';
import type { BenchStore } from './store.js';
import { quantile, round } from './util.js';

export interface ScaleResult {
  rows: ScaleRow[];
  details: Record<string, unknown>;
}

export const SCALE_LEVELS = [1, 10, 50, 200];

async function timedMount(driver: BenchDriver, name: string, id: string): Promise<{ ms: number; mountpoint: string }> {
  const start = process.hrtime.bigint();
  const r = await driver.call<{ Mountpoint: string }>('/VolumeDriver.Mount', { Name: name, ID: id });
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, mountpoint: r.Mountpoint };
}

/**
 * Volumes mounted at once through the real driver, as dockerd drives it (POST
 * /VolumeDriver.Create and /VolumeDriver.Mount on its socket). For each level (1, 10, 50, 200)
 * the driver gets volumes up to that count, each with its own secret and its own token; then, with
 * that many mounted, 10 more Mount/Unmount cycles of one extra volume give the Mount latency at
 * that level; the driver's VmRSS is read, and one file of every mounted volume is read
 * (bench/probe.c each) to check all are still served.
 */
export async function measureScale(ctx: BenchContext, store: BenchStore): Promise<ScaleResult> {
  const levels = SCALE_LEVELS;
  const cycles = ctx.quick ? 5 : 10;
  const total = levels[levels.length - 1];
  ctx.progress.step('scale: writing secrets');
  for (let i = 0; i <= total; i++) await store.put(`bench/scale-${i}`, { [FLOOR_KEY]: FLOOR_VALUE });
  ctx.progress.step('scale: starting the driver');
  const driver = await startBenchDriver(ctx, store, 'scale');
  const rssIdle = await driver.rssMb();
  const names: string[] = [];
  const files: string[] = [];
  const rows: ScaleRow[] = [];
  const fillTimes: Record<number, number[]> = {};
  const createTimes: number[] = [];
  const probeName = 'sfsbench-scale-probe';
  await driver.call('/VolumeDriver.Create', { Name: probeName, Opts: { path: `secret/bench/scale-${total}` } });
  try {
    for (const level of levels) {
      fillTimes[level] = [];
      while (names.length < level) {
        const i = names.length;
        ctx.progress.step(`scale: volume ${i + 1}/${level}`);
        const name = `sfsbench-scale-${i}`;
        const c0 = process.hrtime.bigint();
        await driver.call('/VolumeDriver.Create', { Name: name, Opts: { path: `secret/bench/scale-${i}` } });
        createTimes.push(Number(process.hrtime.bigint() - c0) / 1e6);
        const m = await timedMount(driver, name, `bench-${i}`);
        fillTimes[level].push(m.ms);
        names.push(name);
        files.push(join(m.mountpoint, FLOOR_KEY));
      }
      const mountMs: number[] = [];
      for (let c = 0; c < cycles; c++) {
        ctx.progress.step(`scale: ${level} volumes: Mount cycle ${c + 1}/${cycles}`);
        const m = await timedMount(driver, probeName, `probe-${level}-${c}`);
        mountMs.push(m.ms);
        await driver.call('/VolumeDriver.Unmount', { Name: probeName, ID: `probe-${level}-${c}` });
      }
      const rss = await driver.rssMb();
      ctx.progress.step(`scale: ${level} volumes: reading one file of each`);
      const read = await probe<{ n: number; failures: number }>(ctx.tools, ['each', ...files], 120_000);
      rows.push({
        volumes: level,
        mount_p50_ms: round(quantile(mountMs, 0.5), 1),
        mount_p99_ms: round(quantile(mountMs, 0.99), 1),
        driver_rss_mb: round(rss, 1),
        reads_ok: read.n - read.failures,
        reads_tried: read.n,
      });
    }
  } finally {
    ctx.progress.step('scale: unmounting and removing the volumes');
    for (let i = 0; i < names.length; i++) {
      await driver.call('/VolumeDriver.Unmount', { Name: names[i], ID: `bench-${i}` }).catch(() => undefined);
      await driver.call('/VolumeDriver.Remove', { Name: names[i] }).catch(() => undefined);
    }
    await driver.call('/VolumeDriver.Remove', { Name: probeName }).catch(() => undefined);
    await driver.stop();
  }
  return {
    rows,
    details: {
      driver_rss_idle_mb: round(rssIdle, 1),
      create_p50_ms: round(quantile(createTimes, 0.5), 1),
      fill_mount_p50_ms: Object.fromEntries(Object.entries(fillTimes).map(([k, v]) => [k, round(quantile(v, 0.5), 1)])),
      mount_cycles_per_level: cycles,
      expected_value_bytes: FLOOR_VALUE.length,
    },
  };
}
