import { UsageError } from '../errors.js';
import type { VaultClient } from './client.js';
import { normalizeSecretPath, pathBelowMount, type KvMount } from './kv-path.js';

/** Which secrets a policy grants. A path ending in `/*` grants everything below it. */
export interface PolicySpec {
  read?: string[];
  write?: string[];
  /** Also grant listing of the read and write paths (needed for `ls` and subdirectories). */
  list?: boolean;
}

interface Grant {
  path: string;
  capabilities: Set<string>;
}

/** Splits `secret/app/*` into its path and whether it is a subtree. */
function splitGlob(path: string): { base: string; subtree: boolean } {
  const subtree = path.endsWith('/*');
  const base = normalizeSecretPath(subtree ? path.slice(0, -2) : path);
  return { base, subtree };
}

function apiPattern(mount: KvMount, base: string, area: 'data' | 'metadata', subtree: boolean): string {
  const below = pathBelowMount(base, mount);
  const root = mount.mount.replace(/\/$/, '');
  const prefix = mount.version === 2 ? `${root}/${area}` : root;
  const path = below === '' ? prefix : `${prefix}/${below}`;
  return subtree ? `${path}/*` : path;
}

/**
 * Renders least-privilege HCL for KV paths, with `data/` and `metadata/` for v2.
 * Pure: the mount of each path is given by `mountFor`.
 */
export function renderPolicy(spec: PolicySpec, mountFor: (path: string) => KvMount, comment?: string): string {
  const grants = new Map<string, Grant>();
  const grant = (path: string, ...caps: string[]) => {
    const g = grants.get(path) ?? { path, capabilities: new Set<string>() };
    caps.forEach((c) => g.capabilities.add(c));
    grants.set(path, g);
  };
  const reads = spec.read ?? [];
  const writes = spec.write ?? [];
  if (reads.length + writes.length === 0) throw new UsageError('a policy needs at least one --read or --write path');
  for (const [paths, caps] of [[reads, ['read']], [writes, ['create', 'read', 'update', 'patch', 'delete']]] as const) {
    for (const raw of paths) {
      const { base, subtree } = splitGlob(raw);
      const mount = mountFor(base);
      grant(apiPattern(mount, base, 'data', subtree), ...caps);
      // Writers read the metadata for check-and-set merges; readers need only data/.
      if (mount.version === 2 && caps.length > 1) grant(apiPattern(mount, base, 'metadata', subtree), 'read');
      if (spec.list) {
        // LIST asks for the path with a trailing slash; listing a subtree needs the glob.
        grant(apiPattern(mount, base, 'metadata', false) + '/', 'list');
        if (subtree) grant(apiPattern(mount, base, 'metadata', true), 'list');
      }
    }
  }
  const order = ['create', 'read', 'update', 'patch', 'delete', 'list'];
  const stanzas = [...grants.values()]
    .sort((a, b) => a.path.localeCompare(b.path))
    .map((g) => ({ path: g.path, capabilities: order.filter((c) => g.capabilities.has(c)) }));
  return renderHcl(stanzas, comment);
}

/** One `path "..." { capabilities = [...] }` stanza of an ACL policy. */
export interface PolicyStanza {
  path: string;
  capabilities: string[];
}

const CAPABILITY_NAMES = new Set(['create', 'read', 'update', 'patch', 'delete', 'list', 'sudo', 'deny', 'subscribe', 'recover']);
// What HCL gives a meaning to inside a quoted string or a comment: quotes and escapes, line ends,
// braces (`${`, Vault's `{{` templates), `#`, NUL and every other control character.
const HCL_SPECIAL = /["\\{}#\u0000-\u001f\u007f]/;

/**
 * The one HCL renderer of secretfs: every policy text (volume, allowed path, driver, `policy
 * create`) is built here. A path or comment holding a character HCL gives a meaning to is refused
 * rather than escaped, so no input can close a string and open a stanza of its own.
 */
export function renderHcl(stanzas: PolicyStanza[], comment?: string): string {
  const lines: string[] = [];
  if (comment !== undefined) {
    if (/[\u0000-\u001f\u007f]/.test(comment)) throw new UsageError(`a policy comment must not contain control characters: ${JSON.stringify(comment)}`);
    lines.push(`# ${comment}`);
  }
  for (const s of stanzas) {
    const special = HCL_SPECIAL.exec(s.path);
    if (special || s.path === '') throw new UsageError(`cannot write a policy for path ${JSON.stringify(s.path)}: ${special ? `${JSON.stringify(special[0])} has a meaning in HCL` : 'empty'}`);
    for (const c of s.capabilities) if (!CAPABILITY_NAMES.has(c)) throw new UsageError(`unknown capability ${JSON.stringify(c)}`);
    lines.push(`path "${s.path}" {\n  capabilities = [${s.capabilities.map((c) => `"${c}"`).join(', ')}]\n}`);
  }
  return lines.join('\n\n') + '\n';
}

/** Checks a policy name the way Vault stores it (lower case) and refuses names that would escape the API path. */
export function normalizePolicyName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.@-]*$/.test(name) || name.includes('..')) {
    throw new UsageError(`invalid policy name ${JSON.stringify(name)}: use letters, digits, "-", "_", "." or "@"`);
  }
  const lower = name.toLowerCase();
  if (lower === 'root') throw new UsageError('the root policy is built in and cannot be changed');
  return lower;
}

/** Writes an ACL policy. */
export async function writePolicy(vault: VaultClient, name: string, hcl: string): Promise<void> {
  await vault.request('POST', `sys/policies/acl/${encodeURIComponent(normalizePolicyName(name))}`, { body: { policy: hcl } });
}

/** Reads an ACL policy's text. */
export async function readPolicy(vault: VaultClient, name: string): Promise<string> {
  const res = await vault.request('GET', `sys/policies/acl/${encodeURIComponent(name.toLowerCase())}`);
  return res.data?.policy ?? '';
}

/** Lists ACL policy names. */
export async function listPolicies(vault: VaultClient): Promise<string[]> {
  const res = await vault.request('LIST', 'sys/policies/acl');
  return res.data?.keys ?? [];
}

/** Deletes an ACL policy. */
export async function deletePolicy(vault: VaultClient, name: string): Promise<void> {
  await vault.request('DELETE', `sys/policies/acl/${encodeURIComponent(normalizePolicyName(name))}`);
}
