import type { ContainerRef, DockerClient } from '../docker/client.js';
import { UsageError, isVaultFailure } from '../errors.js';
import type { ChangeAuditSink } from '../fs/audit.js';
import { contentDigest } from '../fs/digest.js';
import type { Logger } from '../log.js';
import type { VaultClient } from '../vault/client.js';
import { readCurrentVersion, readSecret, resolveKvMount } from '../vault/kv.js';
import type { KvMount } from '../vault/kv-path.js';
import { formatOnChange, type ChangeOptions } from './change-options.js';

/** A mounted volume whose secret is watched. */
export interface WatchTarget {
  /** The volume name (Docker's). */
  name: string;
  /** The Vault path of the volume's secret. */
  path: string;
  /** A client holding the volume's own token. */
  vault: VaultClient;
  /** watchMs must be set. */
  options: ChangeOptions;
  /** Drops the mount's cached values, so an open after the change reads the new value. */
  invalidate(): void;
  /**
   * How long the kernel may keep a file's attributes (its size) after a getattr: the action waits
   * at least this long after the change is seen, so the app's re-read sees the new size too
   * (fuse-native cannot tell the kernel to drop them; the bytes come from each open's own
   * snapshot, direct_io). 0 with cache_ttl=0.
   */
  settleMs?: number;
}

/** The part of the Docker API the watcher uses. */
export type ContainerActions = Pick<DockerClient, 'ping' | 'runningContainersWithVolume' | 'signalContainer' | 'restartContainer'>;

export interface ChangeWatcherDeps {
  /** The Docker engine; undefined when the driver has no access to it. */
  docker?: ContainerActions;
  audit: ChangeAuditSink;
  log: Logger;
  /** Longest delay between reads while Vault fails (default 60 s, never below the interval). */
  maxBackoffMs?: number;
}

/** What the watcher did, for status, tests and benchmarks. */
export interface ChangeWatcherStats {
  /** Secrets watched (one Vault read per interval each, however many volumes share one). */
  secrets: number;
  volumes: number;
  /** Version reads sent to Vault (the KV mount look-ups not counted). */
  reads: number;
  failures: number;
  changes: number;
}

interface Pending {
  from: string;
  to: string;
  timer: NodeJS.Timeout;
}

interface Member {
  target: WatchTarget;
  pending?: Pending;
}

/** The volumes that mount one secret: read once per interval for all of them. */
interface Group {
  path: string;
  members: Map<string, Member>;
  mount?: KvMount;
  /** The last version label read; undefined until the first successful read (the baseline). */
  last?: string;
  /** Consecutive failed reads: the delay doubles with each. */
  failures: number;
  /** Set once a token may read data/ but not metadata/ (e.g. a wrapped token of a narrower policy). */
  metadataForbidden: boolean;
  timer?: NodeJS.Timeout;
  reading: boolean;
}

const DEFAULT_MAX_BACKOFF_MS = 60_000;
const DOCKER_CHECK_TIMEOUT_MS = 3000;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Watches the secrets of mounted volumes for changes and tells their running containers.
 *
 * Volumes are grouped by Vault path: each group reads the secret's version once per interval
 * (the shortest interval of its volumes), with the token of one of them. KV v2 reads
 * `metadata/` (current_version, no value is transferred); KV v1, which has no versions, reads
 * the secret and compares a keyed digest. While Vault fails the delay doubles up to
 * maxBackoffMs; a failed read is never a change. The first read is the baseline.
 *
 * On a change every volume of the group drops its cached values at once; then, per volume,
 * the action (no sooner than the kernel's attribute cache time, settleMs, so a re-read sees the new
 * value) (signal or restart of the running containers that mount it, found through the
 * Docker API by volume name) waits on_change_debounce, and changes meanwhile fold into it: at most
 * one action per volume per debounce, within watch + debounce of the write. Each action is one
 * audit line (volume, containers, old and new version; never a value).
 */
export class ChangeWatcher {
  private readonly groups = new Map<string, Group>();
  private readonly byVolume = new Map<string, Group>();
  private readonly counters = { reads: 0, failures: 0, changes: 0 };
  private closed = false;

  constructor(private readonly deps: ChangeWatcherDeps) {}

  /** Throws a UsageError that says so when the driver cannot reach the Docker engine (checked at Create when on_change is set). */
  async checkDockerAccess(): Promise<void> {
    const docker = this.deps.docker;
    const hint = 'on_change needs the Docker socket: run the driver where it can reach it (/var/run/docker.sock or DOCKER_HOST); the managed plugin must mount it';
    if (!docker) throw new UsageError('on_change is set, but this driver has no access to the Docker engine', { hint });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        docker.ping(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${DOCKER_CHECK_TIMEOUT_MS} ms`)), DOCKER_CHECK_TIMEOUT_MS);
        }),
      ]);
    } catch (err) {
      throw new UsageError(`on_change is set, but this driver has no access to the Docker engine: ${message(err)}`, { hint, cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Starts watching a mounted volume (replacing an earlier watch of the same name). */
  watch(target: WatchTarget): void {
    if (this.closed || target.options.watchMs === undefined) return;
    this.unwatch(target.name);
    let group = this.groups.get(target.path);
    const fresh = !group;
    if (!group) {
      group = { path: target.path, members: new Map(), failures: 0, metadataForbidden: false, reading: false };
      this.groups.set(target.path, group);
    }
    const before = this.intervalOf(group);
    group.members.set(target.name, { target });
    this.byVolume.set(target.name, group);
    // A new group reads now (the baseline); a shorter interval takes effect at once.
    if (fresh) this.schedule(group, 0);
    else if (target.options.watchMs < before && group.failures === 0) this.schedule(group, target.options.watchMs);
  }

  /** Stops watching a volume (at Unmount and Remove); a pending action is dropped. */
  unwatch(name: string): void {
    const group = this.byVolume.get(name);
    if (!group) return;
    this.byVolume.delete(name);
    const member = group.members.get(name);
    if (member?.pending) clearTimeout(member.pending.timer);
    group.members.delete(name);
    if (group.members.size === 0) {
      if (group.timer) clearTimeout(group.timer);
      this.groups.delete(group.path);
    }
  }

  stats(): ChangeWatcherStats {
    return { secrets: this.groups.size, volumes: this.byVolume.size, ...this.counters };
  }

  /** Stops every timer; nothing more is read or signalled. */
  close(): void {
    this.closed = true;
    for (const name of [...this.byVolume.keys()]) this.unwatch(name);
  }

  private intervalOf(group: Group): number {
    let min = Infinity;
    for (const m of group.members.values()) min = Math.min(min, m.target.options.watchMs ?? Infinity);
    return min;
  }

  private schedule(group: Group, delayMs: number): void {
    if (group.timer) clearTimeout(group.timer);
    group.timer = setTimeout(() => void this.tick(group), delayMs);
    group.timer.unref();
  }

  private nextDelay(group: Group): number {
    const interval = this.intervalOf(group);
    if (group.failures === 0) return interval;
    const cap = Math.max(interval, this.deps.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS);
    return Math.min(cap, interval * 2 ** Math.min(group.failures, 20));
  }

  private async tick(group: Group): Promise<void> {
    group.timer = undefined;
    if (this.closed || this.groups.get(group.path) !== group || group.reading) return;
    const first = group.members.values().next().value as Member;
    group.reading = true;
    try {
      const label = await this.readVersion(group, first.target.vault);
      if (group.failures > 0) this.deps.log.info('watch: Vault answers again', { path: group.path, failedReads: group.failures });
      group.failures = 0;
      if (group.last !== undefined && label !== group.last) this.changed(group, group.last, label);
      group.last = label;
    } catch (err) {
      group.failures++;
      this.counters.failures++;
      // One line when it starts failing, then at each doubling: a long outage does not flood the log either.
      if ((group.failures & (group.failures - 1)) === 0) {
        this.deps.log.warn('watch: cannot read the secret version; backing off', { path: group.path, failedReads: group.failures, error: message(err) });
      }
      if (isVaultFailure(err, 'forbidden') && group.members.size > 1) {
        // This volume's token may read no more (revoked, narrower): the next read uses another's.
        group.members.delete(first.target.name);
        group.members.set(first.target.name, first);
      }
    } finally {
      group.reading = false;
    }
    if (this.groups.get(group.path) === group && !this.closed) this.schedule(group, this.nextDelay(group));
  }

  /** The version label of the group's secret: the KV v2 version, `h:<digest>` on KV v1, `deleted` or `absent`. */
  private async readVersion(group: Group, vault: VaultClient): Promise<string> {
    group.mount ??= await resolveKvMount(vault, group.path);
    const mount = group.mount;
    this.counters.reads++;
    try {
      if (mount.version === 2 && !group.metadataForbidden) {
        try {
          const v = await readCurrentVersion(vault, mount, group.path);
          if (v.version === 0) return 'absent';
          return v.deleted ? 'deleted' : String(v.version);
        } catch (err) {
          if (!isVaultFailure(err, 'forbidden')) throw err;
          group.metadataForbidden = true;
          this.deps.log.info('watch: the token may not read metadata; reading the secret for its version', { path: group.path });
        }
      }
      const s = await readSecret(vault, mount, group.path);
      return mount.version === 2 ? String(s.version) : contentDigest(s.data);
    } catch (err) {
      if (!isVaultFailure(err, 'not_found')) throw err;
      return /is (deleted|destroyed)/.test(message(err)) ? 'deleted' : 'absent';
    }
  }

  private changed(group: Group, from: string, to: string): void {
    this.counters.changes++;
    this.deps.log.info('watch: the secret changed', { path: group.path, oldVersion: from, newVersion: to, volumes: group.members.size });
    for (const member of group.members.values()) {
      try {
        member.target.invalidate();
      } catch (err) {
        this.deps.log.warn('watch: could not drop the cached value', { volume: member.target.name, error: message(err) });
      }
      if (member.pending) {
        member.pending.to = to;
        continue;
      }
      const timer = setTimeout(() => void this.act(member), Math.max(member.target.options.debounceMs, member.target.settleMs ?? 0));
      timer.unref();
      member.pending = { from, to, timer };
    }
  }

  private async act(member: Member): Promise<void> {
    const pending = member.pending;
    member.pending = undefined;
    if (!pending || this.closed) return;
    const { name, path, options } = member.target;
    const action = formatOnChange(options.onChange);
    let containers: ContainerRef[] = [];
    let result = 'ok';
    if (options.onChange.kind !== 'none') {
      try {
        if (!this.deps.docker) throw new Error('no access to the Docker engine');
        const docker = this.deps.docker;
        containers = await docker.runningContainersWithVolume(name);
        const onChange = options.onChange;
        const outcomes = await Promise.allSettled(
          containers.map((c) => (onChange.kind === 'signal' ? docker.signalContainer(c.id, onChange.signal) : docker.restartContainer(c.id))),
        );
        const failed = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [`${containers[i].name}: ${message(o.reason)}`] : []));
        if (failed.length > 0) result = `failed: ${failed.join('; ')}`;
      } catch (err) {
        result = `failed: ${message(err)}`;
      }
    }
    this.deps.audit.recordChange({ volume: name, path, oldVersion: pending.from, newVersion: pending.to, action, containers: containers.map((c) => c.name), result });
    const fields = { volume: name, action, containers: containers.map((c) => c.name), oldVersion: pending.from, newVersion: pending.to, result };
    if (result === 'ok') this.deps.log.info('watch: acted on a change', fields);
    else this.deps.log.warn('watch: acting on a change failed', fields);
  }
}
