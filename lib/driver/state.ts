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

interface StateFile {
  version: 1;
  volumes: Record<string, VolumeDefinition>;
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

  /** Reads the state; a missing file is an empty state, unreadable entries are skipped with a warning. */
  async load(): Promise<Map<string, VolumeDefinition>> {
    const text = await readOptionalFile(this.file);
    const out = new Map<string, VolumeDefinition>();
    if (text === undefined) return out;
    let parsed: StateFile;
    try {
      parsed = JSON.parse(text) as StateFile;
    } catch (err) {
      throw new ConfigError(`driver state ${this.file} is not valid JSON`, { cause: err, hint: 'move it away and recreate the volumes' });
    }
    for (const [name, def] of Object.entries(parsed?.volumes ?? {})) {
      // JSON.parse makes `__proto__` an own key, so Object.entries sees every volume name.
      if (isDefinition(def) && def.name === name) out.set(name, { ...def, options: { ...def.options }, policies: [...(def.policies ?? [])] });
      else this.log.warn('skipping an unreadable volume in the state file', { volume: name });
    }
    return out;
  }

  /**
   * Writes the whole state. Writes are queued so that the last call's content is what stays on
   * disk even when callers overlap.
   */
  save(volumes: Iterable<VolumeDefinition>): Promise<void> {
    // A null-prototype map: a volume named `__proto__` is a key like any other, not the prototype.
    const snapshot: StateFile = { version: 1, volumes: Object.create(null) };
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
