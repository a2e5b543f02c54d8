import { execFile } from 'node:child_process';
import { readFile, statfs } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { MountError } from '../errors.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';

/*
 * The kernel's mount table, read from /proc: which FUSE mounts exist, whether their server still
 * answers, and lazy unmounts. No FUSE binding here, so doctor, the driver and bench read /proc
 * without loading the mounter.
 */

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (err) reject(Object.assign(err, { stderr: String(stderr).trim() }));
      else resolve();
    });
  });
}

/** Decodes the octal escapes /proc/mounts uses for space, tab, newline and backslash. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** The mounts of this mount namespace: mountpoint and filesystem type. */
export async function listMounts(): Promise<{ mountpoint: string; type: string; source: string }[]> {
  const text = await readFile('/proc/self/mounts', 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [source, mountpoint, type] = line.split(' ');
      return { source: unescapeMountField(source), mountpoint: unescapeMountField(mountpoint), type };
    });
}

/** True when dir is a FUSE mountpoint (alive or dead). */
export async function isMounted(dir: string): Promise<boolean> {
  const abs = resolvePath(dir);
  return (await listMounts()).some((m) => m.mountpoint === abs && (m.type === 'fuse' || m.type.startsWith('fuse.')));
}

/** Unmounts lazily (the mount disappears now; busy files finish later): fusermount -uz, else umount -l. */
export async function forceUnmount(dir: string): Promise<void> {
  try {
    await run('fusermount', ['-u', '-z', dir]);
  } catch (first) {
    try {
      await run('umount', ['-l', dir]);
    } catch {
      if (await isMounted(dir)) {
        throw new MountError(`cannot unmount ${dir}: ${(first as { stderr?: string }).stderr || (first as Error).message}`, { cause: first });
      }
    }
  }
}

/**
 * True when the FUSE server behind dir answers (a statfs within 2 s); a dead one gives ENOTCONN.
 * statfs, not stat: the kernel answers a stat from its attribute cache for attr_timeout without
 * asking the server (mount.ts asks the root's attributes right after mounting), statfs always asks.
 */
async function isAlive(dir: string): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), 2000);
  });
  // Asynchronous on purpose: the server may be this very process, which a synchronous stat would deadlock.
  const probe = statfs(dir).then(
    () => true,
    (err: NodeJS.ErrnoException) => err.code !== 'ENOTCONN' && err.code !== 'ENXIO' && err.code !== 'EIO',
  );
  try {
    return await Promise.race([probe, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Makes dir usable as a mountpoint: a FUSE mount left there by a process that died (stat answers
 * ENOTCONN, or nothing within 2 s) is unmounted lazily. A live mount is left alone and reported.
 */
export async function cleanStaleMount(dir: string, log: Logger = silentLogger): Promise<void> {
  if (!(await isMounted(dir))) return;
  if (await isAlive(dir)) {
    throw new MountError(`${dir} is already a mounted filesystem served by a running process`, { hint: `unmount it first: fusermount -u ${dir}` });
  }
  log.warn('unmounting a stale FUSE mount', { mountpoint: dir });
  await forceUnmount(dir);
}

/** The FUSE mounts at or below root whose server no longer answers (what cleanStaleMount would unmount). */
export async function findDeadMounts(root: string): Promise<string[]> {
  const dead: string[] = [];
  for (const mountpoint of await fuseMountsUnder(root)) if (!(await isAlive(mountpoint))) dead.push(mountpoint);
  return dead;
}

/** The FUSE mountpoints at or below root. */
async function fuseMountsUnder(root: string): Promise<string[]> {
  const abs = resolvePath(root);
  return (await listMounts())
    .filter((m) => (m.type === 'fuse' || m.type.startsWith('fuse.')) && (m.mountpoint === abs || m.mountpoint.startsWith(abs + '/')))
    .map((m) => m.mountpoint);
}

/** Unmounts every FUSE mount at or below root (the driver does this at start, after a crash). Returns what it unmounted. */
export async function cleanStaleMounts(root: string, log: Logger = silentLogger): Promise<string[]> {
  const found = (await fuseMountsUnder(root))
    // Deepest first, so a mount inside another goes before its parent.
    .sort((a, b) => b.length - a.length);
  for (const mp of found) {
    log.warn('unmounting a leftover FUSE mount', { mountpoint: mp });
    await forceUnmount(mp);
  }
  return found;
}
