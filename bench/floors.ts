import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cachePlan, fuseMountOptions, type KernelCacheOptions } from '../lib/fs/mount.js';
import { FS_DEFAULTS } from '../lib/fs/options.js';
import type { NativeTools } from './native.js';
import { Cleanup, cmd, mustCmd, stopChild, tempDir, unmountIfMounted, waitFor } from './util.js';

/** The value memfs serves (fuse-floor/memfs.c); secretfs and tmpfs serve the same bytes so sizes match. */
export const FLOOR_VALUE = 's3cr3t-value-for-benchmarking\n';
/** The file name memfs serves. */
export const FLOOR_KEY = 'db-password';

/**
 * The -o options memfs gets: exactly those a secretfs volume with default options mounts with
 * (lib/fs/mount.ts fuseMountOptions of cachePlan(default cache_ttl): ro, allow_other,
 * default_permissions, entry/attr/negative timeouts, direct_io), minus fsname and subtype, which
 * only name the mount. Imported, not copied, so they cannot drift. `kernel` overrides the kernel
 * cache as mountSecretStore's kernelCache does (the page-cache floor of the one-version cost).
 */
export function floorMountOptions(cacheTtlMs: number = FS_DEFAULTS.cacheTtlMs, kernel: Partial<KernelCacheOptions> = {}): string {
  const full = fuseMountOptions('bench/floor', { ...cachePlan(cacheTtlMs).kernel, ...kernel }).replace(/^-o/, '');
  return full
    .split(',')
    .filter((o) => !o.startsWith('fsname=') && !o.startsWith('subtype='))
    .join(',');
}

async function isTmpfs(dir: string): Promise<boolean> {
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  return mounts.split('\n').some((l) => {
    const [, mp, type] = l.split(' ');
    return mp === dir && type === 'tmpfs';
  });
}

/** A directory on tmpfs: below /dev/shm when it is tmpfs, else a tmpfs mounted for the run (needs root). */
export async function tmpfsDir(cleanup: Cleanup): Promise<string> {
  if (await isTmpfs('/dev/shm')) {
    const dir = await mkdtemp('/dev/shm/secretfs-bench-');
    cleanup.add(`remove ${dir}`, () => rm(dir, { recursive: true, force: true }));
    return dir;
  }
  const dir = await tempDir(cleanup, 'secretfs-bench-tmpfs-');
  await mustCmd('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', dir]);
  cleanup.add(`unmount tmpfs ${dir}`, async () => void (await cmd('umount', ['-l', dir])));
  return dir;
}

/** A running memfs (the C libfuse floor) at mountpoint, in the foreground (-f), stopped by PID. */
export interface Memfs {
  mountpoint: string;
  file: string;
  stop(): Promise<void>;
}

/** Starts memfs with the secretfs kernel cache options (or those `options` gives). */
export async function startMemfs(cleanup: Cleanup, tools: NativeTools, mountpoint: string, options: string = floorMountOptions()): Promise<Memfs> {
  await mkdir(mountpoint, { recursive: true });
  const child = spawn(tools.memfs, [mountpoint, '-f', '-o', options], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const stop = cleanup.add(`stop memfs (pid ${child.pid})`, async () => {
    // fusermount -u makes fuse_main return; the PID is the fallback.
    await unmountIfMounted(mountpoint);
    await stopChild(child);
  });
  const file = join(mountpoint, FLOOR_KEY);
  await waitFor(`memfs at ${mountpoint}`, async () => {
    if (child.exitCode !== null) throw new Error(`memfs exited ${child.exitCode}: ${stderr.trim()}`);
    const mounts = await readFile('/proc/self/mounts', 'utf8');
    return mounts.split('\n').some((l) => l.split(' ')[1] === mountpoint);
  });
  return { mountpoint, file, stop };
}
