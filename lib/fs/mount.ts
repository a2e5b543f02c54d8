import { mkdir, stat, statfs } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { MountError, UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import type { VaultClient } from '../vault/client.js';
import { normalizeSecretPath, type KvMount } from '../vault/kv-path.js';
import { createAuditLog, type AuditLog } from './audit.js';
import { loadFuseBinding, releaseFuseThread } from './fuse-binding.js';
import { createHandlers, type SecretFsHandlers } from './handlers.js';
import { cleanStaleMount, forceUnmount, isMounted } from './mount-table.js';
import type { FsOptions } from './options.js';
import { createVaultSource } from './source.js';
import { createSecretStore, type SecretStore } from './store.js';

/**
 * How the kernel may cache. Names and attributes are cached for a short time; file data never:
 * every mount is `direct_io`, so each read(2) reaches the open's own snapshot (handlers.ts).
 *
 * Why (issue 12, one version per open): the kernel's page cache belongs to the inode, not to an
 * open. With it, two opens of one file during a rotation share pages: the reader of the old
 * version gets the new version's pages for the part it had not read yet (a 2 MiB value read as
 * 1966080 bytes of one version and 131071 of the next; test/integration/fs/one-version.test.ts).
 * No page-cache mode avoids that (auto_cache and keep_cache=0 only decide when the pages are
 * dropped), fuse-native cannot set direct_io per open (fi->direct_io is not exposed), and libfuse
 * 2's high-level API gives a path one node id for as long as it exists, so a new inode per version
 * would need a new name per version (symlinks to version directories, as Kubernetes does), which
 * changes what the files are. direct_io is the one mechanism that holds at any size and reader
 * count. Its cost, measured by bench (reads: one_version): each read is a request to this
 * process (warm opens are no longer served from the page cache, and a reader that reads to EOF
 * makes one more request, answered 0), and a shared mmap(2) of a file fails with ENODEV
 * (MAP_PRIVATE works). Not covered: the size fstat(2) shows is the kernel's attribute of the
 * path, from the last getattr (the kernel sends no file handle with it), so a reader that reads
 * only st_size bytes can cut a longer version that an open took after it; making opens within
 * the attribute time serve the version getattr last told was tried and still mixed (two opens
 * of different versions share one size).
 */
export interface KernelCacheOptions {
  /** 'direct_io' (default: every read goes to us); 'auto_cache' and 'none' (page cache) only for measurements. */
  dataCache: 'auto_cache' | 'direct_io' | 'none';
  /** Seconds the kernel keeps a name lookup. */
  entryTimeout: number;
  /** Seconds the kernel keeps attributes (size, mode). */
  attrTimeout: number;
}

/** The most the kernel caches names and attributes: 1 s. */
const KERNEL_SLACK_MS = 1000;

/**
 * Splits cache_ttl between the store and the kernel so that a value rotated in Vault reaches a
 * new open within cache_ttl. The kernel may keep a file's name and size for attrTimeout after the
 * store last answered, so the store re-reads Vault after cache_ttl minus that slack. The slack is
 * 1 s, or half of a smaller cache_ttl; cache_ttl=0 turns every kernel cache off.
 */
export function cachePlan(cacheTtlMs: number): { storeTtlMs: number; kernel: KernelCacheOptions } {
  const slackMs = Math.min(KERNEL_SLACK_MS, Math.floor(cacheTtlMs / 2));
  const seconds = slackMs / 1000;
  return {
    storeTtlMs: cacheTtlMs - slackMs,
    kernel: { dataCache: 'direct_io', entryTimeout: seconds, attrTimeout: seconds },
  };
}

/** What mountSecretFs needs. */
export interface MountSecretFsOptions {
  vault: VaultClient;
  /** The Vault path to serve, e.g. secret/app-1 (checked: no `..`, NUL, leading `/`). */
  path: string;
  mountpoint: string;
  options: FsOptions;
  log?: Logger;
  /** Where opens are recorded: an AuditLog the caller owns, or a file this mount opens and closes. */
  audit?: AuditLog | { file: string };
  /** How the audit log names this mount (default: the mountpoint). */
  mountName?: string;
  /** Overrides the kernel cache options of cachePlan (for measurements). */
  kernelCache?: Partial<KernelCacheOptions>;
  /** Checks before mounting that the path's KV engine can be found (default true): a bad path or token fails here, not on first read. */
  preflight?: boolean;
  /** Bound of each Vault call (default 3 s). */
  vaultTimeoutMs?: number;
  /**
   * Reads the mounted secret into the store's cache while the FUSE mount is set up (default
   * true), so the first open after the mount (a container's, right after VolumeDriver.Mount)
   * finds the value there instead of waiting for a GET. The value is cached as a read at an open
   * would cache it (same TTL, same single flight: an open during the read joins it); a failure is
   * cached or not exactly as at an open, and never fails the mount. Never with cache_ttl=0.
   */
  prefetch?: boolean;
  /** The KV mount of `path`, already being detected (the driver starts it at Create, while dockerd prepares the container). */
  kvMount?: Promise<KvMount>;
}

/** A mounted secret filesystem. */
export interface SecretFsMount {
  readonly mountpoint: string;
  readonly path: string;
  readonly store: SecretStore;
  readonly handlers: SecretFsHandlers;
  /**
   * How many of libfuse's worker threads fuse-native has set up so far: each costs one round trip
   * to the JS thread at the worker's first request, outside the handlers (bench, tests).
   */
  fuseWorkerSetups(): number;
  /** Unmounts (lazily if busy) and closes the audit log if this mount opened it. Idempotent. */
  unmount(): Promise<void>;
  /**
   * Resolves when the mountpoint leaves the mount table while we did not unmount it (`fusermount -u`
   * from outside), checked every `intervalMs`; never resolves once unmount() was called.
   */
  unmountedFromOutside(intervalMs?: number): Promise<void>;
}


/** Escapes a value for libfuse's -o parser, where `,` separates options and `\` escapes. */
function escapeFuseOption(value: string): string {
  return value.replace(/[\\,]/g, (c) => '\\' + c);
}

/** The -o string: read-only, allow_other, default_permissions (so the kernel enforces uid/gid/modes), and the cache options. */
export function fuseMountOptions(path: string, cache: KernelCacheOptions): string {
  const opts = ['ro', 'allow_other', 'default_permissions', `fsname=${escapeFuseOption(`secretfs:${path}`)}`, 'subtype=secretfs'];
  opts.push(`entry_timeout=${cache.entryTimeout}`, `attr_timeout=${cache.attrTimeout}`, 'negative_timeout=0');
  // libfuse re-checks size and mtime at an open once its attributes are ac_attr_timeout old.
  if (cache.dataCache === 'auto_cache') opts.push('auto_cache', `ac_attr_timeout=${cache.attrTimeout}`);
  if (cache.dataCache === 'direct_io') opts.push('direct_io');
  return '-o' + opts.join(',');
}

/** What mountSecretStore needs: mountSecretFs's options with a ready store instead of a Vault client. */
export interface MountSecretStoreOptions extends Omit<MountSecretFsOptions, 'vault' | 'path' | 'preflight' | 'vaultTimeoutMs'> {
  store: SecretStore;
}

/**
 * Mounts the secret filesystem of one Vault path at mountpoint and resolves once the kernel
 * serves it. Checks the path (no `..`, NUL or absolute path), detects the KV engine version
 * (sys/internal/ui/mounts), starts reading the mounted secret (prefetch), then mounts as
 * mountSecretStore does.
 *
 * The FUSE requests are served on this process's JS thread: never touch the mount with
 * synchronous fs calls from this process.
 */
export async function mountSecretFs(opts: MountSecretFsOptions): Promise<SecretFsMount> {
  const path = normalizeSecretPath(opts.path);
  const source = createVaultSource(opts.vault, path, { version: opts.options.version, mount: opts.kvMount });
  if (opts.preflight !== false) await source.kvMount();
  const storeTtlMs = cachePlan(opts.options.cacheTtlMs).storeTtlMs;
  const store = createSecretStore(source, {
    cacheTtlMs: storeTtlMs,
    staleIfErrorMs: opts.options.staleIfErrorMs,
    timeoutMs: opts.vaultTimeoutMs,
    log: opts.log,
  });
  // Otherwise a first open on a fresh mount waits for this GET with the kernel's lookup held (bench
  // reads: the cold read against the open that fetches). Not awaited: the FUSE mount takes longer
  // than the GET, and an open that comes first joins the read in flight. With cache_ttl=0 every
  // open reads Vault, so a value read now would serve nobody.
  if (opts.prefetch !== false && storeTtlMs > 0) {
    store.readSecret('').catch((err: unknown) => (opts.log ?? silentLogger).debug('prefetch of the mounted secret failed', { path, error: err instanceof Error ? err.message : String(err) }));
  }
  return mountSecretStore({ ...opts, store });
}

/**
 * Mounts a store: cleans a stale mount left at mountpoint, creates the directory, and mounts
 * read-only with allow_other, default_permissions and the kernel cache options.
 */
export async function mountSecretStore(opts: MountSecretStoreOptions): Promise<SecretFsMount> {
  const log = opts.log ?? silentLogger;
  const store = opts.store;
  const path = store.name;
  if (typeof opts.mountpoint !== 'string' || opts.mountpoint === '' || opts.mountpoint.includes('\0')) {
    throw new UsageError('the mountpoint must be a directory path without NUL');
  }
  const mountpoint = resolvePath(opts.mountpoint);
  const cache: KernelCacheOptions = { ...cachePlan(opts.options.cacheTtlMs).kernel, ...opts.kernelCache };

  const ownAudit = opts.audit && 'file' in opts.audit ? createAuditLog(opts.audit) : undefined;
  const audit = ownAudit ?? (opts.audit as AuditLog | undefined);
  const handlers = createHandlers(store, opts.options, { log, audit, mountName: opts.mountName ?? mountpoint });

  // Loaded on first mount only: the CLI's start-up and the metadata command never pay for it.
  const Fuse = loadFuseBinding();
  try {
    await cleanStaleMount(mountpoint, log);
    await mkdir(mountpoint, { recursive: true });
  } catch (err) {
    await ownAudit?.close();
    if (err instanceof MountError) throw err;
    throw new MountError(`cannot prepare the mountpoint ${mountpoint}: ${(err as Error).message}`, { cause: err });
  }
  const fuse = new Fuse(mountpoint, handlers, { force: false, mkdir: false });
  // fuse-native builds -o from a fixed list that lacks ro, direct_io, negative_timeout and uid 0;
  // we give libfuse the whole option string ourselves.
  const optionString = fuseMountOptions(path, cache);
  (fuse as unknown as { _fuseOptions(): string })._fuseOptions = () => optionString;
  // fuse-native allocates a worker thread's hand-off state through _malloc, once per worker.
  let workerSetups = 0;
  const internals = fuse as unknown as { _malloc(size: number): Buffer };
  const malloc = internals._malloc;
  internals._malloc = (size: number) => {
    workerSetups++;
    return malloc.call(fuse, size);
  };
  try {
    await new Promise<void>((resolve, reject) => fuse.mount((err) => (err ? reject(err) : resolve())));
  } catch (err) {
    await ownAudit?.close();
    throw new MountError(`cannot mount ${path} at ${mountpoint}: ${(err as Error).message}`, {
      cause: err,
      hint: 'FUSE needs /dev/fuse and root (or user_allow_other in /etc/fuse.conf)',
    });
  }
  // The kernel asks the root's attributes at the first access after a mount, a request to this JS
  // thread like any other: asked now, so a first open within attr_timeout (a container's first
  // read after VolumeDriver.Mount) costs only its own lookup. Asynchronous (the thread pool), so
  // this thread is free to answer it; a failure only means the first open asks.
  await stat(mountpoint).catch(() => undefined);
  // fuse-native runs libfuse's multi-threaded loop: a request goes to the idle worker that has
  // waited longest, a second worker starts at the first request, and a worker's first request
  // costs one more round trip to this thread (fuse-native sets the worker up then). The stat set
  // up the first worker; a statfs (answered in JS, never cached by the kernel) sets up the
  // second, so a first open finds both ready (bench reads: cold, worker_setup per open).
  await statfs(mountpoint).catch(() => undefined);
  log.info('mounted', { path, mountpoint, options: optionString });

  let unmounting: Promise<void> | undefined;
  let outside: Promise<void> | undefined;
  return {
    mountpoint,
    path,
    store,
    handlers,
    fuseWorkerSetups: () => workerSetups,
    unmountedFromOutside(intervalMs = 1000) {
      outside ??= new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          if (unmounting) return clearInterval(timer);
          isMounted(mountpoint).then((mounted) => {
            if (mounted || unmounting) return;
            clearInterval(timer);
            log.info('unmounted from outside', { path, mountpoint });
            resolve();
          }, () => {});
        }, intervalMs);
        timer.unref();
      });
      return outside;
    },
    unmount() {
      unmounting ??= (async () => {
        try {
          // Unmounted from outside: libfuse's loop has ended already and there is nothing to undo.
          if (!(await isMounted(mountpoint))) return releaseFuseThread(fuse);
          // What fuse-native's unmount does (`fusermount -uz`, then let go of the FUSE thread), without
          // the shell it runs fusermount through: about half the time of a container's Unmount.
          // fusermount failing, forceUnmount tries umount -l before giving up.
          await forceUnmount(mountpoint);
          releaseFuseThread(fuse);
        } finally {
          await ownAudit?.close();
        }
        log.info('unmounted', { path, mountpoint });
      })();
      return unmounting;
    },
  };
}
