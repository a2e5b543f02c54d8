import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import { readOptionalFile, writePrivateFile } from '../private-files.js';

/** Where a volume's current Vault token came from. */
export type TokenSource = 'minted' | 'wrapped';

/**
 * A volume as the driver keeps it across restarts. It holds no token and no secret: only the
 * accessor of the volume's token, which can look up and revoke it but not use it.
 */
export interface VolumeDefinition {
  name: string;
  /** The Vault path mounted as the volume's root directory. */
  path: string;
  /** The filesystem options as given (uid, gid, mode, ...); never `token`. */
  options: Record<string, string>;
  /** RFC 3339. */
  createdAt: string;
  /** Accessor of the volume's current token; empty when none is held. */
  accessor: string;
  tokenSource: TokenSource;
  /** The policies of the volume's token: a re-mint asks for exactly these (empty: unknown, older state). */
  policies: string[];
}

/**
 * A token whose volume is removed but whose revocation Vault has not confirmed yet: recorded
 * before Remove answers, so a driver killed right after still revokes it (at its next start).
 */
export interface PendingRevocation {
  /** The removed volume's name (for logs; a new volume may have the same name by now). */
  volume: string;
  accessor: string;
  /** RFC 3339. */
  removedAt: string;
}

interface StateFile {
  version: 1;
  volumes: Record<string, VolumeDefinition>;
  /** Absent in a state written before revocations were recorded. */
  revoking?: PendingRevocation[];
}

function isRevocation(v: unknown): v is PendingRevocation {
  const r = v as PendingRevocation;
  return !!r && typeof r.volume === 'string' && typeof r.accessor === 'string' && r.accessor !== '' && typeof r.removedAt === 'string';
}

function isDefinition(v: unknown): v is VolumeDefinition {
  const d = v as VolumeDefinition;
  return (
    !!d &&
    typeof d.name === 'string' &&
    typeof d.path === 'string' &&
    typeof d.createdAt === 'string' &&
    typeof d.accessor === 'string' &&
    (d.tokenSource === 'minted' || d.tokenSource === 'wrapped') &&
    !!d.options &&
    typeof d.options === 'object' &&
    Object.values(d.options).every((x) => typeof x === 'string') &&
    (d.policies === undefined || (Array.isArray(d.policies) && d.policies.every((p) => typeof p === 'string')))
  );
}

/** The driver's state file (atomic writes, mode 0600): volume name -> definition. */
export class DriverStateStore {
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly log: Logger,
  ) {}

  /** Reads the volumes of the state; a missing file is an empty state, unreadable entries are skipped with a warning. */
  async load(): Promise<Map<string, VolumeDefinition>> {
    return (await this.loadAll()).volumes;
  }

  /** The volumes and the revocations still to do. */
  async loadAll(): Promise<{ volumes: Map<string, VolumeDefinition>; revoking: PendingRevocation[] }> {
    const text = await readOptionalFile(this.file);
    const out = new Map<string, VolumeDefinition>();
    const revoking: PendingRevocation[] = [];
    if (text === undefined) return { volumes: out, revoking };
    let parsed: StateFile;
    try {
      parsed = JSON.parse(text) as StateFile;
    } catch (err) {
      throw new ConfigError(`driver state ${this.file} is not valid JSON`, { cause: err, hint: 'move it away and recreate the volumes' });
    }
    for (const r of Array.isArray(parsed?.revoking) ? parsed.revoking : []) {
      if (isRevocation(r)) revoking.push({ volume: r.volume, accessor: r.accessor, removedAt: r.removedAt });
      else this.log.warn('skipping an unreadable pending revocation in the state file');
    }
    for (const [name, def] of Object.entries(parsed?.volumes ?? {})) {
      // JSON.parse makes `__proto__` an own key, so Object.entries sees every volume name.
      if (isDefinition(def) && def.name === name) out.set(name, { ...def, options: { ...def.options }, policies: [...(def.policies ?? [])] });
      else this.log.warn('skipping an unreadable volume in the state file', { volume: name });
    }
    return { volumes: out, revoking };
  }

  /**
   * Writes the whole state. Writes are queued so that the last call's content is what stays on
   * disk even when callers overlap.
   */
  save(volumes: Iterable<VolumeDefinition>, revoking: Iterable<PendingRevocation> = []): Promise<void> {
    // A null-prototype map: a volume named `__proto__` is a key like any other, not the prototype.
    const snapshot: StateFile = { version: 1, volumes: Object.create(null) };
    const pending = [...revoking].map((r) => ({ volume: r.volume, accessor: r.accessor, removedAt: r.removedAt }));
    if (pending.length > 0) snapshot.revoking = pending;
    for (const v of volumes) {
      snapshot.volumes[v.name] = {
        name: v.name,
        path: v.path,
        options: { ...v.options },
        createdAt: v.createdAt,
        accessor: v.accessor,
        tokenSource: v.tokenSource,
        policies: [...v.policies],
      };
    }
    const text = JSON.stringify(snapshot, null, 2) + '\n';
    const next = this.writing.catch(() => {}).then(() => writePrivateFile(this.file, text));
    this.writing = next;
    return next;
  }
}
