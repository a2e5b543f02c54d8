import { isVaultFailure } from '../errors.js';
import { renderEnv, renderJson, valueBytes } from '../render/secret.js';
import { Errno, FsErrno } from './errno.js';
import { ROOT, listNames, pathParts, resolveName, type Node } from './names.js';
import type { FsOptions } from './options.js';
import type { SecretSnapshot, SecretStore } from './store.js';

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

/** A node's attributes, in the shape FUSE's getattr answers. */
export interface NodeStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  nlink: number;
  mtime: number;
  atime: number;
  ctime: number;
  blksize?: number;
  blocks?: number;
}

/**
 * The secret filesystem of one store, without FUSE: what a path is, its attributes, its bytes
 * and a directory's names. A directory is a Vault path, each key of the secret there is a file,
 * sub-paths Vault lists are subdirectories, and two views (names.ts VIEW_NAMES) show the whole
 * secret; names.ts resolveName decides every name. Failures are thrown: FsErrno for the
 * filesystem's own answers (ENOENT, ENOTDIR, EISDIR), VaultError from the store.
 */
export interface SecretTree {
  /** Resolves a FUSE path ("/", "/key", "/sub/key"), asking the store (and Vault) as needed. */
  resolve(path: string): Promise<Node>;
  /**
   * resolve() from fresh cache entries only, with no await: the path of a warm open or getattr,
   * which must cost about as much as fuse-native's own round trip. undefined means "ask the
   * store" (not cached, stale, or an answer that is an error).
   */
  resolveCached(path: string): Node | undefined;
  /** The bytes a file serves (EISDIR for a directory). */
  bytes(node: Node): Buffer;
  stat(node: Node): NodeStat;
  /** The names in a directory, without `.` and `..`: none with listing=hidden (ENOTDIR for a file). */
  list(node: Node): Promise<string[]>;
}

/** Creates the tree of one store; options give the owner, modes and value encoding. */
export function createSecretTree(store: SecretStore, options: FsOptions): SecretTree {
  const mountedAt = Date.now();
  // File bytes per fetched secret: a 1 MiB value is encoded once per Vault read, not on every getattr.
  const bytesCache = new WeakMap<Record<string, unknown>, Map<string, Buffer>>();

  /** The secret at rel, or undefined when Vault has none there. Other failures propagate. */
  async function secretAt(rel: string): Promise<SecretSnapshot | undefined> {
    try {
      return await store.readSecret(rel);
    } catch (err) {
      if (isVaultFailure(err, 'not_found')) return undefined;
      throw err;
    }
  }

  /** The secret at rel, or what kept it from being read: a listed sub-path may be reachable without read access. */
  async function readableSecretAt(rel: string): Promise<{ snap?: SecretSnapshot; readError?: unknown }> {
    try {
      return { snap: await secretAt(rel) };
    } catch (err) {
      if (!isVaultFailure(err, 'forbidden')) throw err;
      return { readError: err };
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

  async function lookup(rel: string, name: string): Promise<Node> {
    const { snap, readError } = await readableSecretAt(rel);
    const node = resolveName(rel, name, { snap }) ?? resolveName(rel, name, { snap, children: await childrenOf(rel) });
    if (node) return node;
    if (readError) throw readError;
    throw new FsErrno(Errno.ENOENT);
  }

  function fileBytes(snap: SecretSnapshot, name: string, view?: 'json' | 'env'): Buffer {
    let perSecret = bytesCache.get(snap.data);
    if (!perSecret) {
      perSecret = new Map();
      bytesCache.set(snap.data, perSecret);
    }
    // Views get a "/" prefix in this cache: no key can contain one.
    const cacheKey = view ? `/${view}` : name;
    let bytes = perSecret.get(cacheKey);
    if (!bytes) {
      if (view === 'json') bytes = renderJson(snap.data);
      else if (view === 'env') bytes = renderEnv(snap.data, options.encoding);
      else bytes = valueBytes(snap.data[name], options.encoding);
      perSecret.set(cacheKey, bytes);
    }
    return bytes;
  }

  const tree: SecretTree = {
    async resolve(path) {
      const parts = pathParts(path);
      let node = ROOT;
      for (let i = 0; i < parts.length; i++) {
        if (node.kind !== 'dir') throw new FsErrno(Errno.ENOTDIR);
        node = await lookup(node.rel, parts[i]);
      }
      return node;
    },

    resolveCached(path) {
      const parts = pathParts(path);
      let node = ROOT;
      for (let i = 0; i < parts.length; i++) {
        if (node.kind !== 'dir') return undefined;
        const rel = node.rel;
        const r = store.peekSecret(rel);
        if (r === undefined) return undefined;
        const snap = r === 'missing' ? undefined : r;
        const found = resolveName(rel, parts[i], { snap }) ?? resolveName(rel, parts[i], { snap, children: store.peekChildren(rel) });
        if (!found) return undefined;
        node = found;
      }
      return node;
    },

    bytes(node) {
      if (node.kind === 'key') return fileBytes(node.snap, node.name);
      if (node.kind === 'view') return fileBytes(node.snap, node.name, node.view);
      throw new FsErrno(Errno.EISDIR);
    },

    stat(node) {
      if (node.kind === 'dir') {
        return { mode: S_IFDIR | options.dirMode, uid: options.uid, gid: options.gid, size: 0, nlink: 2, mtime: mountedAt, atime: mountedAt, ctime: mountedAt };
      }
      const size = tree.bytes(node).length;
      const changedAt = node.snap.changedAt;
      return { mode: S_IFREG | options.mode, uid: options.uid, gid: options.gid, size, nlink: 1, mtime: changedAt, atime: changedAt, ctime: changedAt, blksize: 4096, blocks: Math.ceil(size / 512) };
    },

    async list(node) {
      if (node.kind !== 'dir') throw new FsErrno(Errno.ENOTDIR);
      if (options.listing === 'hidden') return [];
      const { snap, readError } = await readableSecretAt(node.rel);
      let children: string[];
      try {
        children = await store.listChildren(node.rel);
      } catch (err) {
        if (!isVaultFailure(err, 'forbidden', 'not_found')) throw err;
        if (readError) throw readError;
        children = [];
      }
      return listNames({ snap, children });
    },
  };
  return tree;
}
