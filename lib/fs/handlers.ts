import type { FuseOps, FuseStat, FuseStatfs } from 'fuse-native';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import type { AuditLog } from './audit.js';
import { nullAuditLog } from './audit.js';
import { Errno, FsErrno, errnoFor, errnoName } from './errno.js';
import { splitPath, type Node } from './names.js';
import { createOpenFiles } from './open-files.js';
import type { FsOptions } from './options.js';
import type { SecretStore } from './store.js';
import { createSecretTree } from './tree.js';

const O_ACCMODE = 0o3;
const O_TRUNC = 0o1000;

/** Default bound of one FUSE operation: well under fuse-native's 15 s, above two sequential 3 s Vault calls would need. */
export const OP_TIMEOUT_MS = 8000;

export interface HandlerDeps {
  log?: Logger;
  audit?: AuditLog;
  /** The mount as the audit log names it (a volume name or a mountpoint). */
  mountName?: string;
  /** Every operation answers within this bound (EIO when it runs out). */
  opTimeoutMs?: number;
}

/** The FUSE operations that reach JavaScript, by name (getattr also answers libfuse's lookups). */
export type FuseRequestCounts = Record<string, number>;

/** The FUSE handlers, plus what tests and the mount need to see. */
export interface SecretFsHandlers extends FuseOps {
  /** How many files are open (per-open snapshots held). */
  openFileCount(): number;
  /** How many requests of each operation reached this process since the mount (bench, tests). */
  requestCounts(): FuseRequestCounts;
}

/**
 * The FUSE operations of one secret filesystem: a thin adapter over the tree (tree.ts: what a
 * path is and what it holds) and the open-file table (open-files.ts). Only this file and the
 * mounter know fuse-native.
 *
 * Handlers never throw and always call back: one adapter turns a resolved promise into
 * `cb(0, value)` and a rejection into `cb(errno)`, within opTimeoutMs. An open takes a snapshot
 * of the bytes, so every read of that open sees one version (the mount is direct_io, so every
 * read(2) reaches this snapshot: see KernelCacheOptions in mount.ts); getattr reports the size of
 * the cached value, which is what the next open serves. Every open is audited; every write
 * answers EROFS. There is no fgetattr: libfuse then answers an fstat with getattr(path).
 */
export function createHandlers(store: SecretStore, options: FsOptions, deps: HandlerDeps = {}): SecretFsHandlers {
  const log = deps.log ?? silentLogger;
  const audit = deps.audit ?? nullAuditLog;
  const mountName = deps.mountName ?? store.name;
  const opTimeoutMs = deps.opTimeoutMs ?? OP_TIMEOUT_MS;
  const tree = createSecretTree(store, options);
  const files = createOpenFiles();

  /** Runs one operation: a value becomes cb(0, value), a failure cb(errno), a hang cb(EIO). */
  function run<T>(op: string, path: string, fn: () => Promise<T>, cb: (code: number, value?: T) => void): void {
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      log.warn('FUSE operation timed out', { op, path, ms: opTimeoutMs });
      cb(Errno.EIO);
    }, opTimeoutMs);
    const finish = (code: number, value?: T) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      cb(code, value);
    };
    let promise: Promise<T>;
    try {
      promise = fn();
    } catch (err) {
      promise = Promise.reject(err);
    }
    promise.then(
      (value) => finish(0, value),
      (err) => {
        const code = errnoFor(err);
        if (code === Errno.EIO) log.warn('FUSE operation failed', { op, path, error: err instanceof Error ? err.message : String(err) });
        else log.debug('FUSE operation refused', { op, path, errno: code });
        finish(code);
      },
    );
  }

  function auditOpen(rel: string, name: string, version: number | undefined, result: string): void {
    audit.record({ mount: mountName, path: rel === '' ? store.name : `${store.name}/${rel}`, key: name, version, result });
  }

  /** An open that failed is audited with its errno; opening a directory is not an open of a secret. */
  function auditRefusal(path: string, code: number): void {
    if (code === Errno.EISDIR) return;
    const { dirRel, name } = splitPath(path);
    auditOpen(dirRel, name, undefined, errnoName(code));
  }

  function isWriteOpen(flags: number): boolean {
    return (flags & O_ACCMODE) !== 0 || (flags & O_TRUNC) !== 0;
  }

  /** Takes the snapshot of an open: the fd serves these bytes until released. */
  function openNode(node: Node): number {
    if (node.kind === 'dir') throw new FsErrno(Errno.EISDIR);
    const fd = files.open(tree.bytes(node));
    auditOpen(node.rel, node.name, node.snap.version, node.snap.stale ? 'stale' : 'ok');
    return fd;
  }

  async function open(path: string, flags: number): Promise<number> {
    if (isWriteOpen(flags)) {
      const { dirRel, name } = splitPath(path);
      auditOpen(dirRel, name, undefined, 'EROFS');
      throw new FsErrno(Errno.EROFS);
    }
    try {
      return openNode(await tree.resolve(path));
    } catch (err) {
      auditRefusal(path, errnoFor(err));
      throw err;
    }
  }

  const rofs = (...args: unknown[]) => {
    const cb = args[args.length - 1] as (code: number) => void;
    cb(Errno.EROFS);
  };

  const handlers: SecretFsHandlers = {
    openFileCount: () => files.count(),
    requestCounts: () => Object.fromEntries(requests),
    init: (cb) => cb(0),
    getattr: (path, cb) => {
      const node = tree.resolveCached(path);
      if (!node) return run('getattr', path, async () => tree.stat(await tree.resolve(path)), cb);
      let stat: FuseStat;
      try {
        stat = tree.stat(node);
      } catch (err) {
        return cb(errnoFor(err));
      }
      cb(0, stat);
    },
    readdir: (path, cb) => run('readdir', path, async () => ['.', '..', ...(await tree.list(await tree.resolve(path)))], (code, names) => cb(code, names)),
    open: (path, flags, cb) => {
      const node = isWriteOpen(flags) ? undefined : tree.resolveCached(path);
      if (!node) return run('open', path, () => open(path, flags), cb);
      let fd: number;
      try {
        fd = openNode(node);
      } catch (err) {
        const code = errnoFor(err);
        auditRefusal(path, code);
        return cb(code);
      }
      cb(0, fd);
    },
    // Reads are served from the open's snapshot, synchronously: no Vault call, no await.
    read: (_path, fd, buf, len, pos, cb) => cb(files.read(fd, buf, len, pos) ?? Errno.EBADF),
    release: (_path, fd, cb) => {
      files.release(fd);
      cb(0);
    },
    statfs: (_path, cb) => {
      const stat: FuseStatfs = { bsize: 4096, frsize: 4096, blocks: 0, bfree: 0, bavail: 0, files: 0, ffree: 0, favail: 0, namemax: 255 };
      cb(0, stat);
    },
    write: (_path, _fd, _buf, _len, _pos, cb) => cb(Errno.EROFS),
    create: rofs,
    unlink: rofs,
    rename: rofs,
    link: rofs,
    symlink: rofs,
    mkdir: rofs,
    rmdir: rofs,
    chmod: rofs,
    chown: rofs,
    truncate: rofs,
    ftruncate: rofs,
    utimens: rofs,
    mknod: rofs,
    setxattr: rofs,
    removexattr: rofs,
  };
  // Every operation counted as it reaches JS: one integer add per request, so a cold read's
  // requests can be asserted (test/integration/fs/cold-read.test.ts) and reported (bench).
  const requests = new Map<string, number>();
  for (const [name, fn] of Object.entries(handlers)) {
    if (name === 'openFileCount' || name === 'requestCounts' || typeof fn !== 'function') continue;
    requests.set(name, 0);
    (handlers as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      requests.set(name, requests.get(name)! + 1);
      return (fn as (...a: unknown[]) => unknown)(...args);
    };
  }
  return handlers;
}
