import { createHash } from 'node:crypto';
import { VaultError, isVaultFailure } from '../errors.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import type { SecretSource } from './source.js';

/** One secret as served to readers, from the cache or from Vault. */
export interface SecretSnapshot {
  data: Record<string, unknown>;
  version?: number;
  /** KV v2: when Vault wrote this version (RFC 3339). */
  createdTime?: string;
  /** When this value came from Vault (ms since the epoch). */
  fetchedAt: number;
  /** When the content last changed as seen by this store; the files' mtime. */
  changedAt: number;
  /** True when served under stale_if_error because Vault failed. */
  stale: boolean;
}

/** Counters for tests and benchmarks: how many requests reached the source. */
export interface StoreStats {
  vaultReads: number;
  vaultLists: number;
  cacheHits: number;
  staleServed: number;
}

/** The cached, single-flight, time-bounded view of one mounted subtree that the handlers use. */
export interface SecretStore {
  readonly name: string;
  /** The secret at relPath ('' = the mounted path). Throws VaultError; FsErrno never. */
  readSecret(relPath: string): Promise<SecretSnapshot>;
  /** Sub-path names Vault lists below relPath (secrets and folders), without trailing slashes. */
  listChildren(relPath: string): Promise<string[]>;
  /**
   * The cached answer for relPath if it is fresh, without any await: a snapshot, 'missing' for a
   * cached not_found, or undefined when only a Vault read can tell. The hot path of warm opens.
   */
  peekSecret(relPath: string): SecretSnapshot | 'missing' | undefined;
  /** The fresh cached sub-path names below relPath, or undefined. */
  peekChildren(relPath: string): string[] | undefined;
  stats(): StoreStats;
  /** Forgets every cached value (the next access reads Vault). */
  clear(): void;
}

export interface StoreOptions {
  cacheTtlMs: number;
  staleIfErrorMs?: number;
  /** Bound of one source call; well under fuse-native's 15 s per-operation timeout. */
  timeoutMs?: number;
  log?: Logger;
  /** Clock, for tests. */
  now?: () => number;
}

/**
 * Every name Vault lists below a path is a subdirectory: a secret (`db`) holds its keys, a folder
 * (`nested/`) holds more paths; a name that is both is one directory.
 */
function folderNames(keys: string[]): string[] {
  return [...new Set(keys.map((k) => (k.endsWith('/') ? k.slice(0, -1) : k)).filter((k) => k !== ''))];
}

/** Default bound of one Vault call made by the filesystem. */
export const SOURCE_TIMEOUT_MS = 3000;

interface Cached<T> {
  value?: { v: T; at: number };
  error?: { err: unknown; at: number };
  inflight?: Promise<{ v: T; at: number; stale: boolean }>;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new VaultError(`Vault ${what}: timed out after ${ms} ms`, 'timeout')), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/**
 * Wraps a source with the rules of the filesystem:
 * - a TTL cache (cache_ttl): a value is reused until it is cacheTtlMs old, then re-read;
 *   not_found and forbidden answers are cached for as long, so a polling reader cannot flood Vault;
 * - single-flight: concurrent misses of one path share one source call;
 * - a timeout on every source call, so a FUSE operation always answers;
 * - stale_if_error: when Vault is unreachable, times out or answers 5xx, the last good value
 *   up to staleIfErrorMs old is served instead of the error; a 403 or 404 forgets the last good
 *   value, so access that was revoked or a secret that was deleted is never served from memory.
 */
export function createSecretStore(source: SecretSource, options: StoreOptions): SecretStore {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? SOURCE_TIMEOUT_MS;
  const log = options.log ?? silentLogger;
  const stats: StoreStats = { vaultReads: 0, vaultLists: 0, cacheHits: 0, staleServed: 0 };
  const reads = new Map<string, Cached<{ data: Record<string, unknown>; version?: number; createdTime?: string; changedAt: number }>>();
  const lists = new Map<string, Cached<string[]>>();
  // What names each path's last content, kept apart from the cache so a 404 in between still moves the mtime forward.
  const changes = new Map<string, { identity: string; at: number }>();

  async function cached<T>(
    table: Map<string, Cached<T>>,
    key: string,
    fetch: () => Promise<T>,
    what: string,
  ): Promise<{ v: T; at: number; stale: boolean }> {
    let entry = table.get(key);
    if (!entry) {
      entry = {};
      table.set(key, entry);
    }
    const e = entry;
    const t = now();
    if (e.value && t - e.value.at < options.cacheTtlMs) {
      stats.cacheHits++;
      return { ...e.value, stale: false };
    }
    if (e.error && t - e.error.at < options.cacheTtlMs) {
      stats.cacheHits++;
      throw e.error.err;
    }
    if (e.inflight) return e.inflight;
    e.inflight = (async () => {
      try {
        const v = await withTimeout(fetch(), timeoutMs, what);
        e.value = { v, at: now() };
        e.error = undefined;
        return { ...e.value, stale: false };
      } catch (err) {
        if (isVaultFailure(err, 'not_found', 'forbidden', 'bad_request')) {
          // Never serve a value from memory after Vault said no: drop the last good one.
          e.value = undefined;
          e.error = { err, at: now() };
          throw err;
        }
        const last = e.value;
        if (options.staleIfErrorMs !== undefined && last && now() - last.at <= options.staleIfErrorMs) {
          stats.staleServed++;
          log.warn('serving a stale value: Vault failed', { path: what, ageMs: now() - last.at, error: err instanceof Error ? err.message : String(err) });
          return { ...last, stale: true };
        }
        throw err;
      } finally {
        e.inflight = undefined;
      }
    })();
    return e.inflight;
  }

  return {
    name: source.name,
    async readSecret(relPath) {
      const r = await cached(reads, relPath, async () => {
        stats.vaultReads++;
        const d = await source.read(relPath);
        // A KV v2 version is never rewritten: its number and creation time name its content (a
        // secret deleted with its metadata and written again starts at version 1 with a new
        // time), which spares serialising and hashing the whole value on each read (4 ms for
        // 1 MiB). KV v1 has neither: a digest of the content, once per Vault read.
        const identity =
          d.version !== undefined && d.createdTime
            ? `v${d.version}@${d.createdTime}`
            : `${d.version ?? ''}#${createHash('sha256').update(JSON.stringify(d.data)).digest('base64')}`;
        const prev = changes.get(relPath);
        let changedAt = prev?.at ?? 0;
        if (!prev || prev.identity !== identity) {
          // Strictly increasing, so two rotations within one millisecond still differ.
          changedAt = prev ? Math.max(now(), prev.at + 1) : now();
          changes.set(relPath, { identity, at: changedAt });
        }
        return { data: d.data, version: d.version, createdTime: d.createdTime, changedAt };
      }, `read ${source.name}${relPath ? '/' + relPath : ''}`);
      return { data: r.v.data, version: r.v.version, createdTime: r.v.createdTime, fetchedAt: r.at, changedAt: r.v.changedAt, stale: r.stale };
    },
    async listChildren(relPath) {
      const r = await cached(lists, relPath, () => {
        stats.vaultLists++;
        return source.list(relPath);
      }, `list ${source.name}${relPath ? '/' + relPath : ''}`);
      return folderNames(r.v);
    },
    peekSecret(relPath) {
      const e = reads.get(relPath);
      if (!e) return undefined;
      const t = now();
      if (e.value && t - e.value.at < options.cacheTtlMs) {
        stats.cacheHits++;
        const v = e.value.v;
        return { data: v.data, version: v.version, createdTime: v.createdTime, fetchedAt: e.value.at, changedAt: v.changedAt, stale: false };
      }
      if (e.error && t - e.error.at < options.cacheTtlMs && isVaultFailure(e.error.err, 'not_found')) return 'missing';
      return undefined;
    },
    peekChildren(relPath) {
      const e = lists.get(relPath);
      if (!e?.value || now() - e.value.at >= options.cacheTtlMs) return undefined;
      return folderNames(e.value.v);
    },
    stats: () => ({ ...stats }),
    clear() {
      reads.clear();
      lists.clear();
    },
  };
}
