import { parseDurationSeconds } from '../duration.js';
import { badRequest, notFound, unsupportedOperation, type Reply, type VaultRequest } from './envelope.js';
import type { Core } from './core.js';
import type { KvMountData } from './state.js';
import { SYSTEM_DEFAULT_TTL } from './tokens.js';
import { listKeys, listReply } from './kv-keys.js';
import { recordKey } from './records.js';

/** The KV version 1 engine (also the cubbyhole's): one unversioned value per key. */

export function kvV1(core: Core, req: VaultRequest, uuid: string, data: Extract<KvMountData, { version: 1 }>, key: string): Reply {
  switch (req.op) {
    case 'list':
      return listReply(listKeys(data.entries.keys(), key));
    case 'read': {
      const value = data.entries.get(key);
      if (!value) throw notFound();
      let lease = SYSTEM_DEFAULT_TTL;
      const advisory = value.ttl !== undefined ? value.ttl : value.lease;
      if (advisory !== undefined) {
        try {
          lease = parseDurationSeconds(advisory);
        } catch {
          /* an unparsable advisory ttl is ignored */
        }
      }
      return { data: { ...value }, leaseDuration: lease };
    }
    case 'write': {
      if (key === '') throw badRequest('missing path');
      if (Object.keys(req.body).length === 0) throw badRequest('missing data fields');
      data.entries.set(key, structuredClone(req.body));
      core.touch(recordKey.kv1(uuid, key));
      return {};
    }
    case 'delete':
      if (data.entries.delete(key)) core.touch(recordKey.kv1(uuid, key));
      return {};
    default:
      throw unsupportedOperation();
  }
}
