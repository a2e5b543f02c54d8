import { dirname } from 'node:path';
import { ensurePrivateDir, readOptionalFile, writePrivateFile } from '../private-files.js';
import type { VaultClient } from './client.js';
import { resolveKvMount } from './kv.js';
import type { KvMount } from './kv-path.js';

/** How long a path's KV mount is trusted without asking Vault again. */
export const KV_MOUNT_CACHE_TTL_MS = 30_000;
/** Paths kept at most; the oldest go first. */
const MAX_ENTRIES = 64;

interface Entry {
  mount: string;
  version: 1 | 2;
  at: number;
}

/**
 * resolveKvMount, remembered per Vault address and exact path for KV_MOUNT_CACHE_TTL_MS in a
 * 0600 file, so `get`, `put` and `ls` on a path ask Vault once instead of twice. Nothing secret is
 * kept: mount paths and KV versions. An exact path (not a prefix) is the key, so a mount nested
 * below another is never mistaken for it; a remount within the TTL is seen after it.
 */
export async function resolveKvMountCached(vault: VaultClient, path: string, cacheFile: string, now = Date.now()): Promise<KvMount> {
  const key = `${vault.addr} ${path}`;
  const entries = await readEntries(cacheFile);
  const hit = entries.get(key);
  if (hit && now - hit.at >= 0 && now - hit.at < KV_MOUNT_CACHE_TTL_MS) return { mount: hit.mount, version: hit.version };
  const mount = await resolveKvMount(vault, path);
  entries.set(key, { mount: mount.mount, version: mount.version, at: now });
  const fresh = [...entries].filter(([, e]) => now - e.at < KV_MOUNT_CACHE_TTL_MS).sort((a, b) => b[1].at - a[1].at).slice(0, MAX_ENTRIES);
  // A cache that cannot be written only costs the next command a request.
  await ensurePrivateDir(dirname(cacheFile))
    .then(() => writePrivateFile(cacheFile, JSON.stringify(Object.fromEntries(fresh))))
    .catch(() => undefined);
  return mount;
}

/** The cache's entries; an unreadable or malformed file is an empty cache. */
async function readEntries(file: string): Promise<Map<string, Entry>> {
  const entries = new Map<string, Entry>();
  try {
    const raw = JSON.parse((await readOptionalFile(file)) ?? '{}') as Record<string, Entry>;
    for (const [key, e] of Object.entries(raw)) {
      if (e && typeof e.mount === 'string' && e.mount.endsWith('/') && (e.version === 1 || e.version === 2) && typeof e.at === 'number') entries.set(key, e);
    }
  } catch {
    // fall through: empty
  }
  return entries;
}
