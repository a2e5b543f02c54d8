import { parseDurationSeconds } from '../duration.js';
import { badRequest, str, VaultHttpError, type Reply, type VaultRequest } from './envelope.js';
import type { Core } from './core.js';
import { emptyKvData, kvMount, type KvV2Key, type MountEntry } from './state.js';
import { kvVersionOf } from './kv.js';
import { listAuth } from './sys-auth.js';
import { kvRecordKeys, recordKey } from './records.js';

/**
 * sys/mounts (list, read, enable, disable, tune) and sys/internal/ui/mounts, the lookup the
 * vault CLI uses to find a path's mount and KV version. Only the kv engine can be enabled.
 */

const RESERVED = ['sys/', 'auth/', 'cubbyhole/', 'identity/', 'audit/'];

/** The mount a path belongs to (longest prefix), or undefined. */
export function matchMount(core: Core, path: string): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const m of core.state.mounts.values()) {
    if (path.startsWith(m.path) || path + '/' === m.path) {
      if (!best || m.path.length > best.path.length) best = m;
    }
  }
  return best;
}

function runningVersion(m: MountEntry): string {
  return m.type === 'kv' ? 'v0.20.0+builtin' : 'v1.17.0+builtin.vault';
}

/** The JSON view of a mount, as sys/mounts shows it. */
export function mountView(m: MountEntry): Record<string, unknown> {
  return {
    accessor: m.accessor,
    config: { ...m.config },
    description: m.description,
    external_entropy_access: m.external_entropy_access,
    local: m.local,
    options: m.options,
    plugin_version: '',
    running_plugin_version: runningVersion(m),
    running_sha256: '',
    seal_wrap: m.seal_wrap,
    type: m.type,
    uuid: m.uuid,
    deprecation_status: m.type === 'kv' ? 'supported' : undefined,
  };
}

/** A mount path as Vault keeps it (no leading slash, one trailing slash); `missing` names an empty one. */
export function mountPathOf(raw: string, missing: string): string {
  const p = raw.replace(/^\/+/, '').replace(/\/+$/, '');
  if (!p) throw badRequest(missing);
  return p + '/';
}

/** The views of a table's mounts by path, sorted (sys/mounts, sys/auth). */
export function viewsByPath(mounts: Iterable<MountEntry>, view: (m: MountEntry) => Record<string, unknown>): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const m of [...mounts].sort((a, b) => a.path.localeCompare(b.path))) data[m.path] = view(m);
  return data;
}

/** Refuses to enable at a path that is in use, or lies below or above one that is (`shownAs` prefixes the path in Vault's text). */
export function assertPathFree(mounts: Iterable<MountEntry>, path: string, shownAs = ''): void {
  for (const m of mounts) {
    if (path.startsWith(m.path) || m.path.startsWith(path)) throw badRequest(`path is already in use at ${shownAs}${m.path}`);
  }
}

/**
 * Disables a mount of a table: the records of its data (`dataRecords`), then the mount's own
 * record, are deleted at commit; `dropData` forgets the data in memory.
 */
export function disableMount(core: Core, mounts: Map<string, MountEntry>, m: MountEntry, mountRecord: string, dataRecords: string[], dropData: () => void): void {
  for (const k of dataRecords) core.touch(k);
  mounts.delete(m.path);
  dropData();
  core.touch(mountRecord);
}

/** GET sys/mounts. */
export function listMounts(core: Core): Reply {
  return { data: viewsByPath(core.state.mounts.values(), mountView), topLevel: true };
}

/** sys/mounts/<path>: GET one, POST enable, DELETE disable. */
export function mountOne(core: Core, req: VaultRequest, rawPath: string): Reply {
  const path = mountPathOf(rawPath, 'missing mount path');
  const existing = core.state.mounts.get(path);
  if (req.op === 'read') {
    if (!existing) throw badRequest(`No secret engine mount at ${path}`);
    return { data: mountView(existing), topLevel: true };
  }
  if (req.op === 'delete') {
    if (!existing) return {};
    if (existing.builtin) throw badRequest(`cannot unmount ${JSON.stringify(path)}`);
    const data = core.state.kv.get(existing.uuid);
    disableMount(core, core.state.mounts, existing, recordKey.mount(path), data ? kvRecordKeys(existing.uuid, data) : [], () => core.state.kv.delete(existing.uuid));
    return {};
  }
  // enable
  let type = str(req.body, 'type');
  if (!type) throw badRequest('backend type must be specified as a string');
  const options: Record<string, string> = {};
  const rawOptions = req.body.options;
  if (rawOptions !== undefined && rawOptions !== null) {
    if (typeof rawOptions !== 'object' || Array.isArray(rawOptions)) throw badRequest('options must be a map of strings');
    for (const [k, v] of Object.entries(rawOptions)) options[k] = String(v);
  }
  if (type === 'kv-v2') {
    type = 'kv';
    options.version = '2';
  } else if (type === 'kv-v1' || type === 'generic') {
    type = 'kv';
    options.version = options.version || '1';
  }
  if (type !== 'kv') throw badRequest(`plugin not found in the catalog: ${type}`);
  const version = options.version ?? '1';
  if (version !== '1' && version !== '2' && version !== '') throw badRequest(`invalid KV version: ${version}`);
  for (const r of RESERVED) if (path.startsWith(r)) throw badRequest(`cannot mount ${JSON.stringify(path)} of type ${JSON.stringify(type)}`);
  assertPathFree(core.state.mounts.values(), path);
  const entry = kvMount(path, version === '2' ? '2' : '1', str(req.body, 'description'), options);
  if (!('version' in options)) entry.options = { ...options, version: '1' };
  const data = emptyKvData(version === '2' ? 2 : 1);
  core.state.mounts.set(path, entry);
  core.state.kv.set(entry.uuid, data);
  core.touch(recordKey.mount(path));
  for (const k of kvRecordKeys(entry.uuid, data)) core.touch(k);
  return {};
}

/** Vault's system default and maximum lease TTL (32 days), shown where a mount says "system" (0). */
export const SYSTEM_LEASE_TTL = 2764800;

/** A tune TTL field: "" keeps the current value, "system" means 0, anything else is a Vault duration. */
export function tuneTtl(body: Record<string, unknown>, key: string, current: number): number {
  const raw = str(body, key);
  if (raw === '') return current;
  if (raw === 'system') return 0;
  try {
    return parseDurationSeconds(raw);
  } catch (err) {
    throw badRequest((err as Error).message);
  }
}

/** Reads the tune view of a mount (effective TTLs: the system's where the mount has none). */
export function tuneView(m: MountEntry): Record<string, unknown> {
  return {
    default_lease_ttl: m.config.default_lease_ttl || SYSTEM_LEASE_TTL,
    max_lease_ttl: m.config.max_lease_ttl || SYSTEM_LEASE_TTL,
    force_no_cache: m.config.force_no_cache,
    description: m.description,
    options: m.options,
  };
}

/** Applies description and lease TTLs of a tune request (Vault's checks and texts), for secret and auth mounts. */
export function tuneCommon(core: Core, req: VaultRequest, m: MountEntry): void {
  const def = tuneTtl(req.body, 'default_lease_ttl', m.config.default_lease_ttl);
  const max = tuneTtl(req.body, 'max_lease_ttl', m.config.max_lease_ttl);
  if (def !== m.config.default_lease_ttl || max !== m.config.max_lease_ttl) {
    if (def !== 0 && max !== 0 && max < def) throw badRequest(`backend max lease TTL of ${max} would be less than backend default lease TTL of ${def}`);
    m.config = { ...m.config, default_lease_ttl: def, max_lease_ttl: max };
  }
  if (typeof req.body.description === 'string') m.description = req.body.description;
  // The same entry object is a secrets mount or an auth mount; its record says which.
  core.touch(core.state.authMounts.get(m.path) === m ? recordKey.authMount(m.path) : recordKey.mount(m.path));
}

/** sys/mounts/<path>/tune: read the config, or change description, lease TTLs and the KV version (1 → 2 upgrades). */
export function tuneMount(core: Core, req: VaultRequest, rawPath: string): Reply {
  const path = mountPathOf(rawPath, 'missing mount path');
  const m = core.state.mounts.get(path);
  if (!m) throw badRequest(`cannot fetch sysview for path ${JSON.stringify(path)}`);
  if (req.op === 'read') return { data: tuneView(m), topLevel: true };
  const opts = req.body.options;
  let upgrade = false;
  if (opts && typeof opts === 'object' && !Array.isArray(opts) && 'version' in opts && m.type === 'kv') {
    const want = String((opts as Record<string, unknown>).version);
    const have = String(kvVersionOf(m));
    if (want === '1' && have === '2') throw badRequest('cannot downgrade mount from KV version 2');
    if (want !== '1' && want !== '2') throw badRequest(`invalid KV version: ${want}`);
    upgrade = want === '2' && have === '1';
  }
  tuneCommon(core, req, m);
  if (upgrade) upgradeToV2(core, m);
  core.touch(recordKey.mount(path));
  return {};
}

function upgradeToV2(core: Core, m: MountEntry): void {
  const old = core.state.kv.get(m.uuid);
  const next = emptyKvData(2);
  if (old && old.version === 1 && next.version === 2) {
    const t = new Date().toISOString();
    for (const [k, v] of old.entries) {
      const key: KvV2Key = {
        cas_required: false,
        created_time: t,
        current_version: 1,
        delete_version_after: 0,
        max_versions: 0,
        oldest_version: 0,
        updated_time: t,
        custom_metadata: null,
        versions: new Map([[1, { created_time: t, deletion_time: '', destroyed: false, data: v }]]),
      };
      next.keys.set(k, key);
    }
  }
  // The v1 entries' records are deleted (their kind no longer matches), the v2 ones written.
  if (old) for (const k of kvRecordKeys(m.uuid, old)) core.touch(k);
  core.state.kv.set(m.uuid, next);
  for (const k of kvRecordKeys(m.uuid, next)) core.touch(k);
  m.options = { ...(m.options ?? {}), version: '2' };
}

/**
 * GET sys/internal/ui/mounts/<path>: the mount of a path, for a token with some capability below it.
 * Otherwise 403, so the endpoint cannot be used to discover mounts.
 */
export function internalUiMount(core: Core, req: VaultRequest, rawPath: string): Reply {
  if (req.op !== 'read') throw new VaultHttpError(405, ['1 error occurred:\n\t* unsupported operation\n\n']);
  const path = rawPath.replace(/^\/+/, '');
  if (!path) {
    const secret: Record<string, unknown> = {};
    for (const m of core.state.mounts.values()) {
      if (req.acl?.hasMountAccess(m.path)) secret[m.path] = mountView(m);
    }
    const auth = (listAuth(core).data ?? {}) as Record<string, unknown>;
    return { data: { auth, secret } };
  }
  const denied = new VaultHttpError(403, [
    `preflight capability check returned 403, please ensure client's policies grant access to path ${JSON.stringify(path)}`,
  ]);
  const m = matchMount(core, path);
  if (!m || !req.acl || !req.acl.hasMountAccess(m.path)) throw denied;
  const view = mountView(m);
  delete view.deprecation_status;
  return { data: { ...view, path: m.path } };
}

