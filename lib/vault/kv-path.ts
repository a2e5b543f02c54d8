import { UsageError } from '../errors.js';

/** A KV mount and its version, as Vault reports it in sys/internal/ui/mounts. */
export interface KvMount {
  /** The mount path with a trailing slash, e.g. `secret/`. */
  mount: string;
  version: 1 | 2;
}

/** The KV v2 sub-trees below a mount. */
export type KvV2Area = 'data' | 'metadata' | 'delete' | 'undelete' | 'destroy' | 'subkeys';

/**
 * Checks a Vault secret path given by a user or a volume option and returns it without its
 * one trailing slash, if it has one. Refuses empty paths, absolute paths, `.` and `..` segments, empty
 * segments and control characters (NUL included): they would escape or confuse the mount; and
 * `" \\ { } # * $` and `+` segments, which would change the meaning of a policy granting the path.
 */
export function normalizeSecretPath(path: string, what = 'path'): string {
  if (typeof path !== 'string' || path.trim() === '') throw new UsageError(`${what} must not be empty`);
  if (/[\u0000-\u001f\u007f]/.test(path)) throw new UsageError(`${what} must not contain control characters or NUL`);
  // A path becomes a quoted string in a policy: characters HCL or Vault's path globs give a meaning
  // to could close the string or widen the grant, so they are refused before any Vault call.
  const special = /["\\{}#*$]/.exec(path);
  if (special) throw new UsageError(`${what} must not contain ${JSON.stringify(special[0])} (it has a meaning in Vault policies): ${JSON.stringify(path)}`);
  if (path.startsWith('/')) throw new UsageError(`${what} must be a Vault path like secret/app-1, not an absolute path: ${path}`);
  // One trailing slash is the same path (`secret/app-1/` = `secret/app-1`); more is an empty segment.
  const trimmed = path.endsWith('/') ? path.slice(0, -1) : path;
  const segments = trimmed.split('/');
  for (const segment of segments) {
    if (segment === '') throw new UsageError(`${what} has an empty segment: ${path}`);
    if (segment === '.' || segment === '..') throw new UsageError(`${what} must not contain "." or ".." segments: ${path}`);
    if (segment === '+') throw new UsageError(`${what} must not have a "+" segment (a wildcard in Vault policies): ${path}`);
  }
  return trimmed;
}

/** Checks a key name (a file name in the secret filesystem). */
export function validateKeyName(key: string): string {
  if (typeof key !== 'string' || key === '') throw new UsageError('key must not be empty');
  if (key === '.' || key === '..' || key.includes('/') || /[\u0000]/.test(key)) {
    throw new UsageError(`invalid key name ${JSON.stringify(key)}: no "/", NUL, "." or ".."`);
  }
  return key;
}

/** Percent-encodes each segment (node-vault does not) and keeps the slashes. */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** The part of `path` below the mount (`secret/app-1` under `secret/` is `app-1`). */
export function pathBelowMount(path: string, mount: KvMount): string {
  const prefix = mount.mount.replace(/\/+$/, '');
  if (path === prefix) return '';
  if (!path.startsWith(prefix + '/')) throw new UsageError(`${path} is not below the mount ${mount.mount}`);
  return path.slice(prefix.length + 1);
}

/**
 * The API path (without /v1/) for an operation on `path`: KV v1 uses the path as is;
 * KV v2 inserts `data/`, `metadata/`... after the mount.
 */
export function kvApiPath(mount: KvMount, path: string, area: KvV2Area = 'data'): string {
  const below = pathBelowMount(path, mount);
  if (mount.version === 1) return encodePath(path);
  const prefix = mount.mount.replace(/\/+$/, '');
  return encodePath(below === '' ? `${prefix}/${area}` : `${prefix}/${area}/${below}`);
}
