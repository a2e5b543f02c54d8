import { isVaultFailure } from '../errors.js';
import { renderEnv, renderJson, valueBytes } from '../render/secret.js';
import { contentDigest } from './digest.js';
import { Errno, FsErrno } from './errno.js';
import { ROOT, listNames, pathParts, resolveName, type Node, type ViewKind } from './names.js';
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
 * sub-paths Vault lists are subdirectories, and three views (names.ts VIEW_NAMES) show the whole
 * secret and its version; names.ts resolveName decides every name. Failures are thrown: FsErrno for the
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

/**
 * The `.secretfs.version` file: the version (KV v2) or a keyed digest of the content (KV v1,
 * which has none) and when it changed (Vault's time of the version on KV v2, else when this
 * mount first saw the content), as sh-readable lines.
 */
export function renderVersionFile(snap: Pick<SecretSnapshot, 'data' | 'version' | 'createdTime' | 'changedAt'>): Buffer {
  const version = snap.version !== undefined ? String(snap.version) : contentDigest(snap.data);
  const changed = snap.createdTime && !Number.isNaN(Date.parse(snap.createdTime)) ? new Date(snap.createdTime).toISOString() : new Date(snap.changedAt).toISOString();
  return Buffer.from(`version=${version}\nchanged=${changed}\n`, 'utf8');
}

/** A snapshot as keys= shows it, with the whole secret it came from. */
type Shown = SecretSnapshot & { whole?: SecretSnapshot };

/** Creates the tree of one store; options give the owner, modes, value encoding and key selection. */
export function createSecretTree(store: SecretStore, options: FsOptions): SecretTree {
  const mountedAt = Date.now();
  // File bytes per fetched secret: a 1 MiB value is encoded once per Vault read, not on every getattr.
  const bytesCache = new WeakMap<Record<string, unknown>, Map<string, Buffer>>();
  const selection = options.keys;
  const modeOf = new Map(selection?.map((k) => [k.name, k.mode ?? options.mode]));
  // The selected keys under their file names, once per fetched secret (views and bytes are cached by it).
  const projections = new WeakMap<Record<string, unknown>, SecretSnapshot>();

  /**
   * With keys=, the mounted secret as its selection shows it: only the listed keys, under their
   * file names. Everything else (names, views, listing) then works on that, so a key that is not
   * selected cannot be opened, listed or seen in a view.
   */
  function shown(rel: string, snap: SecretSnapshot): SecretSnapshot;
  function shown(rel: string, snap: SecretSnapshot | undefined): SecretSnapshot | undefined;
  function shown(rel: string, snap: SecretSnapshot | undefined): SecretSnapshot | undefined {
    if (!selection || rel !== '' || !snap) return snap;
    let p = projections.get(snap.data);
    if (!p) {
      const data: Record<string, unknown> = {};
      for (const k of selection) if (Object.prototype.hasOwnProperty.call(snap.data, k.key)) data[k.name] = snap.data[k.key];
      // The version file describes the whole secret: its version and digest are of what Vault holds.
      p = { ...snap, data, whole: snap } as Shown;
      projections.set(snap.data, p);
    }
    return { ...p, fetchedAt: snap.fetchedAt, stale: snap.stale };
  }

  /** The secret at rel, or undefined when Vault has none there. Other failures propagate. */
  async function secretAt(rel: string): Promise<SecretSnapshot | undefined> {
    try {
      return shown(rel, await store.readSecret(rel));
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

  /** Sub-path names below rel; a token that may read but not list sees none. With keys=, the root has none. */
  async function childrenOf(rel: string): Promise<string[]> {
    if (selection && rel === '') return [];
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
      if (view === 'json') bytes = renderJson(snap.data);
      else if (view === 'env') bytes = renderEnv(snap.data, options.encoding);
      else if (view === 'version') bytes = renderVersionFile((snap as Shown).whole ?? snap);
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
        const snap = shown(rel, r === 'missing' ? undefined : r);
        const children = selection && rel === '' ? [] : store.peekChildren(rel);
        const found = resolveName(rel, parts[i], { snap }) ?? resolveName(rel, parts[i], { snap, children });
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
      const mode = node.kind === 'key' && node.rel === '' && selection ? (modeOf.get(node.name) ?? options.mode) : options.mode;
      return { mode: S_IFREG | mode, uid: options.uid, gid: options.gid, size, nlink: 1, mtime: changedAt, atime: changedAt, ctime: changedAt, blksize: 4096, blocks: Math.ceil(size / 512) };
    },

    async list(node) {
      if (node.kind !== 'dir') throw new FsErrno(Errno.ENOTDIR);
      if (options.listing === 'hidden') return [];
      // Both answers are needed: asked together, so a cold ls waits for one round trip, not two.
      const listed = selection && node.rel === '' ? Promise.resolve([]) : store.listChildren(node.rel);
      listed.catch(() => {});
      const { snap, readError } = await readableSecretAt(node.rel);
      let children: string[];
      try {
        children = await listed;
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
