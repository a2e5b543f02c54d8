import { VaultError } from '../errors.js';
import type { VaultClient } from '../vault/client.js';
import { resolveKvMount, readSecret, listSecrets } from '../vault/kv.js';
import { normalizeSecretPath, type KvMount } from '../vault/kv-path.js';

/** One secret as the filesystem needs it. */
export interface SecretData {
  data: Record<string, unknown>;
  /** KV v2 version; undefined on KV v1. */
  version?: number;
  /** KV v2: when this version was written (RFC 3339). */
  createdTime?: string;
}

/**
 * Where a secret filesystem reads from: raw, uncached reads of one subtree. `relPath` is relative
 * to the mounted path ('' is the mounted secret itself, 'db' is `<path>/db`).
 */
export interface SecretSource {
  /** A description for logs and the fsname, e.g. `secret/app-1`. */
  readonly name: string;
  /** Reads the secret at relPath. Throws VaultError (not_found, forbidden, unreachable...). */
  read(relPath: string): Promise<SecretData>;
  /** The names Vault lists below relPath; folders end in `/`. Missing paths list as []. */
  list(relPath: string): Promise<string[]>;
}

function join(base: string, rel: string): string {
  return rel === '' ? base : `${base}/${rel}`;
}

/**
 * A source over lib/vault for one mounted path. The KV mount and its version (v1 or v2) are
 * detected once, through sys/internal/ui/mounts, never guessed from the path; a failed detection
 * is retried by the next call. `version` pins the mounted secret (not its sub-paths) on KV v2.
 */
export function createVaultSource(
  vault: VaultClient,
  path: string,
  options: { version?: number; mount?: Promise<KvMount> } = {},
): SecretSource & { kvMount(): Promise<KvMount> } {
  const base = normalizeSecretPath(path);
  let mount: Promise<KvMount> | undefined;
  // A detection already under way (the driver starts it at Create), used once: a failure asks again.
  let given = options.mount;
  const kvMount = (): Promise<KvMount> => {
    if (mount) return mount;
    const detecting = given ?? resolveKvMount(vault, base);
    given = undefined;
    mount = detecting.then(
      (m) => {
        if (options.version !== undefined && m.version !== 2) {
          throw new VaultError(`version=${options.version} needs a KV v2 engine, but ${m.mount} is KV v1`, 'bad_request', 400);
        }
        return m;
      },
      (err) => {
        mount = undefined;
        throw err;
      },
    );
    return mount;
  };
  return {
    name: base,
    kvMount,
    async read(relPath) {
      const m = await kvMount();
      const s = await readSecret(vault, m, join(base, relPath), relPath === '' ? options.version : undefined);
      return { data: s.data ?? {}, version: s.version, createdTime: s.createdTime };
    },
    async list(relPath) {
      const m = await kvMount();
      return listSecrets(vault, m, join(base, relPath));
    },
  };
}
