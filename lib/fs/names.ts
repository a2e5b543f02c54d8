import { isServableKey } from '../render/secret.js';
import type { SecretSnapshot } from './store.js';

/**
 * The views of a whole secret, in every directory of the filesystem that has one. The names start
 * with a dot so that `ls` (without -a) shows the keys only.
 */
export const VIEW_NAMES = {
  /** The whole secret as a JSON object (the values as Vault holds them). */
  json: '.secretfs.json',
  /** The whole secret as a POSIX-sh-sourceable .env file (`set -a; . ./.secretfs.env`). */
  env: '.secretfs.env',
  /** The secret's version and change time (`version=3`, `changed=<RFC 3339>`): one small file to poll. */
  version: '.secretfs.version',
} as const;
export type ViewKind = keyof typeof VIEW_NAMES;

/** The view a file name names, if any. */
export function viewKindOf(name: string): ViewKind | undefined {
  if (name === VIEW_NAMES.json) return 'json';
  if (name === VIEW_NAMES.env) return 'env';
  if (name === VIEW_NAMES.version) return 'version';
  return undefined;
}

/** What a name in the filesystem is. `rel` is the directory's path below the mount ('' = the mounted path). */
export type Node =
  | { kind: 'dir'; rel: string }
  | { kind: 'key'; rel: string; name: string; snap: SecretSnapshot }
  | { kind: 'view'; rel: string; name: string; view: ViewKind; snap: SecretSnapshot };

/** The root directory of a mount. */
export const ROOT: Node = { kind: 'dir', rel: '' };

/**
 * What is known of one directory: its secret (undefined when there is none or it was not
 * readable) and the sub-paths Vault lists below it (undefined when not asked yet: the listing
 * is only worth asking for when no file has the name).
 */
export interface DirectoryContents {
  snap?: SecretSnapshot;
  children?: readonly string[];
}

/**
 * The one rule for a name in a directory. No file name can be kept from a Vault key (a key may
 * be any string without "/"), so a clash is resolved, not prevented: a key beats a view, and a
 * view beats a sub-path. When a secret has a key named `.secretfs.json`, that file holds the
 * key's value and the JSON view is not served in that directory. undefined: not there, as far
 * as `contents` knows.
 */
export function resolveName(rel: string, name: string, contents: DirectoryContents): Node | undefined {
  const { snap } = contents;
  if (snap && isServableKey(name) && Object.prototype.hasOwnProperty.call(snap.data, name)) return { kind: 'key', rel, name, snap };
  const view = viewKindOf(name);
  if (snap && view) return { kind: 'view', rel, name, view, snap };
  if (contents.children?.includes(name)) return { kind: 'dir', rel: rel === '' ? name : `${rel}/${name}` };
  return undefined;
}

/** The names a directory lists: its servable keys, the views when it has a secret, its sub-paths; each name once. */
export function listNames(contents: DirectoryContents): string[] {
  const names = new Set<string>();
  if (contents.snap) {
    for (const key of Object.keys(contents.snap.data)) if (isServableKey(key)) names.add(key);
    for (const view of Object.values(VIEW_NAMES)) names.add(view);
  }
  for (const child of contents.children ?? []) if (isServableKey(child)) names.add(child);
  return [...names];
}

/** The components of a FUSE path: "/" is [], "/sub/key" is ["sub", "key"]. */
export function pathParts(path: string): string[] {
  return path === '/' || path === '' ? [] : path.split('/').slice(1);
}

/** A FUSE path as the directory below the mount that holds it and the name in it. */
export function splitPath(path: string): { dirRel: string; name: string } {
  const slash = path.lastIndexOf('/');
  return { dirRel: path.slice(1, Math.max(slash, 1)), name: path.slice(slash + 1) };
}
