import { VaultHttpError, type Reply, type VaultRequest } from './envelope.js';
import type { Core } from './core.js';
import type { KvMountData, MountEntry } from './state.js';
import { kvV1 } from './kv-v1.js';
import { kvV2 } from './kv-v2.js';

/**
 * The KV secrets engines' entry: which engine serves a mount (version 1 in kv-v1.ts, version 2 in
 * kv-v2.ts) and the cubbyhole engine (a KV v1 per token).
 */

/** The uuid under which a mount's KV data is kept; each token's cubbyhole has its own. */
function dataUuid(req: VaultRequest, mount: MountEntry): string {
  return mount.type === 'cubbyhole' ? `cubbyhole:${req.te?.accessor ?? ''}` : mount.uuid;
}

/** The KV data of a mount (or of the caller's cubbyhole). */
function mountData(core: Core, req: VaultRequest, mount: MountEntry, uuid: string): KvMountData {
  let data = core.state.kv.get(uuid);
  if (!data && mount.type === 'cubbyhole') {
    data = { version: 1, entries: new Map() };
    // Kept only once something is written.
    if (req.op === 'write') core.state.kv.set(uuid, data);
  }
  if (!data) throw new VaultHttpError(500, ['mount data missing']);
  return data;
}

/** The KV version of a mount entry ("2" → 2, anything else → 1). */
export function kvVersionOf(mount: MountEntry): 1 | 2 {
  return mount.options?.version === '2' ? 2 : 1;
}

/** Whether a create-vs-update existence check finds the target. */
export function kvExists(core: Core, req: VaultRequest, mount: MountEntry, rest: string): boolean {
  const data = core.state.kv.get(dataUuid(req, mount));
  if (!data) return false;
  if (data.version === 1) return data.entries.has(rest);
  if (rest === 'config') return true;
  const m = /^(data|metadata)\/(.*)$/.exec(rest);
  if (!m) return true;
  return data.keys.has(m[2]);
}

/** Serves one request on a KV (or cubbyhole) mount. `rest` is the path below the mount. */
export function handleKv(core: Core, req: VaultRequest, mount: MountEntry, rest: string): Reply {
  const uuid = dataUuid(req, mount);
  const data = mountData(core, req, mount, uuid);
  const mountType = mount.type;
  const reply = data.version === 1 ? kvV1(core, req, uuid, data, rest) : kvV2(core, req, uuid, data, rest);
  reply.mountType = mountType;
  return reply;
}
