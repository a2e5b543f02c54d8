import { VaultError, isVaultFailure } from '../errors.js';
import type { VaultClient } from './client.js';
import { kvApiPath, normalizeSecretPath, encodePath, type KvMount } from './kv-path.js';
import { listMounts } from './sys.js';

/** One version of a secret as read from KV. */
export interface SecretVersion {
  data: Record<string, unknown>;
  /** KV v2 version number; undefined for KV v1. */
  version?: number;
  createdTime?: string;
}

/** KV v2 metadata of one version. */
export interface VersionInfo {
  version: number;
  createdTime: string;
  deletionTime: string;
  destroyed: boolean;
}

/** One engine as sys/mounts lists it. */
type MountEntry = { type: string; options?: { version?: string } | null };

/** An engine mounted at `path` as a KvMount, or a VaultError when it is not a KV engine. */
function kvMountOf(path: string, entry: MountEntry): KvMount {
  if (entry.type !== 'kv' && entry.type !== 'generic') throw new VaultError(`${path} is a ${entry.type} engine, not KV`, 'bad_request', 400);
  return { mount: path.endsWith('/') ? path : `${path}/`, version: entry.options?.version === '2' ? 2 : 1 };
}

/** The KV mount that holds `path` (longest prefix) in a sys/mounts listing. */
export function findKvMount(mounts: Record<string, MountEntry>, path: string): KvMount {
  let best: string | undefined;
  for (const key of Object.keys(mounts)) {
    const prefix = key.replace(/\/+$/, '');
    if ((path === prefix || path.startsWith(prefix + '/')) && (!best || key.length > best.length)) best = key;
  }
  if (!best) throw new VaultError(`no secrets engine is mounted at ${path}`, 'not_found', 404);
  return kvMountOf(best, mounts[best]);
}

/**
 * Finds the KV mount of a path and its version; never guessed from the path. By default as the
 * vault CLI does (sys/internal/ui/mounts, which answers a token with some capability below the
 * path; old Vaults answer 404 there: those mounts are KV v1). With `via: 'sys/mounts'` from the
 * whole mount table instead: the driver's credential may read it but holds no capability on the
 * paths it mints volume tokens for.
 */
export async function resolveKvMount(vault: VaultClient, path: string, options: { via?: 'sys/internal/ui/mounts' | 'sys/mounts' } = {}): Promise<KvMount> {
  const clean = normalizeSecretPath(path);
  if (options.via === 'sys/mounts') return findKvMount(await listMounts(vault), clean);
  try {
    const res = await vault.request<{ path?: string; type?: string; options?: { version?: string } | null }>(
      'GET',
      `sys/internal/ui/mounts/${encodePath(clean)}`,
    );
    const data = res.data ?? {};
    if (!data.path) throw new VaultError(`no secrets engine is mounted at ${clean}`, 'not_found', 404);
    // An old Vault may not name the type: its answer is a KV mount.
    return kvMountOf(data.path, { type: data.type || 'kv', options: data.options });
  } catch (err) {
    if (isVaultFailure(err, 'not_found') && err.status === 404 && !(err.message.includes('no secrets engine'))) {
      throw new VaultError(`no KV secrets engine is mounted at ${clean}`, 'not_found', 404, { cause: err, hint: 'check the path, or enable one with `vault secrets enable -path=secret kv-v2`' });
    }
    throw err;
  }
}

/** Reads a secret (the latest version, or `version` on KV v2). A deleted or destroyed version is not_found. */
export async function readSecret(vault: VaultClient, mount: KvMount, path: string, version?: number): Promise<SecretVersion> {
  const query = mount.version === 2 && version ? `?version=${version}` : '';
  try {
    const res = await vault.request('GET', kvApiPath(mount, path, 'data') + query);
    if (mount.version === 1) return { data: (res.data ?? {}) as Record<string, unknown> };
    const meta = res.data?.metadata ?? {};
    return { data: res.data?.data ?? {}, version: meta.version, createdTime: meta.created_time };
  } catch (err) {
    const body = (err instanceof VaultError ? err.body : undefined) as { data?: { metadata?: { deletion_time?: string; destroyed?: boolean } } } | undefined;
    const meta = body?.data?.metadata;
    if (isVaultFailure(err, 'not_found') && meta) {
      const state = meta.destroyed ? 'destroyed' : 'deleted';
      throw new VaultError(`secret ${path}${version ? ` version ${version}` : ''} is ${state}`, 'not_found', 404, { cause: err });
    }
    if (isVaultFailure(err, 'not_found')) throw new VaultError(`no secret at ${path}`, 'not_found', 404, { cause: err });
    throw err;
  }
}

/** Writes the whole secret. On KV v2 `cas` makes it conditional; returns the new version. */
export async function writeSecret(
  vault: VaultClient,
  mount: KvMount,
  path: string,
  data: Record<string, unknown>,
  cas?: number,
): Promise<{ version?: number }> {
  if (mount.version === 1) {
    await vault.request('POST', kvApiPath(mount, path, 'data'), { body: data });
    return {};
  }
  const body = cas === undefined ? { data } : { options: { cas }, data };
  const res = await vault.request('POST', kvApiPath(mount, path, 'data'), { body });
  return { version: res.data?.version };
}

/**
 * The latest data of a KV v2 secret and the version to check-and-set against, in one GET: a
 * deleted or destroyed latest version answers 404 with its metadata, which still names its
 * number; no secret at all is version 0.
 */
async function latestForUpdate(vault: VaultClient, mount: KvMount, path: string): Promise<{ data: Record<string, unknown>; cas: number }> {
  try {
    const res = await vault.request('GET', kvApiPath(mount, path, 'data'));
    return { data: res.data?.data ?? {}, cas: Number(res.data?.metadata?.version ?? 0) };
  } catch (err) {
    if (!isVaultFailure(err, 'not_found')) throw err;
    const body = (err as VaultError).body as { data?: { metadata?: { version?: number } } } | undefined;
    return { data: {}, cas: Number(body?.data?.metadata?.version ?? 0) };
  }
}

const CAS_MISMATCH = /check-and-set parameter did not match/;

/**
 * Applies `change` to the current secret and writes the result without losing a concurrent write:
 * on KV v2 with check-and-set, retrying when another writer got there first. KV v1 has no
 * conditional write, so there it is a plain read and write.
 */
export async function updateSecret(
  vault: VaultClient,
  mount: KvMount,
  path: string,
  change: (current: Record<string, unknown>) => Record<string, unknown>,
  maxAttempts = 20,
): Promise<{ version?: number }> {
  for (let attempt = 1; ; attempt++) {
    let current: Record<string, unknown> = {};
    let cas = 0;
    if (mount.version === 2) {
      ({ data: current, cas } = await latestForUpdate(vault, mount, path));
    } else {
      current = await readSecret(vault, mount, path).then((s) => s.data, (err) => {
        if (isVaultFailure(err, 'not_found')) return {};
        throw err;
      });
    }
    try {
      return await writeSecret(vault, mount, path, change({ ...current }), mount.version === 2 ? cas : undefined);
    } catch (err) {
      if (mount.version === 2 && attempt < maxAttempts && err instanceof VaultError && CAS_MISMATCH.test(err.message)) {
        await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
        continue;
      }
      throw err;
    }
  }
}

/**
 * Whether a JSON merge patch (RFC 7386) of `values` sets exactly these keys to exactly these
 * values, as a shallow merge does: a null would remove its key and an object would merge into
 * the one stored, so either needs the read-and-write path.
 */
function mergePatchIsShallowMerge(values: Record<string, unknown>): boolean {
  return Object.values(values).every((v) => v !== null && (typeof v !== 'object' || Array.isArray(v)));
}

/**
 * Statuses of a PATCH that certainly changed nothing, after which the read-and-write path may
 * run: no secret yet or its latest version deleted (404), no `patch` capability (403), no PATCH
 * there (405: KV v1, an older Vault), check-and-set required or a bad request (400), 412, 415.
 */
const PATCH_FALLBACK_STATUSES = new Set([400, 403, 404, 405, 412, 415]);

/**
 * Sets `values`' keys in the secret at `path`, keeping its other keys: `put` without --replace.
 * On KV v2 with values a merge patch sets as they are, one PATCH (Vault merges under its own
 * lock, so no concurrent write is lost); else, or when the PATCH was refused (a new secret, no
 * `patch` capability, cas_required), updateSecret's read and check-and-set write, whose errors
 * are the ones users see. A timeout or a server error is thrown as is: the PATCH may have landed.
 */
export async function mergeIntoSecret(vault: VaultClient, mount: KvMount, path: string, values: Record<string, unknown>): Promise<{ version?: number }> {
  if (mount.version === 2 && mergePatchIsShallowMerge(values)) {
    try {
      const res = await vault.request('PATCH', kvApiPath(mount, path, 'data'), { body: { data: values }, headers: { 'Content-Type': 'application/merge-patch+json' } });
      return { version: res.data?.version };
    } catch (err) {
      if (!(err instanceof VaultError && err.status !== undefined && PATCH_FALLBACK_STATUSES.has(err.status))) throw err;
    }
  }
  return updateSecret(vault, mount, path, (current) => ({ ...current, ...values }));
}

/** Lists the keys below a path; folders end in `/`. An empty or missing path lists as []. */
export async function listSecrets(vault: VaultClient, mount: KvMount, path: string): Promise<string[]> {
  try {
    const res = await vault.request<{ keys?: string[] }>('LIST', kvApiPath(mount, path, 'metadata') + '/');
    return res.data?.keys ?? [];
  } catch (err) {
    if (isVaultFailure(err, 'not_found')) return [];
    throw err;
  }
}

/** Deletes the latest version (KV v2, recoverable with undelete) or the secret (KV v1). */
export async function deleteSecret(vault: VaultClient, mount: KvMount, path: string): Promise<void> {
  await vault.request('DELETE', kvApiPath(mount, path, 'data'));
}

/** Removes every version and the metadata (KV v2), or the secret (KV v1). */
export async function destroySecret(vault: VaultClient, mount: KvMount, path: string): Promise<void> {
  await vault.request('DELETE', kvApiPath(mount, path, mount.version === 2 ? 'metadata' : 'data'));
}

/** The versions of a KV v2 secret, oldest first. */
export async function listVersions(vault: VaultClient, mount: KvMount, path: string): Promise<{ current: number; versions: VersionInfo[] }> {
  if (mount.version !== 2) throw new VaultError(`${mount.mount} is KV v1, which keeps no versions`, 'bad_request', 400);
  try {
    const res = await vault.request('GET', kvApiPath(mount, path, 'metadata'));
    const versions = Object.entries((res.data?.versions ?? {}) as Record<string, { created_time: string; deletion_time: string; destroyed: boolean }>)
      .map(([v, info]) => ({ version: Number(v), createdTime: info.created_time, deletionTime: info.deletion_time, destroyed: info.destroyed }))
      .sort((a, b) => a.version - b.version);
    return { current: Number(res.data?.current_version ?? 0), versions };
  } catch (err) {
    if (isVaultFailure(err, 'not_found')) throw new VaultError(`no secret at ${path}`, 'not_found', 404, { cause: err });
    throw err;
  }
}

/** What KV v2 metadata says of a secret's newest version (read without reading any value). */
export interface CurrentVersionInfo {
  /** 0 when the secret has no version. */
  version: number;
  /** When the current version was written (RFC 3339), when known. */
  createdTime?: string;
  /** True when the current version is soft-deleted or destroyed. */
  deleted: boolean;
}

/** Reads `<mount>/metadata/<path>` (KV v2): the current version, its time and whether it is deleted. not_found propagates. */
export async function readCurrentVersion(vault: VaultClient, mount: KvMount, path: string): Promise<CurrentVersionInfo> {
  const res = await vault.request<{ current_version?: number; versions?: Record<string, { created_time?: string; deletion_time?: string; destroyed?: boolean }> }>(
    'GET',
    kvApiPath(mount, path, 'metadata'),
  );
  const version = Number(res.data?.current_version ?? 0);
  const v = res.data?.versions?.[String(version)];
  return { version, createdTime: v?.created_time, deleted: Boolean(v?.destroyed || (v?.deletion_time && v.deletion_time !== '')) };
}
