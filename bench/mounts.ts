import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FuseRequestCounts } from '../lib/fs/handlers.js';
import type { KernelCacheOptions } from '../lib/fs/mount.js';
import type { StoreStats } from '../lib/fs/store.js';
import { rssMbOf } from './store.js';
import { Cleanup, stopChild, unmountIfMounted } from './util.js';

/** A process serving secretfs mounts for the bench (bench/mount-child.ts). */
export interface MountHost {
  pid: number;
  /**
   * Mounts path (below secret/) at mountpoint with the given volume options (e.g. cache_ttl) and, for
   * measurements, another kernel cache, or without the prefetch of the mounted secret (`prefetch: false`).
   */
  mount(path: string, mountpoint: string, options?: Record<string, string>, kernel?: Partial<KernelCacheOptions>, fs?: { prefetch?: boolean }): Promise<void>;
  clear(mountpoint: string): Promise<void>;
  stats(mountpoint: string): Promise<StoreStats>;
  /** The FUSE requests that reached the mount's JS handlers since it was mounted, by operation. */
  requests(mountpoint: string): Promise<FuseRequestCounts>;
  unmount(mountpoint: string): Promise<void>;
  rssMb(): Promise<number>;
  stop(): Promise<void>;
}

/** Forks a mount host that talks to the store at addr with token. */
export async function startMountHost(cleanup: Cleanup, addr: string, token: string, auditFile: string): Promise<MountHost> {
  const script = join(fileURLToPath(new URL('.', import.meta.url)), 'mount-child.js');
  const child: ChildProcess = fork(script, [auditFile], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const mounted = new Set<string>();
  const stopNow = cleanup.add(`stop the mount host (pid ${child.pid})`, async () => {
    await stopChild(child, 10_000);
    for (const mp of mounted) await unmountIfMounted(mp);
  });
  let nextId = 1;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  const ready = new Promise<void>((resolve, reject) => {
    pending.set(0, { resolve: () => resolve(), reject });
  });
  child.on('message', (m: { id: number; ok: boolean; result?: unknown; error?: string }) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(m.error));
  });
  child.on('exit', (code) => {
    for (const p of pending.values()) p.reject(new Error(`the mount host exited (${code}): ${stderr.trim()}`));
    pending.clear();
  });
  const call = <T>(msg: Record<string, unknown>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ ...msg, id });
    });
  await ready;
  return {
    pid: child.pid!,
    async mount(path, mountpoint, options = {}, kernel, fs) {
      mounted.add(mountpoint);
      await call({ op: 'mount', addr, token, path, mountpoint, options, kernel, prefetch: fs?.prefetch });
    },
    clear: (mountpoint) => call({ op: 'clear', mountpoint }),
    stats: (mountpoint) => call<StoreStats>({ op: 'stats', mountpoint }),
    requests: (mountpoint) => call<FuseRequestCounts>({ op: 'requests', mountpoint }),
    async unmount(mountpoint) {
      await call({ op: 'unmount', mountpoint });
      mounted.delete(mountpoint);
    },
    rssMb: () => rssMbOf(child.pid!),
    stop: stopNow,
  };
}
