import type { FuseOps, FuseStat, FuseStatfs } from 'fuse-native';
import { isVaultFailure } from '../errors.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import type { AuditLog } from './audit.js';
import { nullAuditLog } from './audit.js';
import { VIEW_NAMES, isServableKey, renderEnvView, renderJsonView, valueBytes, viewKindOf, type ViewKind } from './content.js';
import { Errno, FsErrno, errnoFor } from './errno.js';
import type { FsOptions } from './options.js';
import type { SecretSnapshot, SecretStore } from './store.js';

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
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

/** The FUSE handlers, plus what tests and the mount need to see. */
export interface SecretFsHandlers extends FuseOps {
  /** How many files are open (per-open snapshots held). */
  openFileCount(): number;
}

type Node =
  | { kind: 'dir'; rel: string }
  | { kind: 'key'; rel: string; name: string; snap: SecretSnapshot }
  | { kind: 'view'; rel: string; name: string; view: ViewKind; snap: SecretSnapshot };

/** An open file: the bytes it will serve until it is released, whatever Vault does meanwhile. */
interface OpenFile {
  bytes: Buffer;
}

function childRel(rel: string, name: string): string {
  return rel === '' ? name : `${rel}/${name}`;
}

/**
 * Creates the FUSE operations of one secret filesystem over a store. A directory is a Vault path,
 * each key of the secret there is a file, sub-paths Vault lists are subdirectories, and two views
 * (content.ts VIEW_NAMES) show the whole secret. Where names clash, a key wins over a view, and a
 * view over a sub-path.
 *
 * Handlers never throw and always call back: one adapter turns a resolved promise into
 * `cb(0, value)` and a rejection into `cb(errno)`, within opTimeoutMs. An open takes a snapshot
 * of the bytes, so every read of that open sees one version; getattr reports the size of the
 * cached value, which is what the next open serves. Every write answers EROFS.
 */
export function createHandlers(store: SecretStore, options: FsOptions, deps: HandlerDeps = {}): SecretFsHandlers {
  const log = deps.log ?? silentLogger;
  const audit = deps.audit ?? nullAuditLog;
  const mountName = deps.mountName ?? store.name;
  const opTimeoutMs = deps.opTimeoutMs ?? OP_TIMEOUT_MS;
  const mountedAt = Date.now();
  const files = new Map<number, OpenFile>();
  let nextFd = 1;
  // File bytes per fetched secret: a 1 MiB value is encoded once per Vault read, not on every getattr.
  const bytesCache = new WeakMap<Record<string, unknown>, Map<string, Buffer>>();

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

  function fileBytes(snap: SecretSnapshot, name: string, view?: ViewKind): Buffer {
    let perSecret = bytesCache.get(snap.data);
    if (!perSecret) {
      perSecret = new Map();
      bytesCache.set(snap.data, perSecret);
    }
    // Views get a "/" prefix in this cache: no key can contain one.
    const cacheKey = view ? `/${view}` : name;
    let bytes = perSecret.get(cacheKey);
    if (!bytes) {
      if (view === 'json') bytes = renderJsonView(snap.data);
      else if (view === 'env') bytes = renderEnvView(snap.data, options.encoding);
      else bytes = valueBytes(snap.data[name], options.encoding);
      perSecret.set(cacheKey, bytes);
    }
    return bytes;
  }

  /** The secret at rel, or undefined when Vault has none there. Other failures propagate. */
  async function secretAt(rel: string): Promise<SecretSnapshot | undefined> {
    try {
      return await store.readSecret(rel);
    } catch (err) {
      if (isVaultFailure(err, 'not_found')) return undefined;
      throw err;
    }
  }

  /** Sub-path names below rel; a token that may read but not list sees none. */
  async function childrenOf(rel: string): Promise<string[]> {
    try {
      return await store.listChildren(rel);
    } catch (err) {
      if (isVaultFailure(err, 'forbidden', 'not_found')) return [];
      throw err;
    }
  }

  /** Looks a name up in the directory rel: key, then view, then sub-path. */
  async function lookup(rel: string, name: string): Promise<Node> {
    let snap: SecretSnapshot | undefined;
    let readError: unknown;
    try {
      snap = await secretAt(rel);
    } catch (err) {
      // Without read access to this secret, a listed sub-path may still be reachable.
      if (!isVaultFailure(err, 'forbidden')) throw err;
      readError = err;
    }
    if (snap && isServableKey(name) && Object.prototype.hasOwnProperty.call(snap.data, name)) {
      return { kind: 'key', rel, name, snap };
    }
    const view = viewKindOf(name);
    if (snap && view) return { kind: 'view', rel, name, view, snap };
    if ((await childrenOf(rel)).includes(name)) return { kind: 'dir', rel: childRel(rel, name) };
    if (readError) throw readError;
    throw new FsErrno(Errno.ENOENT);
  }

  /** Resolves a FUSE path ("/", "/key", "/sub/key") to a node. */
  async function resolve(path: string): Promise<Node> {
    if (path === '/' || path === '') return { kind: 'dir', rel: '' };
    const parts = path.split('/').slice(1);
    let rel = '';
    for (let i = 0; i < parts.length - 1; i++) {
      const node = await lookup(rel, parts[i]);
      if (node.kind !== 'dir') throw new FsErrno(Errno.ENOTDIR);
      rel = node.rel;
    }
    return lookup(rel, parts[parts.length - 1]);
  }

  /**
   * resolve() from fresh cache entries only, with no await: the path of a warm open or getattr,
   * which must cost about as much as fuse-native's own round trip. undefined means "ask the store"
   * (not cached, stale, or an answer that is an error).
   */
  function resolveCached(path: string): Node | undefined {
    if (path === '/' || path === '') return { kind: 'dir', rel: '' };
    const parts = path.split('/');
    let rel = '';
    for (let i = 1; i < parts.length; i++) {
      const name = parts[i];
      const r = store.peekSecret(rel);
      if (r === undefined) return undefined;
      const snap = r === 'missing' ? undefined : r;
      let node: Node | undefined;
      if (snap && isServableKey(name) && Object.prototype.hasOwnProperty.call(snap.data, name)) node = { kind: 'key', rel, name, snap };
      else if (snap && viewKindOf(name)) node = { kind: 'view', rel, name, view: viewKindOf(name)!, snap };
      else if (store.peekChildren(rel)?.includes(name)) node = { kind: 'dir', rel: childRel(rel, name) };
      if (!node) return undefined;
      if (i === parts.length - 1) return node;
      if (node.kind !== 'dir') return undefined;
      rel = node.rel;
    }
    return undefined;
  }

  function dirStat(): FuseStat {
    return { mode: S_IFDIR | options.dirMode, uid: options.uid, gid: options.gid, size: 0, nlink: 2, mtime: mountedAt, atime: mountedAt, ctime: mountedAt };
  }

  function fileStat(size: number, changedAt: number): FuseStat {
    return { mode: S_IFREG | options.mode, uid: options.uid, gid: options.gid, size, nlink: 1, mtime: changedAt, atime: changedAt, ctime: changedAt, blksize: 4096, blocks: Math.ceil(size / 512) };
  }

  function nodeBytes(node: Node): Buffer {
    if (node.kind === 'key') return fileBytes(node.snap, node.name);
    if (node.kind === 'view') return fileBytes(node.snap, node.name, node.view);
    throw new FsErrno(Errno.EISDIR);
  }

  function statOf(node: Node): FuseStat {
    if (node.kind === 'dir') return dirStat();
    return fileStat(nodeBytes(node).length, node.snap.changedAt);
  }

  async function getattr(path: string): Promise<FuseStat> {
    return statOf(await resolve(path));
  }

  async function readdir(path: string): Promise<string[]> {
    const node = await resolve(path);
    if (node.kind !== 'dir') throw new FsErrno(Errno.ENOTDIR);
    if (options.listing === 'hidden') return ['.', '..'];
    let snap: SecretSnapshot | undefined;
    let readError: unknown;
    try {
      snap = await secretAt(node.rel);
    } catch (err) {
      if (!isVaultFailure(err, 'forbidden')) throw err;
      readError = err;
    }
    let children: string[];
    try {
      children = await store.listChildren(node.rel);
    } catch (err) {
      if (!isVaultFailure(err, 'forbidden', 'not_found')) throw err;
      if (readError) throw readError;
      children = [];
    }
    const names = new Set<string>();
    if (snap) {
      for (const key of Object.keys(snap.data)) if (isServableKey(key)) names.add(key);
      for (const view of Object.values(VIEW_NAMES)) names.add(view);
    }
    for (const child of children) if (isServableKey(child)) names.add(child);
    return ['.', '..', ...names];
  }

  function auditOpen(rel: string, name: string, version: number | undefined, result: string): void {
    audit.record({ mount: mountName, path: rel === '' ? store.name : `${store.name}/${rel}`, key: name, version, result });
  }

  function splitPath(path: string): { dirRel: string; name: string } {
    const slash = path.lastIndexOf('/');
    return { dirRel: path.slice(1, Math.max(slash, 1)), name: path.slice(slash + 1) };
  }

  function isWriteOpen(flags: number): boolean {
    return (flags & O_ACCMODE) !== 0 || (flags & O_TRUNC) !== 0;
  }

  /** Takes the snapshot of an open: the fd serves these bytes until released. */
  function openNode(node: Node): number {
    if (node.kind === 'dir') throw new FsErrno(Errno.EISDIR);
    const bytes = nodeBytes(node);
    const fd = nextFd++;
    if (nextFd > 0x7fffffff) nextFd = 1;
    files.set(fd, { bytes });
    auditOpen(node.rel, node.name, node.snap.version, node.snap.stale ? 'stale' : 'ok');
    return fd;
  }

  async function open(path: string, flags: number): Promise<number> {
    const { dirRel, name } = splitPath(path);
    if (isWriteOpen(flags)) {
      auditOpen(dirRel, name, undefined, 'EROFS');
      throw new FsErrno(Errno.EROFS);
    }
    try {
      return openNode(await resolve(path));
    } catch (err) {
      const code = errnoFor(err);
      if (code !== Errno.EISDIR) auditOpen(dirRel, name, undefined, errnoName(code));
      throw err;
    }
  }

  const rofs = (...args: unknown[]) => {
    const cb = args[args.length - 1] as (code: number) => void;
    cb(Errno.EROFS);
  };

  const handlers: SecretFsHandlers = {
    openFileCount: () => files.size,
    init: (cb) => cb(0),
    getattr: (path, cb) => {
      const node = resolveCached(path);
      if (!node) return run('getattr', path, () => getattr(path), cb);
      let stat: FuseStat;
      try {
        stat = statOf(node);
      } catch (err) {
        return cb(errnoFor(err));
      }
      cb(0, stat);
    },
    // fuse-native answers fgetattr with getattr(path); it must exist for libfuse's auto_cache check at open.
    fgetattr: (path, _fd, cb) => handlers.getattr!(path, cb),
    readdir: (path, cb) => run('readdir', path, () => readdir(path), (code, names) => cb(code, names)),
    open: (path, flags, cb) => {
      const node = isWriteOpen(flags) ? undefined : resolveCached(path);
      if (!node) return run('open', path, () => open(path, flags), cb);
      let fd: number;
      try {
        fd = openNode(node);
      } catch (err) {
        const code = errnoFor(err);
        if (code !== Errno.EISDIR) auditOpen(splitPath(path).dirRel, splitPath(path).name, undefined, errnoName(code));
        return cb(code);
      }
      cb(0, fd);
    },
    // Reads are served from the open's snapshot, synchronously: no Vault call, no await.
    read: (_path, fd, buf, len, pos, cb) => {
      const file = files.get(fd);
      if (!file) return cb(Errno.EBADF);
      if (pos >= file.bytes.length) return cb(0);
      const n = file.bytes.copy(buf, 0, pos, Math.min(file.bytes.length, pos + len));
      cb(n);
    },
    release: (_path, fd, cb) => {
      files.delete(fd);
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
  return handlers;
}

const ERRNO_NAMES: Record<number, string> = {
  [Errno.ENOENT]: 'ENOENT',
  [Errno.EIO]: 'EIO',
  [Errno.EACCES]: 'EACCES',
  [Errno.EROFS]: 'EROFS',
  [Errno.EISDIR]: 'EISDIR',
  [Errno.ENOTDIR]: 'ENOTDIR',
};

/** The name of a (negative) errno, for audit lines. */
export function errnoName(code: number): string {
  return ERRNO_NAMES[code] ?? `E${-code}`;
}
