import type { VaultClient } from './client.js';

/** What sys/health says. */
export interface Health {
  initialized: boolean;
  sealed: boolean;
  standby: boolean;
  version: string;
}

/** Reads sys/health (unauthenticated). Any status answers: 503 (sealed) still has a body. */
export async function readHealth(vault: VaultClient): Promise<Health> {
  const res = (await vault.request('GET', 'sys/health?standbyok=true', { token: null })) as unknown as Health;
  return { initialized: res.initialized, sealed: res.sealed, standby: res.standby, version: res.version };
}

/** The enabled secrets engines, keyed by path with a trailing slash. */
export async function listMounts(vault: VaultClient): Promise<Record<string, { type: string; options?: { version?: string } | null }>> {
  const res = await vault.request('GET', 'sys/mounts');
  return (res.data ?? {}) as Record<string, { type: string; options?: { version?: string } | null }>;
}

/**
 * Makes sure a KV v2 engine is enabled at `mount`. Returns 'created' or 'exists';
 * an engine of another kind or version there is reported, not changed.
 */
export async function ensureKvV2Mount(vault: VaultClient, mount: string): Promise<'created' | 'exists' | { conflict: string }> {
  const key = mount.replace(/\/*$/, '/');
  const mounts = await listMounts(vault);
  const existing = mounts[key];
  if (existing) {
    if (existing.type === 'kv' && existing.options?.version === '2') return 'exists';
    return { conflict: `${key} is already a ${existing.type}${existing.options?.version ? ` v${existing.options.version}` : ''} engine` };
  }
  await vault.request('POST', `sys/mounts/${key.replace(/\/$/, '')}`, { body: { type: 'kv', options: { version: '2' }, description: 'secrets for docker secretfs' } });
  return 'created';
}

/** The client's capabilities on each path (sys/capabilities-self). */
export async function capabilitiesSelf(vault: VaultClient, paths: string[]): Promise<Record<string, string[]>> {
  const res = await vault.request('POST', 'sys/capabilities-self', { body: { paths } });
  const out: Record<string, string[]> = {};
  for (const p of paths) out[p] = (res.data?.[p] ?? (res as any)[p] ?? res.data?.capabilities ?? []) as string[];
  return out;
}
