import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ensureBusyboxImage } from '../lib/docker/local-image.js';
import type { BenchContext } from './context.js';
import { startBenchDriver } from './driver.js';
import type { BenchStore } from './store.js';
import { cmd, median, mustCmd, quantile, round, sleep, stopChild } from './util.js';

const BENCH_IMAGE = 'secretfs-test/busybox:latest';

/** Rotation reaching the app: put -> the container's HUP handler, and the watch's Vault reads. */
export interface RotationResult {
  watch_ms: number;
  debounce_ms: number;
  rotations: number;
  /** Time from the write to the container's HUP handler printing the new value. */
  signal_p50_ms: number;
  signal_p99_ms: number;
  /** p50 over the watch interval: about 0.5 when the write lands at a random point of the interval. */
  signal_p50_vs_watch: number;
  signal_all_ms: number[];
  /** With `volumes` watched volumes mounted on one secret: version reads per interval (target 1). */
  volumes: number;
  reads_per_interval: number;
  intervals_counted: number;
}

/** GETs of a secret's metadata/ or data/ in the store's audit log. */
async function versionReads(auditLog: string, name: string): Promise<number> {
  await sleep(300);
  const text = await readFile(auditLog, 'utf8').catch(() => '');
  let n = 0;
  for (const line of text.split('\n')) {
    if (!line.includes(name)) continue;
    const rec = JSON.parse(line) as { path: string; method: string };
    if ((rec.path === `secret/metadata/${name}` || rec.path === `secret/data/${name}`) && rec.method === 'GET') n++;
  }
  return n;
}

/**
 * (1) A watched volume (watch=1s, on_change=signal:HUP, debounce 0, so the figure is the watch's
 * own) and a long-running busybox container whose HUP trap prints the file; 20 rotations (8 with
 * --quick), each written at a random point of the interval; the time from the write to the
 * handler's line on `docker logs -f`. (2) 50 watched volumes on one secret, mounted through the
 * driver's socket: version reads of that secret in the store's audit log over 10 intervals.
 */
export async function measureRotation(ctx: BenchContext, store: BenchStore): Promise<RotationResult> {
  const watchMs = 1000;
  const rotations = ctx.quick ? 8 : 20;
  const dockerd = await ctx.dockerd();
  const env = { ...process.env, ...dockerd.env };
  const image = await ensureBusyboxImage(BENCH_IMAGE, 'docker', env);
  await store.put('bench/rotation', { value: 'v0' });
  ctx.progress.step('rotation: starting the driver');
  const driver = await startBenchDriver(ctx, store, 'rotation');
  const tag = randomBytes(3).toString('hex');
  const vol = `sfsbench-rot-${tag}`;
  const container = `sfsbench-rot-${tag}`;
  // The volume is removed only once it exists (an unknown name makes dockerd wait for every stopped driver it met).
  let volumeCreated = false;
  const removeAll = ctx.cleanup.add(`docker rm -f ${container}; docker volume rm ${vol}`, async () => {
    await cmd('docker', ['rm', '-f', container], { timeoutMs: 60_000, env });
    if (volumeCreated) await cmd('docker', ['volume', 'rm', '-f', vol], { timeoutMs: 60_000, env });
    volumeCreated = false;
  });
  await mustCmd('docker', ['volume', 'create', '-d', driver.name, '-o', 'path=secret/bench/rotation', '-o', `watch=${watchMs}ms`, '-o', 'on_change=signal:HUP', '-o', 'on_change_debounce=0', vol], { timeoutMs: 60_000, env });
  volumeCreated = true;
  const script = `trap 'echo "hup:$(cat /s/value)"' HUP; echo ready; while true; do sleep 0.05 & wait $!; done`;
  await mustCmd('docker', ['run', '-d', '--name', container, '-v', `${vol}:/s:ro`, image, 'sh', '-c', script], { timeoutMs: 60_000, env });

  const follower = spawn('docker', ['logs', '-f', container], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const seen = new Map<string, number>();
  let buffered = '';
  follower.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!seen.has(line)) seen.set(line, Date.now());
    }
  });
  const waitLine = async (line: string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!seen.has(line)) {
      if (Date.now() > deadline) throw new Error(`the container did not print ${JSON.stringify(line)} within ${timeoutMs} ms`);
      await sleep(5);
    }
    return seen.get(line)!;
  };
  const latencies: number[] = [];
  try {
    await waitLine('ready', 20_000);
    // Let the watch take its baseline.
    await sleep(watchMs * 2);
    for (let i = 1; i <= rotations; i++) {
      ctx.progress.step(`rotation: ${i}/${rotations}`);
      await sleep(Math.random() * watchMs);
      const t0 = Date.now();
      await store.put('bench/rotation', { value: `v${i}` });
      latencies.push((await waitLine(`hup:v${i}`, watchMs * 5 + 10_000)) - t0);
    }
  } finally {
    await stopChild(follower);
  }
  await removeAll();

  ctx.progress.step('rotation: 50 watched volumes on one secret');
  const volumes = 50;
  await store.put('bench/rotation-shared', { value: 'x' });
  for (let i = 0; i < volumes; i++) {
    await driver.call('/VolumeDriver.Create', { Name: `sfsbench-rot50-${i}`, Opts: { path: 'secret/bench/rotation-shared', watch: `${watchMs}ms` } });
    await driver.call('/VolumeDriver.Mount', { Name: `sfsbench-rot50-${i}`, ID: `rot50-${i}` });
  }
  await sleep(watchMs * 2);
  const intervals = 10;
  const before = await versionReads(store.auditLog, 'bench/rotation-shared');
  const t0 = Date.now();
  await sleep(watchMs * intervals);
  const reads = (await versionReads(store.auditLog, 'bench/rotation-shared')) - before;
  const elapsedIntervals = (Date.now() - t0) / watchMs;
  for (let i = 0; i < volumes; i++) {
    await driver.call('/VolumeDriver.Unmount', { Name: `sfsbench-rot50-${i}`, ID: `rot50-${i}` });
    await driver.call('/VolumeDriver.Remove', { Name: `sfsbench-rot50-${i}` });
  }
  await driver.stop();
  const p50 = median(latencies);
  return {
    watch_ms: watchMs,
    debounce_ms: 0,
    rotations,
    signal_p50_ms: round(p50, 1),
    signal_p99_ms: round(quantile(latencies, 0.99), 1),
    signal_p50_vs_watch: round(p50 / watchMs, 2),
    signal_all_ms: latencies.map((x) => round(x, 0)),
    volumes,
    reads_per_interval: round(reads / elapsedIntervals, 2),
    intervals_counted: round(elapsedIntervals, 1),
  };
}
