import { randomBytes, randomUUID } from 'node:crypto';

/**
 * The embedded store's whole state. It lives in memory (Maps, so user-chosen keys such as
 * "__proto__" are harmless) and is persisted as one JSON document inside the encrypted data file.
 */

/** A mounted secrets engine (sys/mounts). */
export interface MountEntry {
  /** With trailing slash, e.g. "secret/". */
  path: string;
  type: string;
  description: string;
  accessor: string;
  uuid: string;
  options: Record<string, string> | null;
  config: { default_lease_ttl: number; max_lease_ttl: number; force_no_cache: boolean };
  local: boolean;
  seal_wrap: boolean;
  external_entropy_access: boolean;
  /** Built-in mounts (sys/, cubbyhole/, identity/) cannot be unmounted. */
  builtin?: boolean;
}

/** A service token; only its hash is kept. */
export interface TokenEntry {
  /** HMAC-SHA256 of the token (hex). */
  hash: string;
  accessor: string;
  policies: string[];
  /** Accessor of the parent, or "" for an orphan. */
  parent: string;
  meta: Record<string, string> | null;
  displayName: string;
  /** 0 = unlimited. */
  numUses: number;
  /** Unix seconds. */
  creationTime: number;
  /** Creation TTL in seconds (0 = never expires). */
  ttl: number;
  explicitMaxTtl: number;
  period: number;
  /** Milliseconds since epoch; 0 = never. */
  expireAt: number;
  /** Milliseconds since epoch of the last renewal, 0 = never renewed. */
  lastRenewal: number;
  renewable: boolean;
  path: string;
  role: string;
  /** Set on response-wrapping tokens. */
  wrapping?: boolean;
  /** "batch" for batch tokens (no accessor shown, not renewable, not revocable, no children); default service. */
  type?: 'service' | 'batch';
  /** The auth method's max TTL for renewals (AppRole token_max_ttl), seconds; 0/absent = system max. */
  maxTtl?: number;
  /** CIDRs the token may be used from (AppRole token_bound_cidrs); absent = anywhere. */
  boundCidrs?: string[];
}

/** An AppRole role (auth/<mount>/role/:name), as Vault's approle backend keeps it. */
export interface AppRoleRole {
  name: string;
  role_id: string;
  bind_secret_id: boolean;
  secret_id_bound_cidrs: string[];
  secret_id_num_uses: number;
  secret_id_ttl: number;
  local_secret_ids: boolean;
  token_policies: string[];
  token_ttl: number;
  token_max_ttl: number;
  token_explicit_max_ttl: number;
  token_num_uses: number;
  token_period: number;
  token_type: string;
  token_bound_cidrs: string[];
  token_no_default_policy: boolean;
}

/** One secret_id of a role; kept under the HMAC of the secret_id, never in clear. */
export interface AppRoleSecretId {
  /** Lower-case role name. */
  role: string;
  accessor: string;
  creation_time: string;
  /** RFC 3339, or Go's zero time when the secret_id does not expire. */
  expiration_time: string;
  last_updated_time: string;
  metadata: Record<string, string>;
  cidr_list: string[];
  token_bound_cidrs: string[];
  /** Uses left (0 = unlimited). */
  num_uses: number;
  ttl: number;
}

/** The data of one AppRole mount: roles by lower-case name, secret_ids by HMAC. */
export interface AppRoleData {
  roles: Map<string, AppRoleRole>;
  secretIds: Map<string, AppRoleSecretId>;
}

/** A token role (auth/token/roles/:name). */
export interface TokenRole {
  name: string;
  allowed_policies: string[];
  disallowed_policies: string[];
  allowed_policies_glob: string[];
  disallowed_policies_glob: string[];
  orphan: boolean;
  renewable: boolean;
  path_suffix: string;
  token_explicit_max_ttl: number;
  token_period: number;
  token_no_default_policy: boolean;
  token_num_uses: number;
  token_type: string;
  allowed_entity_aliases: string[];
}

/** One KV v2 version. */
export interface KvVersion {
  created_time: string;
  deletion_time: string;
  destroyed: boolean;
  /** Absent once destroyed. */
  data?: Record<string, unknown>;
}

/** One KV v2 key: metadata plus versions. */
export interface KvV2Key {
  cas_required: boolean;
  created_time: string;
  current_version: number;
  delete_version_after: number;
  max_versions: number;
  oldest_version: number;
  updated_time: string;
  custom_metadata: Record<string, string> | null;
  versions: Map<number, KvVersion>;
}

/** KV v2 engine config (<mount>/config). */
export interface KvV2Config {
  max_versions: number;
  cas_required: boolean;
  delete_version_after: number;
}

/** The data of one KV mount, by mount uuid. */
export type KvMountData =
  | { version: 1; entries: Map<string, Record<string, unknown>> }
  | { version: 2; config: KvV2Config; keys: Map<string, KvV2Key> };

/** A wrapped response, encrypted under a key derived from its wrapping token. */
export interface WrapEntry {
  accessor: string;
  creationPath: string;
  creationTime: string;
  ttl: number;
  iv: string;
  tag: string;
  ciphertext: string;
}

/** The whole in-memory state. */
export interface StoreState {
  /** Key for token hashes (HMAC), random per store. */
  hmacKey: Buffer;
  clusterId: string;
  clusterName: string;
  mounts: Map<string, MountEntry>;
  policies: Map<string, string>;
  tokens: Map<string, TokenEntry>;
  roles: Map<string, TokenRole>;
  kv: Map<string, KvMountData>;
  wraps: Map<string, WrapEntry>;
  /** Auth methods other than token, by path without "auth/" (e.g. "approle/"). */
  authMounts: Map<string, MountEntry>;
  /** AppRole data by auth mount uuid. */
  approle: Map<string, AppRoleData>;
}

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A random base62 string (rejection sampling: no modulo bias). */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < 248) out += BASE62[b % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

/** A mount accessor such as "kv_1a2b3c4d". */
export function mountAccessor(type: string): string {
  return `${type}_${randomBytes(4).toString('hex')}`;
}

function builtinMount(path: string, type: string, description: string): MountEntry {
  return {
    path,
    type,
    description,
    accessor: mountAccessor(type),
    uuid: randomUUID(),
    options: null,
    config: { default_lease_ttl: 0, max_lease_ttl: 0, force_no_cache: false },
    local: type === 'cubbyhole',
    seal_wrap: false,
    external_entropy_access: false,
    builtin: true,
  };
}

/** A KV mount entry. */
export function kvMount(path: string, version: '1' | '2', description = '', options: Record<string, string> = {}): MountEntry {
  return {
    path,
    type: 'kv',
    description,
    accessor: mountAccessor('kv'),
    uuid: randomUUID(),
    options: { ...options, version },
    config: { default_lease_ttl: 0, max_lease_ttl: 0, force_no_cache: false },
    local: false,
    seal_wrap: false,
    external_entropy_access: false,
  };
}

/** Empty KV data for a mount of the given version. */
export function emptyKvData(version: 1 | 2): KvMountData {
  return version === 1 ? { version: 1, entries: new Map() } : { version: 2, config: { max_versions: 0, cas_required: false, delete_version_after: 0 }, keys: new Map() };
}

/** A fresh store: KV v2 at secret/, as `vault server -dev` has. */
export function newState(): StoreState {
  const secret = kvMount('secret/', '2', 'key/value secret storage');
  const mounts = new Map<string, MountEntry>([
    ['cubbyhole/', builtinMount('cubbyhole/', 'cubbyhole', 'per-token private secret storage')],
    ['identity/', builtinMount('identity/', 'identity', 'identity store')],
    ['secret/', secret],
    ['sys/', builtinMount('sys/', 'system', 'system endpoints used for control, policy and debugging')],
  ]);
  return {
    hmacKey: randomBytes(32),
    clusterId: randomUUID(),
    clusterName: `vault-cluster-${randomBytes(4).toString('hex')}`,
    mounts,
    policies: new Map(),
    tokens: new Map(),
    roles: new Map(),
    kv: new Map([[secret.uuid, emptyKvData(2)]]),
    wraps: new Map(),
    authMounts: new Map(),
    approle: new Map(),
  };
}

/** The JSON form of the state (what goes, encrypted, into the data file). */
export function serializeState(s: StoreState): string {
  const kv: Array<[string, unknown]> = [];
  for (const [uuid, data] of s.kv) {
    if (data.version === 1) kv.push([uuid, { version: 1, entries: [...data.entries] }]);
    else kv.push([uuid, { version: 2, config: data.config, keys: [...data.keys].map(([k, v]) => [k, { ...v, versions: [...v.versions] }]) }]);
  }
  return JSON.stringify({
    format: 1,
    hmacKey: s.hmacKey.toString('hex'),
    clusterId: s.clusterId,
    clusterName: s.clusterName,
    mounts: [...s.mounts],
    policies: [...s.policies],
    tokens: [...s.tokens],
    roles: [...s.roles],
    kv,
    wraps: [...s.wraps],
    authMounts: [...s.authMounts],
    approle: [...s.approle].map(([uuid, d]) => [uuid, { roles: [...d.roles], secretIds: [...d.secretIds] }]),
  });
}

/** Rebuilds the state from its JSON form; throws when the document is not one of ours. */
export function deserializeState(text: string): StoreState {
  const doc = JSON.parse(text);
  if (!doc || doc.format !== 1 || typeof doc.hmacKey !== 'string') throw new Error('unrecognised state document');
  const kv = new Map<string, KvMountData>();
  for (const [uuid, data] of doc.kv as Array<[string, any]>) {
    if (data.version === 1) kv.set(uuid, { version: 1, entries: new Map(data.entries) });
    else {
      kv.set(uuid, {
        version: 2,
        config: data.config,
        keys: new Map((data.keys as Array<[string, any]>).map(([k, v]) => [k, { ...v, versions: new Map(v.versions) }])),
      });
    }
  }
  return {
    hmacKey: Buffer.from(doc.hmacKey, 'hex'),
    clusterId: doc.clusterId,
    clusterName: doc.clusterName,
    mounts: new Map(doc.mounts),
    policies: new Map(doc.policies),
    tokens: new Map(doc.tokens),
    roles: new Map(doc.roles),
    kv,
    wraps: new Map(doc.wraps),
    // Absent in data files written before auth methods existed.
    authMounts: new Map(doc.authMounts ?? []),
    approle: new Map(((doc.approle ?? []) as Array<[string, any]>).map(([uuid, d]) => [uuid, { roles: new Map(d.roles), secretIds: new Map(d.secretIds) }])),
  };
}
