import { mkdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError, SecretfsError, UsageError, isVaultFailure } from '../errors.js';
import { missingKeys, parseKeySelection } from '../fs/key-selection.js';
import { cachePlan } from '../fs/mount.js';
import { FS_OPTION_NAMES, parseFsOptions } from '../fs/options.js';
import type { Logger } from '../log.js';
import type { VaultClient } from '../vault/client.js';
import { readSecret, resolveKvMount } from '../vault/kv.js';
import { normalizeSecretPath, type KvMount } from '../vault/kv-path.js';
import { CHANGE_OPTION_NAMES, parseChangeOptions, type ChangeOptions } from './change-options.js';
import type { ChangeWatcher } from './change-watcher.js';
import { KeyedLock } from './keyed-lock.js';
import type { DriverStatusReport, VolumeDriver, VolumeInfo, VolumeStatus } from './protocol.js';
import type { DriverStateStore, PendingRevocation, TokenSource, VolumeDefinition } from './state.js';
import { looksLikeVaultPath, validateVolumeName, volumeDirName } from './volume-name.js';

/** What the driver asks the filesystem layer to mount. */
export interface MountSpec {
  name: string;
  /** The Vault path that becomes the root directory. */
  path: string;
  /** An existing empty directory below the driver's mount root. */
  mountpoint: string;
  /** The volume's filesystem options as strings (uid, gid, mode, ...), already validated. */
  options: Record<string, string>;
  /** A client holding the volume's own token. */
  vault: VaultClient;
  /** The KV mount of `path`, already being detected with that token (started at Create). */
  kvMount?: Promise<KvMount>;
}

/** A live mount. */
export interface MountHandle {
  unmount(): Promise<void>;
  /** Drops cached values: the next open reads Vault (the change watcher saw a new version). */
  invalidate?(): void;
}

/** The filesystem dependency of the driver: lib/fs in production, a fake in unit tests. */
export interface VolumeMounter {
  mount(spec: MountSpec): Promise<MountHandle>;
}

/** A volume's Vault client, where its token came from and its policies. */
export interface VolumeCredential {
  vault: VaultClient;
  accessor: string;
  tokenSource: TokenSource;
  policies: string[];
}

/** What Create records of a volume's new token (never the token itself). */
export interface IssuedToken {
  accessor: string;
  tokenSource: TokenSource;
  policies: string[];
}

/** The token lifecycle of volumes (lib/driver/volume-tokens.ts in production). */
export interface VolumeTokens {
  /** At Create: the policies a token minted for a new volume on `path` gets (the allowed path covering it), or a UsageError naming the command that allows it. */
  policiesFor(volume: { name: string; path: string }): Promise<string[]>;
  /** At Create: unwraps `wrappedToken` when given, otherwise mints a token for the volume (with `policies`, as policiesFor answered them). */
  issue(volume: { name: string; path: string }, wrappedToken?: string, policies?: string[]): Promise<IssuedToken>;
  /** At Mount: the volume's client, re-minting the same policies when no live token is held (e.g. after a restart). */
  acquire(def: VolumeDefinition): Promise<VolumeCredential>;
  /** Why a volume cannot get a token without an administrator (its policies cannot be re-minted), or undefined. */
  needsToken(def: VolumeDefinition): string | undefined;
  /** After Remove: revokes the volume's token (and drops what was made for it). */
  revoke(def: VolumeDefinition): Promise<void>;
  /** Revokes a token by its accessor alone (a removed volume's, recorded in the state); one Vault no longer knows is gone already. */
  revokeAccessor(accessor: string): Promise<void>;
  /** Registers the listener told when a volume's token is replaced (renewal failed and it was re-minted). */
  onReplaced(listener: (name: string, accessor: string, tokenSource: TokenSource) => void): void;
  /** Stops renewal timers; tokens stay valid. */
  close(): void;
}

/**
 * `ephemeral=true` marks a volume of `docker secretfs run`: once no container uses it, the driver
 * removes it itself (lib/driver/ephemeral-sweep.ts), whoever was meant to and did not (a CLI killed
 * after its container exited, a driver that was down when dockerd removed the container).
 */
export const EPHEMERAL_OPTION = 'ephemeral';

/** Every option a volume accepts: the Vault path, a wrapped token, the filesystem options, change watching and `ephemeral`. */
export const VOLUME_OPTION_NAMES = ['path', 'token', ...FS_OPTION_NAMES, ...CHANGE_OPTION_NAMES, EPHEMERAL_OPTION] as const;

export interface SecretVolumeDriverDeps {
  state: DriverStateStore;
  mounter: VolumeMounter;
  tokens: VolumeTokens;
  /** Mountpoints are created below this (never under /var/lib/docker). */
  mountRoot: string;
  log: Logger;
  pid?: number;
  /** Watches the secrets of volumes with `watch` set; without one, `watch` and `on_change` are refused at Create. */
  watcher?: ChangeWatcher;
  /** Delays between attempts at a failed revocation (default REVOKE_RETRY_MS). */
  revokeRetryMs?: { first: number; max: number };
}

/** Bounds of the retry delay of a revocation that failed (Vault unreachable): doubling from the first to the last. */
export const REVOKE_RETRY_MS = { first: 1000, max: 60_000 } as const;

interface LiveVolume {
  def: VolumeDefinition;
  mountpoint: string;
  handle?: MountHandle;
  /** Outstanding Mount calls per mount ID. */
  ids: Map<string, number>;
  /** The KV mount detection started at Create, for the first Mount soon after it. */
  prefetch?: { at: number; kvMount: Promise<KvMount> };
}

/** How long the KV mount detected at Create serves the first Mount (`docker run` mounts well within it; a volume created now and used later detects again). */
export const PREFETCH_MAX_AGE_MS = 10_000;

function sameDefinition(a: VolumeDefinition, path: string, options: Record<string, string>): boolean {
  const keys = new Set([...Object.keys(a.options), ...Object.keys(options)]);
  return a.path === path && [...keys].every((k) => a.options[k] === options[k]);
}

/** The filesystem options among a volume's options (what lib/fs is given). */
export function fsOptionsOf(options: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of FS_OPTION_NAMES) if (options[k] !== undefined) out[k] = options[k];
  return out;
}

/** Checks a volume's options; returns its Vault path, filesystem and change options (as strings) and wrapped token. */
export function parseVolumeOptions(name: string, opts: Record<string, string>): { path: string; options: Record<string, string>; change: ChangeOptions; wrappedToken?: string } {
  const unknown = Object.keys(opts).filter((k) => !(VOLUME_OPTION_NAMES as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw new UsageError(`unknown volume option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')}: valid options are ${VOLUME_OPTION_NAMES.join(', ')}`);
  }
  const options: Record<string, string> = {};
  for (const k of [...FS_OPTION_NAMES, ...CHANGE_OPTION_NAMES, EPHEMERAL_OPTION]) if (opts[k] !== undefined) options[k] = opts[k].trim();
  if (options[EPHEMERAL_OPTION] !== undefined && options[EPHEMERAL_OPTION] !== 'true') {
    throw new UsageError(`invalid ${EPHEMERAL_OPTION}=${JSON.stringify(options[EPHEMERAL_OPTION])}: expected ${EPHEMERAL_OPTION}=true (or leave it out)`);
  }
  let change: ChangeOptions;
  try {
    parseFsOptions(fsOptionsOf(options));
    change = parseChangeOptions(options);
  } catch (err) {
    if (err instanceof SecretfsError) throw new UsageError(`${err.message} (valid options: ${VOLUME_OPTION_NAMES.join(', ')})`);
    throw err;
  }
  let path: string;
  if (opts.path !== undefined) path = normalizeSecretPath(opts.path.trim(), 'path');
  else if (looksLikeVaultPath(name)) path = normalizeSecretPath(name, 'volume name used as path');
  else throw new UsageError(`volume ${JSON.stringify(name)} needs -o path=<vault path> (e.g. path=secret/app-1); valid options are ${VOLUME_OPTION_NAMES.join(', ')}`);
  let wrappedToken: string | undefined;
  if (opts.token !== undefined) {
    wrappedToken = opts.token.trim();
    if (wrappedToken === '') throw new UsageError('token= is empty: pass a response-wrapped token (docker secretfs token --wrap)');
  }
  return { path, options, change, wrappedToken };
}

/**
 * The volume driver: volumes from the state file, one secret filesystem per mounted volume,
 * reference counted by Docker's mount ID. Operations on one volume name are serialized.
 */
export class SecretVolumeDriver implements VolumeDriver {
  private readonly volumes = new Map<string, LiveVolume>();
  private readonly lock = new KeyedLock();
  /** Tokens of removed volumes not revoked yet, by accessor; saved with the volumes. */
  private readonly revoking = new Map<string, PendingRevocation>();
  /** Work that goes on after its request was answered (the mint after Create, revocations), awaited by close(). */
  private readonly background = new Set<Promise<void>>();
  private retryTimer?: NodeJS.Timeout;
  private retryMs: number;
  private closed = false;

  private constructor(private readonly deps: SecretVolumeDriverDeps) {
    this.retryMs = this.retryBounds().first;
    deps.tokens.onReplaced((name, accessor, tokenSource) => {
      const vol = this.volumes.get(name);
      if (!vol) return;
      vol.def.accessor = accessor;
      vol.def.tokenSource = tokenSource;
      this.save().catch((err) => deps.log.error('could not save the state after a token was replaced', { volume: name, err }));
    });
  }

  /** Loads the volumes from the state file. Nothing is mounted until Docker asks. */
  static async open(deps: SecretVolumeDriverDeps): Promise<SecretVolumeDriver> {
    const driver = new SecretVolumeDriver(deps);
    const state = await deps.state.loadAll();
    for (const def of state.volumes.values()) {
      try {
        validateVolumeName(def.name);
        driver.volumes.set(def.name, { def, mountpoint: join(deps.mountRoot, volumeDirName(def.name)), ids: new Map() });
      } catch (err) {
        deps.log.warn('skipping a volume with an invalid name in the state file', { volume: def.name, err });
      }
    }
    deps.log.info('volumes loaded', { count: driver.volumes.size, revoking: state.revoking.length });
    // Removed volumes whose token a previous process had not revoked yet (it was killed right after answering Remove).
    for (const r of state.revoking) driver.revoking.set(r.accessor, r);
    if (driver.revoking.size > 0) driver.retryRevocations();
    return driver;
  }

  private save(): Promise<void> {
    return this.deps.state.save(
      [...this.volumes.values()].map((v) => v.def),
      this.revoking.values(),
    );
  }

  /**
   * Runs `fn` under the volume's lock and resolves as soon as `fn` calls `answer()` (or ends): what
   * follows the answer still holds the lock, so the next operation on the name waits for it. An
   * error before the answer is the request's; one after it is logged (what is left to do is on disk).
   */
  private answerEarly(name: string, what: string, fn: (answer: () => void) => Promise<void>): Promise<void> {
    let answered = false;
    let answer!: () => void;
    const early = new Promise<void>((resolve) => (answer = resolve));
    const done = this.lock
      .run(name, () =>
        fn(() => {
          answered = true;
          answer();
        }),
      )
      .catch((err) => {
        if (!answered) throw err;
        this.deps.log.error(`${what} failed after it was answered`, { volume: name, err });
      });
    this.track(done.catch(() => {}));
    return Promise.race([early, done]);
  }

  private track(work: Promise<void>): void {
    this.background.add(work);
    void work.finally(() => this.background.delete(work));
  }

  /**
   * Revokes a removed volume's token. `first` is the attempt made right after Remove answered
   * (with the volume's live token at hand); later ones go by accessor. A failure keeps the record
   * (memory and disk) and retries later; tokens end at their TTL in any case, and Vault then
   * says the accessor is gone, which also ends the retries.
   */
  private async revokePending(pending: PendingRevocation, first?: () => Promise<void>): Promise<void> {
    try {
      await (first ?? (() => this.deps.tokens.revokeAccessor(pending.accessor)))();
    } catch (err) {
      this.deps.log.warn('could not revoke the token of a removed volume; trying again', { volume: pending.volume, accessor: pending.accessor, err });
      this.scheduleRevocationRetry();
      return;
    }
    this.revoking.delete(pending.accessor);
    this.deps.log.info('volume token revoked', { volume: pending.volume, accessor: pending.accessor });
    // Should this save fail, the record stays on disk: the next start revokes again, which Vault answers as gone.
    await this.save().catch((err) => this.deps.log.warn('could not save the state after a revocation', { err }));
  }

  private retryBounds(): { first: number; max: number } {
    return this.deps.revokeRetryMs ?? REVOKE_RETRY_MS;
  }

  private scheduleRevocationRetry(): void {
    if (this.closed || this.retryTimer) return;
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, this.retryBounds().max);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.retryRevocations();
    }, delay);
    this.retryTimer.unref();
  }

  /** One attempt at every pending revocation. */
  private retryRevocations(): void {
    if (this.closed) return;
    const pass = Promise.all([...this.revoking.values()].map((r) => this.revokePending(r))).then(() => {
      if (this.revoking.size === 0) this.retryMs = this.retryBounds().first;
    });
    this.track(pass);
  }

  /** The accessors of removed volumes' tokens not revoked yet (status, tests). */
  pendingRevocations(): PendingRevocation[] {
    return [...this.revoking.values()].map((r) => ({ ...r }));
  }

  /** Resolves when the work that went on after answered requests (revocations) is done. */
  async settled(): Promise<void> {
    while (this.background.size > 0) await Promise.all([...this.background]);
  }

  private live(name: string): LiveVolume {
    const vol = this.volumes.get(validateVolumeName(name));
    if (!vol) throw new NotFoundError(`no such volume: ${name}`);
    return vol;
  }

  private refCount(vol: LiveVolume): number {
    let n = 0;
    for (const c of vol.ids.values()) n += c;
    return n;
  }

  async create(name: string, opts: Record<string, string>): Promise<void> {
    validateVolumeName(name);
    const { path, options, change, wrappedToken } = parseVolumeOptions(name, opts);
    if (change.watchMs !== undefined && !this.deps.watcher) throw new UsageError('this driver does not watch secrets: watch= is not available');
    // Said at Create, not at the first change: a volume whose signals could never be sent is not made.
    if (change.onChange.kind !== 'none') await this.deps.watcher!.checkDockerAccess();
    await this.answerEarly(name, 'minting the token of a new volume', async (answer) => {
      this.assertOpen();
      const existing = this.volumes.get(name);
      if (existing) {
        // dockerd may ask again for a volume it already knows; the same definition is not an error.
        if (sameDefinition(existing.def, path, options) && wrappedToken === undefined) return;
        throw new UsageError(`volume ${name} already exists with other options or a token; remove it first`);
      }
      // A token the driver mints needs nothing checked with it at Create: answered once the path is
      // known to be allowed and the volume is on disk, then minted while dockerd makes the container
      // (tens of ms before its Mount, which waits for the mint: it holds the name's lock).
      if (wrappedToken === undefined && options.keys === undefined) return this.createThenMint(name, path, options, answer);
      const { accessor, tokenSource, policies } = await this.deps.tokens.issue({ name, path }, wrappedToken);
      const def: VolumeDefinition = { name, path, options, createdAt: new Date().toISOString(), accessor, tokenSource, policies };
      if (options.keys !== undefined) {
        // Said at Create, with the keys' names (never values), not as files missing later.
        try {
          await this.checkSelectedKeys(def);
        } catch (err) {
          await this.deps.tokens.revoke(def).catch(() => {});
          throw err;
        }
      }
      this.volumes.set(name, { def, mountpoint: join(this.deps.mountRoot, volumeDirName(name)), ids: new Map() });
      try {
        await this.save();
      } catch (err) {
        this.volumes.delete(name);
        await this.deps.tokens.revoke(def).catch(() => {});
        throw err;
      }
      this.deps.log.info('volume created', { volume: name, path, tokenSource, accessor });
    });
  }

  private async createThenMint(name: string, path: string, options: Record<string, string>, answer: () => void): Promise<void> {
    const policies = await this.deps.tokens.policiesFor({ name, path });
    const def: VolumeDefinition = { name, path, options, createdAt: new Date().toISOString(), accessor: '', tokenSource: 'minted', policies };
    const vol: LiveVolume = { def, mountpoint: join(this.deps.mountRoot, volumeDirName(name)), ids: new Map() };
    this.volumes.set(name, vol);
    try {
      await this.save();
    } catch (err) {
      this.volumes.delete(name);
      throw err;
    }
    answer();
    // A failure here leaves the volume without a token: its Mount mints one (the same policies).
    const issued = await this.deps.tokens.issue({ name, path }, undefined, policies);
    def.accessor = issued.accessor;
    def.policies = [...issued.policies];
    await this.save();
    this.deps.log.info('volume created', { volume: name, path, tokenSource: issued.tokenSource, accessor: issued.accessor });
    const { vault } = await this.deps.tokens.acquire(def);
    const kvMount = resolveKvMount(vault, path);
    kvMount.catch(() => {}); // Mount reports it, or detects again.
    vol.prefetch = { at: Date.now(), kvMount };
  }

  /** Reads the secret with the volume's token: every key that keys= selects must be in it. */
  private async checkSelectedKeys(def: VolumeDefinition): Promise<void> {
    const selection = parseKeySelection(def.options.keys);
    const { vault } = await this.deps.tokens.acquire(def);
    const mount = await resolveKvMount(vault, def.path);
    let data: Record<string, unknown>;
    try {
      data = (await readSecret(vault, mount, def.path, def.options.version ? Number(def.options.version) : undefined)).data;
    } catch (err) {
      if (isVaultFailure(err, 'not_found')) throw new UsageError(`keys= selects keys of ${def.path}, but there is no secret there (write it first)`, { cause: err });
      throw err;
    }
    const missing = missingKeys(selection, data);
    if (missing.length > 0) {
      const list = missing.map((k) => JSON.stringify(k)).join(', ');
      throw new UsageError(`keys=: ${def.path} has no key${missing.length > 1 ? 's' : ''} ${list} (its keys: ${Object.keys(data).sort().join(', ') || 'none'})`);
    }
  }

  /**
   * Removes a volume. Answered once the volume is gone from the state and its token is recorded as
   * to be revoked (on disk): the revocation itself follows, off Docker's wait (and the user's: `docker
   * run --rm` waits for this Remove). A driver killed right after answering revokes it at its next
   * start. The lock is held until that first attempt ends, so a new volume of the same name waits.
   */
  async remove(name: string): Promise<void> {
    validateVolumeName(name);
    await this.answerEarly(name, 'removing a volume', async (answer) => {
      const vol = this.live(name);
      if (vol.ids.size > 0) throw new UsageError(`volume ${name} is in use by ${vol.ids.size} mount(s)`);
      this.deps.watcher?.unwatch(name);
      if (vol.handle) {
        await vol.handle.unmount();
        vol.handle = undefined;
      }
      const pending: PendingRevocation | undefined = vol.def.accessor ? { volume: name, accessor: vol.def.accessor, removedAt: new Date().toISOString() } : undefined;
      this.volumes.delete(name);
      if (pending) this.revoking.set(pending.accessor, pending);
      try {
        await this.save();
      } catch (err) {
        // Nothing recorded: the volume stays, and Docker is told Remove failed.
        this.volumes.set(name, vol);
        if (pending) this.revoking.delete(pending.accessor);
        throw err;
      }
      this.deps.log.info('volume removed', { volume: name, accessor: vol.def.accessor });
      answer();
      await rmdir(vol.mountpoint).catch(() => {});
      if (pending) await this.revokePending(pending, () => this.deps.tokens.revoke(vol.def));
    });
  }

  async mount(name: string, id: string): Promise<string> {
    validateVolumeName(name);
    return this.lock.run(name, async () => {
      this.assertOpen();
      const vol = this.live(name);
      if (!vol.handle) {
        const credential = await this.deps.tokens.acquire(vol.def);
        if (credential.accessor !== vol.def.accessor || credential.tokenSource !== vol.def.tokenSource || credential.policies.join() !== vol.def.policies.join()) {
          vol.def.accessor = credential.accessor;
          vol.def.tokenSource = credential.tokenSource;
          vol.def.policies = [...credential.policies];
          await this.save();
        }
        await mkdir(this.deps.mountRoot, { recursive: true, mode: 0o700 });
        await mkdir(vol.mountpoint, { recursive: true, mode: 0o755 });
        const prefetch = vol.prefetch;
        vol.prefetch = undefined;
        const kvMount = prefetch && Date.now() - prefetch.at < PREFETCH_MAX_AGE_MS ? prefetch.kvMount : undefined;
        const handle = await this.deps.mounter.mount({ name, path: vol.def.path, mountpoint: vol.mountpoint, options: fsOptionsOf(vol.def.options), vault: credential.vault, kvMount });
        vol.handle = handle;
        this.deps.log.info('volume mounted', { volume: name, mountpoint: vol.mountpoint });
        const change = parseChangeOptions(vol.def.options);
        if (change.watchMs !== undefined) {
          // The kernel's attribute time, plus a margin for a loaded machine (a reply the kernel takes late caches later).
          const attrMs = cachePlan(parseFsOptions(fsOptionsOf(vol.def.options)).cacheTtlMs).kernel.attrTimeout * 1000;
          const settleMs = attrMs > 0 ? attrMs + 500 : 0;
          this.deps.watcher?.watch({ name, path: vol.def.path, vault: credential.vault, options: change, invalidate: () => handle.invalidate?.(), settleMs });
        }
      }
      // The same ID may come again while active (moby mounts.go Setup, e.g. for `docker cp`):
      // it answers the same mountpoint and does not mount twice; each call is balanced by an Unmount.
      vol.ids.set(id, (vol.ids.get(id) ?? 0) + 1);
      return vol.mountpoint;
    });
  }

  async unmount(name: string, id: string): Promise<void> {
    validateVolumeName(name);
    await this.lock.run(name, async () => {
      const vol = this.live(name);
      const count = vol.ids.get(id);
      if (count === undefined) {
        // After a driver restart dockerd unmounts IDs we never saw; refusing would wedge its cleanup.
        this.deps.log.warn('unmount of an unknown mount ID', { volume: name, id });
      } else if (count > 1) vol.ids.set(id, count - 1);
      else vol.ids.delete(id);
      if (vol.ids.size === 0 && vol.handle) {
        this.deps.watcher?.unwatch(name);
        await vol.handle.unmount();
        vol.handle = undefined;
        this.deps.log.info('volume unmounted', { volume: name });
      }
    });
  }

  /**
   * The ephemeral volumes that are mounted by no container and were created at least `minAgeMs`
   * ago (so a volume dockerd is creating for a container is never taken): what the sweep removes.
   */
  idleEphemeralVolumes(minAgeMs: number, now = Date.now()): string[] {
    const out: string[] = [];
    for (const vol of this.volumes.values()) {
      if (vol.def.options[EPHEMERAL_OPTION] !== 'true' || vol.ids.size > 0 || vol.handle) continue;
      const created = Date.parse(vol.def.createdAt);
      if (!(now - created >= minAgeMs)) continue;
      out.push(vol.def.name);
    }
    return out;
  }

  async path(name: string): Promise<string | undefined> {
    const vol = this.live(name);
    return vol.handle ? vol.mountpoint : undefined;
  }

  async get(name: string): Promise<VolumeInfo> {
    return this.info(this.live(name));
  }

  async list(): Promise<VolumeInfo[]> {
    return [...this.volumes.values()].map((v) => this.info(v));
  }

  capabilities(): { scope: 'local' } {
    // One FUSE mount per host: Swarm must create the volume on every node.
    return { scope: 'local' };
  }

  async status(): Promise<DriverStatusReport> {
    const volumes: VolumeStatus[] = [...this.volumes.values()].map((v) => ({
      name: v.def.name,
      path: v.def.path,
      mounted: Boolean(v.handle),
      refCount: this.refCount(v),
      mountIds: v.ids.size,
      mountpoint: v.mountpoint,
      tokenSource: v.def.tokenSource,
      policies: [...v.def.policies],
      ...(this.deps.tokens.needsToken(v.def) ? { needsToken: this.deps.tokens.needsToken(v.def) } : {}),
      createdAt: v.def.createdAt,
    }));
    return { pid: this.deps.pid ?? process.pid, volumes };
  }

  private info(vol: LiveVolume): VolumeInfo {
    return {
      name: vol.def.name,
      mountpoint: vol.handle ? vol.mountpoint : undefined,
      createdAt: vol.def.createdAt,
      // Shown by `docker volume inspect`: no token, no accessor, no secret.
      status: { path: vol.def.path, mounted: Boolean(vol.handle), refCount: this.refCount(vol), tokenSource: vol.def.tokenSource, ...vol.def.options },
    };
  }

  private assertOpen(): void {
    if (this.closed) throw new UsageError('the driver is shutting down');
  }

  /** Unmounts every volume (waiting for running operations on each); tokens stay valid for a restart. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.deps.watcher?.close();
    await Promise.all(
      [...this.volumes.values()].map((vol) =>
        this.lock.run(vol.def.name, async () => {
          if (!vol.handle) return;
          try {
            await vol.handle.unmount();
          } catch (err) {
            this.deps.log.error('unmount at shutdown failed', { volume: vol.def.name, err });
          }
          vol.handle = undefined;
          vol.ids.clear();
        }),
      ),
    );
    // Revocations under way finish (each Vault call is bounded); the ones still pending stay on disk for the next start.
    await this.settled();
    this.deps.tokens.close();
  }
}
