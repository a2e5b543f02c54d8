import { dirname } from 'node:path';
import { ensurePrivateDir, readOptionalFile, writePrivateFile } from '../private-files.js';
import type { VaultClient } from './client.js';
import { resolveKvMount } from './kv.js';
import type { KvMount } from './kv-path.js';

/** How long a KV mount is trusted without asking Vault again. */
export const KV_MOUNT_CACHE_TTL_MS = 30_000;
/** Mounts kept at most; the oldest go first. */
const MAX_ENTRIES = 64;

interface Entry {
  /** The Vault address and namespace the mount belongs to. */
  addr: string;
  namespace: string;
  mount: string;
  version: 1 | 2;
  at: number;
}

/** Whether `path` is the mount or below it (`secret` and `secret/app-1` are in `secret/`). */
function holds(mount: string, path: string): boolean {
  const prefix = mount.slice(0, -1);
  return path === prefix || path.startsWith(mount);
}

/**
 * resolveKvMount, remembered per Vault address, namespace and mount for KV_MOUNT_CACHE_TTL_MS in
 * a 0600 file, so `get`, `put` and `ls` on any path of a mount ask Vault for it once instead of
 * once per command. Nothing secret is kept: mount paths and KV versions. A path belongs to the
 * remembered mount it is in: Vault refuses a mount inside another ("path is already in use at"),
 * so no other mount can hold it; a remount within the TTL is seen after it.
 */
export async function resolveKvMountCached(vault: VaultClient, path: string, cacheFile: string, now = Date.now()): Promise<KvMount> {
  const namespace = vault.connection.namespace ?? '';
  const fresh = (await readEntries(cacheFile)).filter((e) => now - e.at >= 0 && now - e.at < KV_MOUNT_CACHE_TTL_MS);
  const hit = fresh.find((e) => e.addr === vault.addr && e.namespace === namespace && holds(e.mount, path));
  if (hit) return { mount: hit.mount, version: hit.version };
  const mount = await resolveKvMount(vault, path);
  const entries = [{ addr: vault.addr, namespace, mount: mount.mount, version: mount.version, at: now }, ...fresh.filter((e) => !(e.addr === vault.addr && e.namespace === namespace && e.mount === mount.mount))];
  // A cache that cannot be written only costs the next command a request.
  await ensurePrivateDir(dirname(cacheFile))
    .then(() => writePrivateFile(cacheFile, JSON.stringify({ mounts: entries.slice(0, MAX_ENTRIES) })))
    .catch(() => undefined);
  return mount;
}

/** The cache's entries; an unreadable or malformed file (or one of an older layout) is an empty cache. */
async function readEntries(file: string): Promise<Entry[]> {
  try {
    const raw = JSON.parse((await readOptionalFile(file)) ?? '{}') as { mounts?: Entry[] };
    if (!Array.isArray(raw.mounts)) return [];
    return raw.mounts.filter(
      (e) => e && typeof e.addr === 'string' && typeof e.namespace === 'string' && typeof e.mount === 'string' && e.mount.endsWith('/') && (e.version === 1 || e.version === 2) && typeof e.at === 'number',
    );
  } catch {
    return [];
  }
}
