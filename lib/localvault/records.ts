import type { AppRoleData, AppRoleRole, AppRoleSecretId, KvMountData, KvV2Config, KvV2Key, KvVersion, MountEntry, StoreState, TokenEntry, TokenRole, WrapEntry } from './state.js';
import { emptyKvData } from './state.js';

/**
 * How the in-memory state maps onto the engine's records: one record per mount, auth mount, policy,
 * token, token role, AppRole role and secret_id, wrapped response, KV v1 entry, KV v2 key's metadata and KV v2 version's data. A record key
 * names its kind and its identity; `recordValue` reads a record's current value from the state
 * (undefined: the record is to be deleted) and `buildState` rebuilds the state from all records.
 *
 * To persist a new kind of state (as AppRole's roles and secret_ids are): add a Map to StoreState, a key
 * builder here, a case in `recordValue` and in `buildState`, and call `core.touch(key)` wherever
 * the Map's entries change.
 */
export const recordKey = {
  /** The store's identity: HMAC key for token hashes, cluster id and name. */
  store: () => 'store',
  mount: (path: string) => `mount/${path}`,
  policy: (name: string) => `policy/${name}`,
  token: (hash: string) => `token/${hash}`,
  role: (name: string) => `role/${name}`,
  wrap: (accessor: string) => `wrap/${accessor}`,
  /** An auth method's mount (path without "auth/"). */
  authMount: (path: string) => `authmount/${path}`,
  /** An AppRole role by lower-case name, in the auth mount with this uuid. */
  appRoleRole: (uuid: string, name: string) => `approle-role/${uuid}/${name}`,
  /** An AppRole secret_id by its HMAC, in the auth mount with this uuid. */
  appRoleSecretId: (uuid: string, hash: string) => `approle-secret-id/${uuid}/${hash}`,
  /** A KV v2 mount's engine config (<mount>/config). */
  kvConfig: (uuid: string) => `kvconfig/${uuid}`,
  /** A KV v1 (or cubbyhole, uuid "cubbyhole:<accessor>") entry. */
  kv1: (uuid: string, key: string) => `kv1/${uuid}/${key}`,
  /** A KV v2 key's metadata, with each version's times and destroyed flag. */
  kv2Meta: (uuid: string, key: string) => `kv2/${uuid}/m/${key}`,
  /** A KV v2 version's data (absent once destroyed or trimmed). */
  kv2Version: (uuid: string, version: number, key: string) => `kv2/${uuid}/v/${version}/${key}`,
};

/** The stored identity record. */
interface StoreIdentity {
  format: 1;
  hmacKey: string;
  clusterId: string;
  clusterName: string;
}

/** A KV v2 key's metadata record: the key without its versions' data. */
type Kv2MetaRecord = Omit<KvV2Key, 'versions'> & { versions: Array<[number, Omit<KvVersion, 'data'>]> };

function kv2Meta(key: KvV2Key): Kv2MetaRecord {
  return {
    ...key,
    versions: [...key.versions].map(([n, v]) => [n, { created_time: v.created_time, deletion_time: v.deletion_time, destroyed: v.destroyed }]),
  };
}

/** After `prefix/`, split "<uuid>/<rest>" (uuids hold no slash; KV keys may). */
function splitUuid(rest: string): [string, string] {
  const slash = rest.indexOf('/');
  return slash < 0 ? [rest, ''] : [rest.slice(0, slash), rest.slice(slash + 1)];
}

/** The current value of a record in the state, or undefined when the record is to be deleted. */
export function recordValue(state: StoreState, key: string): unknown {
  if (key === 'store') return { format: 1, hmacKey: state.hmacKey.toString('hex'), clusterId: state.clusterId, clusterName: state.clusterName } satisfies StoreIdentity;
  const slash = key.indexOf('/');
  const kind = key.slice(0, slash);
  const rest = key.slice(slash + 1);
  switch (kind) {
    case 'mount':
      return state.mounts.get(rest);
    case 'policy':
      return state.policies.get(rest);
    case 'token':
      return state.tokens.get(rest);
    case 'role':
      return state.roles.get(rest);
    case 'wrap':
      return state.wraps.get(rest);
    case 'authmount':
      return state.authMounts.get(rest);
    case 'approle-role': {
      const [uuid, name] = splitUuid(rest);
      return state.approle.get(uuid)?.roles.get(name);
    }
    case 'approle-secret-id': {
      const [uuid, hash] = splitUuid(rest);
      return state.approle.get(uuid)?.secretIds.get(hash);
    }
    case 'kvconfig': {
      const data = state.kv.get(rest);
      return data?.version === 2 ? data.config : undefined;
    }
    case 'kv1': {
      const [uuid, k] = splitUuid(rest);
      const data = state.kv.get(uuid);
      return data?.version === 1 ? data.entries.get(k) : undefined;
    }
    case 'kv2': {
      const [uuid, tail] = splitUuid(rest);
      const data = state.kv.get(uuid);
      if (data?.version !== 2) return undefined;
      if (tail.startsWith('m/')) {
        const k = data.keys.get(tail.slice(2));
        return k ? kv2Meta(k) : undefined;
      }
      const m = /^v\/(\d+)\/(.*)$/s.exec(tail);
      if (!m) return undefined;
      return data.keys.get(m[2])?.versions.get(Number(m[1]))?.data;
    }
  }
  throw new Error(`unknown record kind in ${JSON.stringify(key)}`);
}

/** Every record key of the state (a full write, e.g. for a migration). */
export function allRecordKeys(state: StoreState): string[] {
  const keys = ['store'];
  for (const p of state.mounts.keys()) keys.push(recordKey.mount(p));
  for (const p of state.policies.keys()) keys.push(recordKey.policy(p));
  for (const h of state.tokens.keys()) keys.push(recordKey.token(h));
  for (const r of state.roles.keys()) keys.push(recordKey.role(r));
  for (const a of state.wraps.keys()) keys.push(recordKey.wrap(a));
  for (const [uuid, data] of state.kv) keys.push(...kvRecordKeys(uuid, data));
  for (const p of state.authMounts.keys()) keys.push(recordKey.authMount(p));
  for (const [uuid, d] of state.approle) keys.push(...appRoleRecordKeys(uuid, d));
  return keys;
}

/** The record keys of one AppRole mount's roles and secret_ids. */
export function appRoleRecordKeys(uuid: string, d: AppRoleData): string[] {
  return [...[...d.roles.keys()].map((n) => recordKey.appRoleRole(uuid, n)), ...[...d.secretIds.keys()].map((h) => recordKey.appRoleSecretId(uuid, h))];
}

/** The record keys of one KV mount's data (config, entries, metadata, versions). */
export function kvRecordKeys(uuid: string, data: KvMountData): string[] {
  const keys: string[] = [];
  if (data.version === 1) {
    for (const k of data.entries.keys()) keys.push(recordKey.kv1(uuid, k));
    return keys;
  }
  keys.push(recordKey.kvConfig(uuid));
  for (const [name, k] of data.keys) keys.push(...kv2KeyRecords(uuid, name, k));
  return keys;
}

/** The records of one KV v2 key: its metadata and every version that holds data. */
export function kv2KeyRecords(uuid: string, name: string, key: KvV2Key): string[] {
  const keys = [recordKey.kv2Meta(uuid, name)];
  for (const [n, v] of key.versions) if (v.data !== undefined) keys.push(recordKey.kv2Version(uuid, n, name));
  return keys;
}

function kvData<V extends 1 | 2>(state: StoreState, uuid: string, version: V): Extract<KvMountData, { version: V }> {
  let data = state.kv.get(uuid);
  if (!data) state.kv.set(uuid, (data = emptyKvData(version)));
  if (data.version !== version) throw new Error(`KV records of version ${version} for a mount of version ${data.version}`);
  return data as Extract<KvMountData, { version: V }>;
}

/** Rebuilds the state from all records (in key order). Throws when a record does not fit. */
export function buildState(records: Array<[string, unknown]>): StoreState | undefined {
  const identity = records.find(([k]) => k === 'store')?.[1] as StoreIdentity | undefined;
  if (!identity) {
    if (records.length > 0) throw new Error('records without the store identity record');
    return undefined;
  }
  if (identity.format !== 1 || typeof identity.hmacKey !== 'string') throw new Error('unrecognised store identity record');
  const state: StoreState = {
    hmacKey: Buffer.from(identity.hmacKey, 'hex'),
    clusterId: identity.clusterId,
    clusterName: identity.clusterName,
    mounts: new Map(),
    policies: new Map(),
    tokens: new Map(),
    roles: new Map(),
    kv: new Map(),
    wraps: new Map(),
    authMounts: new Map(),
    approle: new Map(),
  };
  const versions: Array<[string, number, string, Record<string, unknown>]> = [];
  // Mounts first: they say which KV version a uuid's records have.
  for (const [key, value] of records) {
    if (key.startsWith('mount/')) {
      const m = value as MountEntry;
      state.mounts.set(key.slice(6), m);
      if (m.type === 'kv') kvData(state, m.uuid, m.options?.version === '2' ? 2 : 1);
    } else if (key.startsWith('authmount/')) {
      const m = value as MountEntry;
      state.authMounts.set(key.slice(10), m);
      state.approle.set(m.uuid, { roles: new Map(), secretIds: new Map() });
    }
  }
  const appRole = (uuid: string): AppRoleData => {
    const d = state.approle.get(uuid);
    if (!d) throw new Error(`AppRole records for an unknown auth mount ${uuid}`);
    return d;
  };
  for (const [key, value] of records) {
    const slash = key.indexOf('/');
    const kind = key.slice(0, slash);
    const rest = key.slice(slash + 1);
    switch (kind) {
      case 'mount':
      case 'authmount':
        break;
      case 'approle-role': {
        const [uuid, name] = splitUuid(rest);
        appRole(uuid).roles.set(name, value as AppRoleRole);
        break;
      }
      case 'approle-secret-id': {
        const [uuid, hash] = splitUuid(rest);
        appRole(uuid).secretIds.set(hash, value as AppRoleSecretId);
        break;
      }
      case 'policy':
        state.policies.set(rest, value as string);
        break;
      case 'token':
        state.tokens.set(rest, value as TokenEntry);
        break;
      case 'role':
        state.roles.set(rest, value as TokenRole);
        break;
      case 'wrap':
        state.wraps.set(rest, value as WrapEntry);
        break;
      case 'kvconfig':
        kvData(state, rest, 2).config = value as KvV2Config;
        break;
      case 'kv1': {
        const [uuid, k] = splitUuid(rest);
        kvData(state, uuid, 1).entries.set(k, value as Record<string, unknown>);
        break;
      }
      case 'kv2': {
        const [uuid, tail] = splitUuid(rest);
        const data = kvData(state, uuid, 2);
        if (tail.startsWith('m/')) {
          const meta = value as Kv2MetaRecord;
          data.keys.set(tail.slice(2), { ...meta, versions: new Map(meta.versions.map(([n, v]) => [n, { ...v }])) });
        } else {
          const m = /^v\/(\d+)\/(.*)$/s.exec(tail);
          if (!m) throw new Error(`unrecognised record key ${JSON.stringify(key)}`);
          versions.push([uuid, Number(m[1]), m[2], value as Record<string, unknown>]);
        }
        break;
      }
      default:
        if (key !== 'store') throw new Error(`unrecognised record key ${JSON.stringify(key)}`);
    }
  }
  for (const [uuid, n, name, value] of versions) {
    const v = (state.kv.get(uuid) as Extract<KvMountData, { version: 2 }>).keys.get(name)?.versions.get(n);
    if (!v) throw new Error(`version ${n} of a KV key without metadata`);
    v.data = value;
  }
  return state;
}
