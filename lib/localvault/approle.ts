import { createHmac, randomUUID } from 'node:crypto';
import { parseDurationSeconds } from '../duration.js';
import { calculateTtl } from './auth-token.js';
import { ipInCidrs, validateCidrs } from './cidr.js';
import type { Core } from './core.js';
import { badRequest, bool, int, notFound, str, strList, unsupportedOperation, unsupportedPath, VaultHttpError, type Reply, type VaultRequest } from './envelope.js';
import type { AppRoleData, AppRoleRole, AppRoleSecretId, MountEntry, TokenEntry } from './state.js';
import { authMountTtls } from './sys-auth.js';
import { sanitizePolicies } from './tokens.js';
import { recordKey } from './records.js';

/**
 * Vault's approle auth method at any auth mount: roles, role_id, secret_ids (generated, custom,
 * looked up and destroyed by value or accessor, listed), and login, which mints a token with the
 * role's token_* settings. secret_ids are kept only as HMACs; their use counts, TTLs and CIDR
 * bindings are enforced at login as Vault does, with Vault's texts.
 */

/** Go's zero time, which Vault shows as the expiration_time of a secret_id that never expires. */
const ZERO_TIME = '0001-01-01T00:00:00Z';
/** Vault's answer to every login with an unknown role_id, unknown/spent/expired secret_id. */
export const MSG_INVALID_CREDENTIALS = 'invalid role or secret ID';

/** Body fields a role accepts (anything else is ignored with Vault's warning). */
const ROLE_FIELDS = new Set([
  'role_name', 'bind_secret_id', 'secret_id_bound_cidrs', 'bound_cidr_list', 'secret_id_num_uses', 'secret_id_ttl', 'local_secret_ids',
  'role_id', 'policies', 'period', 'token_policies', 'token_ttl', 'token_max_ttl', 'token_explicit_max_ttl', 'token_num_uses',
  'token_period', 'token_type', 'token_bound_cidrs', 'token_no_default_policy', 'secret_id_prefix', 'token_strictly_bind_ip',
]);
const SECRET_ID_FIELDS = new Set(['role_name', 'metadata', 'cidr_list', 'token_bound_cidrs', 'num_uses', 'ttl', 'secret_id']);

function data(core: Core, mount: MountEntry): AppRoleData {
  let d = core.state.approle.get(mount.uuid);
  if (!d) core.state.approle.set(mount.uuid, (d = { roles: new Map(), secretIds: new Map() }));
  return d;
}

/** framework's TypeDurationSecond, with the framework's validation text. */
function durationField(body: Record<string, unknown>, key: string): number | undefined {
  const v = body[key];
  if (v === undefined || v === null || v === '') return undefined;
  try {
    return parseDurationSeconds(v);
  } catch (err) {
    throw badRequest(`Field validation failed: error converting input ${String(v)} for field ${JSON.stringify(key)}: ${(err as Error).message}`);
  }
}

function cidrField(body: Record<string, unknown>, key: string): string[] | undefined {
  const list = strList(body, key);
  if (list === undefined) return undefined;
  try {
    validateCidrs(list);
  } catch (err) {
    throw badRequest(`failed to validate CIDR blocks: ${(err as Error).message}`);
  }
  return list;
}

/** The "Endpoint ignored these unrecognized parameters" warning the framework adds to answers with a body. */
function ignoredWarning(body: Record<string, unknown>, known: Set<string>): string[] {
  const ignored = Object.keys(body).filter((k) => !known.has(k)).sort();
  return ignored.length > 0 ? [`Endpoint ignored these unrecognized parameters: [${ignored.join(' ')}]`] : [];
}

function secretIdHash(core: Core, mount: MountEntry, secretId: string): string {
  return createHmac('sha256', core.state.hmacKey).update(`approle\0${mount.uuid}\0`).update(secretId).digest('hex');
}

function newRole(name: string): AppRoleRole {
  return {
    name,
    role_id: randomUUID(),
    bind_secret_id: true,
    secret_id_bound_cidrs: [],
    secret_id_num_uses: 0,
    secret_id_ttl: 0,
    local_secret_ids: false,
    token_policies: [],
    token_ttl: 0,
    token_max_ttl: 0,
    token_explicit_max_ttl: 0,
    token_num_uses: 0,
    token_period: 0,
    token_type: 'default',
    token_bound_cidrs: [],
    token_no_default_policy: false,
  };
}

const TOKEN_TYPES = ['default', 'service', 'batch', 'default-service', 'default-batch'];

/** POST role/:name (create or update); Vault's checks and texts. */
function writeRole(core: Core, uuid: string, d: AppRoleData, req: VaultRequest, name: string): Reply {
  const body = req.body;
  const key = name.toLowerCase();
  const existing = d.roles.get(key);
  const role: AppRoleRole = existing ? { ...existing } : newRole(name);
  const b = bool(body, 'bind_secret_id');
  if (b !== undefined) role.bind_secret_id = b;
  const cidrs = cidrField(body, 'secret_id_bound_cidrs') ?? cidrField(body, 'bound_cidr_list');
  if (cidrs) role.secret_id_bound_cidrs = cidrs;
  const numUses = int(body, 'secret_id_num_uses');
  if (numUses !== undefined) {
    if (numUses < 0) throw badRequest('secret_id_num_uses cannot be negative');
    role.secret_id_num_uses = numUses;
  }
  const sttl = durationField(body, 'secret_id_ttl');
  if (sttl !== undefined) role.secret_id_ttl = sttl;
  const local = bool(body, 'local_secret_ids');
  if (local !== undefined) {
    if (existing && local !== existing.local_secret_ids) throw badRequest('local_secret_ids can only be modified during role creation');
    role.local_secret_ids = local;
  }
  const roleId = str(body, 'role_id');
  if (roleId) {
    for (const other of d.roles.values()) if (other.role_id === roleId && other.name.toLowerCase() !== key) throw badRequest('role_id already in use');
    role.role_id = roleId;
  }
  const policies = strList(body, 'token_policies') ?? strList(body, 'policies');
  if (policies) role.token_policies = sanitizePolicies(policies, false);
  for (const [field, alias] of [['token_ttl'], ['token_max_ttl'], ['token_explicit_max_ttl'], ['token_period', 'period']] as const) {
    const v = durationField(body, field) ?? (alias ? durationField(body, alias) : undefined);
    if (v !== undefined) {
      if (v < 0) throw badRequest(`${field} cannot be negative`);
      role[field] = v;
    }
  }
  const tnu = int(body, 'token_num_uses');
  if (tnu !== undefined) {
    if (tnu < 0) throw badRequest('token_num_uses cannot be negative');
    role.token_num_uses = tnu;
  }
  const ttype = str(body, 'token_type');
  if (ttype) {
    if (!TOKEN_TYPES.includes(ttype)) throw badRequest(`invalid 'token_type' value ${JSON.stringify(ttype)}`);
    role.token_type = ttype;
  }
  const tcidrs = cidrField(body, 'token_bound_cidrs');
  if (tcidrs) role.token_bound_cidrs = tcidrs;
  const noDefault = bool(body, 'token_no_default_policy');
  if (noDefault !== undefined) role.token_no_default_policy = noDefault;
  if (!role.bind_secret_id && role.secret_id_bound_cidrs.length === 0 && role.token_bound_cidrs.length === 0) {
    throw badRequest('at least one constraint should be enabled on the role');
  }
  if (role.token_max_ttl > 0 && role.token_ttl > role.token_max_ttl) throw badRequest('token_ttl should not be greater than token_max_ttl');
  d.roles.set(key, role);
  core.touch(recordKey.appRoleRole(uuid, key));
  const warnings = ignoredWarning(body, ROLE_FIELDS);
  return warnings.length > 0 ? { warnings } : {};
}

function roleData(role: AppRoleRole): Record<string, unknown> {
  return {
    bind_secret_id: role.bind_secret_id,
    local_secret_ids: role.local_secret_ids,
    secret_id_bound_cidrs: role.secret_id_bound_cidrs,
    secret_id_num_uses: role.secret_id_num_uses,
    secret_id_ttl: role.secret_id_ttl,
    token_bound_cidrs: role.token_bound_cidrs,
    token_explicit_max_ttl: role.token_explicit_max_ttl,
    token_max_ttl: role.token_max_ttl,
    token_no_default_policy: role.token_no_default_policy,
    token_num_uses: role.token_num_uses,
    token_period: role.token_period,
    token_policies: role.token_policies,
    token_ttl: role.token_ttl,
    token_type: role.token_type,
    // Vault still reports the deprecated names next to the token_* ones.
    policies: role.token_policies,
    period: role.token_period,
  };
}

function requireRole(d: AppRoleData, name: string): AppRoleRole {
  const role = d.roles.get(name.toLowerCase());
  if (!role) throw badRequest(`role ${JSON.stringify(name)} does not exist`);
  return role;
}

function isExpired(e: AppRoleSecretId, now = Date.now()): boolean {
  return e.expiration_time !== ZERO_TIME && Date.parse(e.expiration_time) <= now;
}

/** Drops a role's expired secret_ids (Vault's tidy does this in the background). */
function tidy(core: Core, uuid: string, d: AppRoleData): void {
  const now = Date.now();
  for (const [h, e] of d.secretIds) {
    if (isExpired(e, now)) {
      d.secretIds.delete(h);
      core.touch(recordKey.appRoleSecretId(uuid, h));
    }
  }
}

/** POST role/:name/secret-id and custom-secret-id: a new secret_id under the role's limits. */
function createSecretId(core: Core, mount: MountEntry, d: AppRoleData, req: VaultRequest, name: string, custom: boolean): Reply {
  const role = requireRole(d, name);
  const body = req.body;
  if (!role.bind_secret_id) throw badRequest('bind_secret_id is not set on the role');
  let secretId: string = randomUUID();
  if (custom) {
    secretId = str(body, 'secret_id');
    if (!secretId) throw badRequest('missing secret_id');
  }
  const hash = secretIdHash(core, mount, secretId);
  if (d.secretIds.has(hash)) throw badRequest('SecretID is already registered');
  const cidrList = cidrField(body, 'cidr_list') ?? [];
  if (role.secret_id_bound_cidrs.length > 0 && cidrList.length > 0) {
    for (const c of cidrList) {
      const addr = c.split('/')[0];
      if (!ipInCidrs(addr, role.secret_id_bound_cidrs)) {
        throw badRequest(`failed to verify the CIDR restrictions set on the secret ID: CIDR ${JSON.stringify(c)} is not a subset of the role's secret_id_bound_cidrs`);
      }
    }
  }
  const tokenCidrs = cidrField(body, 'token_bound_cidrs') ?? [];
  let numUses = int(body, 'num_uses') ?? role.secret_id_num_uses;
  if (numUses < 0) throw badRequest('num_uses cannot be negative');
  if (role.secret_id_num_uses > 0 && (numUses === 0 || numUses > role.secret_id_num_uses)) {
    if (body.num_uses !== undefined && numUses > role.secret_id_num_uses) throw badRequest("num_uses cannot be higher than the role's secret_id_num_uses");
    numUses = numUses || role.secret_id_num_uses;
  }
  let ttl = durationField(body, 'ttl') ?? 0;
  if (ttl < 0) throw badRequest('ttl cannot be negative');
  if (role.secret_id_ttl > 0) {
    if (ttl > role.secret_id_ttl) throw badRequest("ttl cannot be longer than the role's secret_id_ttl");
    if (ttl === 0) ttl = role.secret_id_ttl;
  }
  let metadata: Record<string, string> = {};
  const rawMeta = body.metadata;
  if (typeof rawMeta === 'string' && rawMeta !== '') {
    try {
      const parsed = JSON.parse(rawMeta);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      metadata = Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
    } catch {
      throw badRequest('failed to parse metadata: must be a JSON object of strings');
    }
  }
  const now = new Date();
  const entry: AppRoleSecretId = {
    role: role.name.toLowerCase(),
    accessor: randomUUID(),
    creation_time: now.toISOString(),
    expiration_time: ttl > 0 ? new Date(now.getTime() + ttl * 1000).toISOString() : ZERO_TIME,
    last_updated_time: now.toISOString(),
    metadata,
    cidr_list: cidrList,
    token_bound_cidrs: tokenCidrs,
    num_uses: numUses,
    ttl,
  };
  d.secretIds.set(hash, entry);
  core.touch(recordKey.appRoleSecretId(mount.uuid, hash));
  return {
    data: { secret_id: secretId, secret_id_accessor: entry.accessor, secret_id_num_uses: numUses, secret_id_ttl: ttl },
    warnings: ignoredWarning(body, SECRET_ID_FIELDS),
    // A wrapped secret_id names its accessor in wrap_info, as Vault does.
    wrappedAccessor: entry.accessor,
  };
}

function secretIdView(e: AppRoleSecretId): Record<string, unknown> {
  return {
    cidr_list: e.cidr_list,
    creation_time: e.creation_time,
    expiration_time: e.expiration_time,
    last_updated_time: e.last_updated_time,
    metadata: e.metadata,
    secret_id_accessor: e.accessor,
    secret_id_num_uses: e.num_uses,
    secret_id_ttl: e.ttl,
    token_bound_cidrs: e.token_bound_cidrs,
  };
}

function byAccessor(d: AppRoleData, role: AppRoleRole, accessor: string): [string, AppRoleSecretId] | undefined {
  for (const pair of d.secretIds) if (pair[1].accessor === accessor && pair[1].role === role.name.toLowerCase()) return pair;
  return undefined;
}

/** POST login {role_id, secret_id}: mints a token with the role's token settings. */
function login(core: Core, mount: MountEntry, d: AppRoleData, req: VaultRequest): Reply {
  const body = req.body;
  const roleId = str(body, 'role_id').trim();
  if (!roleId) throw badRequest('missing role_id');
  const role = [...d.roles.values()].find((r) => r.role_id === roleId);
  if (!role) throw badRequest(MSG_INVALID_CREDENTIALS);
  const remote = req.remoteAddress.startsWith('::ffff:') ? req.remoteAddress.slice(7) : req.remoteAddress;
  let metadata: Record<string, string> = {};
  let entry: AppRoleSecretId | undefined;
  if (role.bind_secret_id) {
    const secretId = str(body, 'secret_id').trim();
    if (!secretId) throw badRequest('missing secret_id');
    const hash = secretIdHash(core, mount, secretId);
    entry = d.secretIds.get(hash);
    if (!entry || entry.role !== role.name.toLowerCase()) throw badRequest(MSG_INVALID_CREDENTIALS);
    if (isExpired(entry)) {
      d.secretIds.delete(hash);
      core.touch(recordKey.appRoleSecretId(mount.uuid, hash));
      throw badRequest(MSG_INVALID_CREDENTIALS);
    }
    if (entry.num_uses > 0) {
      // The last use deletes the secret_id but this login still succeeds.
      if (entry.num_uses === 1) d.secretIds.delete(hash);
      else {
        entry.num_uses -= 1;
        entry.last_updated_time = new Date().toISOString();
      }
      core.touch(recordKey.appRoleSecretId(mount.uuid, hash));
      if (entry.cidr_list.length > 0 && !ipInCidrs(remote, entry.cidr_list)) {
        throw badRequest(`source address ${JSON.stringify(remote)} unauthorized by CIDR restrictions on the secret ID: %!w(<nil>)`);
      }
    } else if (entry.cidr_list.length > 0 && !ipInCidrs(remote, entry.cidr_list)) {
      throw badRequest(`source address ${JSON.stringify(remote)} unauthorized through CIDR restrictions on the secret ID`);
    }
    metadata = { ...entry.metadata };
  }
  if (role.secret_id_bound_cidrs.length > 0 && !ipInCidrs(remote, role.secret_id_bound_cidrs)) {
    throw badRequest(`source address ${JSON.stringify(remote)} unauthorized by CIDR restrictions on the role: %!w(<nil>)`);
  }
  metadata.role_name = role.name;
  const { defaultTtl, maxTtl: mountMax } = authMountTtls(mount);
  const maxTtl = role.token_max_ttl > 0 ? Math.min(role.token_max_ttl, mountMax) : mountMax;
  const creationTime = Math.floor(Date.now() / 1000);
  const r = calculateTtl({
    increment: 0,
    backendTtl: role.token_ttl || defaultTtl,
    period: role.token_period,
    explicitMaxTtl: role.token_explicit_max_ttl,
    backendMaxTtl: maxTtl,
    start: creationTime,
  });
  const batch = role.token_type === 'batch' || role.token_type === 'default-batch';
  const gen = core.tokens.generate(batch ? 'batch' : 'service');
  const policies = sanitizePolicies(role.token_policies, !role.token_no_default_policy);
  const boundCidrs = entry && entry.token_bound_cidrs.length > 0 ? entry.token_bound_cidrs : role.token_bound_cidrs;
  const te: TokenEntry = {
    hash: core.tokens.hash(gen.token),
    accessor: gen.accessor,
    policies,
    parent: '',
    meta: metadata,
    displayName: mount.path.replace(/\/$/, '').replace(/\//g, '-') === 'approle' ? 'approle' : `${mount.path.replace(/\/$/, '').replace(/\//g, '-')}`,
    numUses: role.token_num_uses,
    creationTime,
    ttl: r.ttl,
    explicitMaxTtl: role.token_explicit_max_ttl,
    period: role.token_period,
    expireAt: r.ttl > 0 ? Date.now() + r.ttl * 1000 : 0,
    lastRenewal: 0,
    renewable: !batch,
    path: `auth/${mount.path}login`,
    role: '',
    maxTtl,
    ...(boundCidrs.length > 0 ? { boundCidrs } : {}),
    ...(batch ? { type: 'batch' as const } : {}),
  };
  core.tokens.insert(te);
  return { auth: core.tokens.authBlock(te, gen.token, r.ttl), warnings: r.warnings, wrappedAccessor: batch ? undefined : te.accessor };
}

/** Whether an AppRole request path needs no token (login). */
export function approleIsUnauthenticated(rest: string): boolean {
  return rest === 'login';
}

/** Whether a write to this AppRole path updates something that exists (ACL create vs update). */
export function approleExists(core: Core, mount: MountEntry, rest: string): boolean {
  const m = /^role\/([^/]+)$/.exec(rest);
  if (!m) return true;
  return data(core, mount).roles.has(m[1].toLowerCase());
}

/** Handles a request below auth/<mount>/ for an approle mount; `rest` is the path inside the mount. */
export function handleApprole(core: Core, mount: MountEntry, req: VaultRequest, rest: string): Reply {
  const d = data(core, mount);
  const op = req.op;
  const reply = (r: Reply): Reply => ({ ...r, mountType: 'approle' });
  if (rest === 'login') {
    if (op !== 'write') throw unsupportedOperation();
    return reply(login(core, mount, d, req));
  }
  if (rest === 'role/' || rest === 'role') {
    if (op !== 'list') throw unsupportedOperation();
    const keys = [...d.roles.values()].map((r) => r.name).sort();
    if (keys.length === 0) throw notFound();
    return reply({ data: { keys } });
  }
  if (rest === 'tidy/secret-id') {
    if (op !== 'write') throw unsupportedOperation();
    tidy(core, mount.uuid, d);
    return reply({});
  }
  const m = /^role\/([^/]+)(?:\/(.+?))?\/?$/.exec(rest);
  if (!m) throw unsupportedPath();
  const name = m[1];
  const sub = m[2] ?? '';
  switch (sub) {
    case '': {
      if (op === 'read') {
        const role = d.roles.get(name.toLowerCase());
        if (!role) throw notFound();
        return reply({ data: roleData(role) });
      }
      if (op === 'delete') {
        const key = name.toLowerCase();
        if (d.roles.delete(key)) {
          core.touch(recordKey.appRoleRole(mount.uuid, key));
          for (const [h, e] of d.secretIds) {
            if (e.role === key) {
              d.secretIds.delete(h);
              core.touch(recordKey.appRoleSecretId(mount.uuid, h));
            }
          }
        }
        return reply({});
      }
      if (op === 'write') return reply(writeRole(core, mount.uuid, d, req, name));
      throw unsupportedOperation();
    }
    case 'role-id': {
      if (op === 'read') {
        const role = d.roles.get(name.toLowerCase());
        if (!role) throw notFound();
        return reply({ data: { role_id: role.role_id } });
      }
      if (op !== 'write') throw unsupportedOperation();
      const role = requireRole(d, name);
      const roleId = str(req.body, 'role_id');
      if (!roleId) throw badRequest('missing role_id');
      for (const other of d.roles.values()) if (other !== role && other.role_id === roleId) throw badRequest('role_id already in use');
      role.role_id = roleId;
      core.touch(recordKey.appRoleRole(mount.uuid, role.name.toLowerCase()));
      return reply({});
    }
    case 'secret-id':
    case 'custom-secret-id': {
      if (op === 'list' && sub === 'secret-id') {
        const role = requireRole(d, name);
        tidy(core, mount.uuid, d);
        const keys = [...d.secretIds.values()].filter((e) => e.role === role.name.toLowerCase()).map((e) => e.accessor).sort();
        if (keys.length === 0) throw notFound();
        return reply({ data: { keys } });
      }
      if (op !== 'write') throw unsupportedOperation();
      return reply(createSecretId(core, mount, d, req, name, sub === 'custom-secret-id'));
    }
    case 'secret-id/lookup':
    case 'secret-id/destroy': {
      if (op !== 'write' && !(op === 'delete' && sub === 'secret-id/destroy')) throw unsupportedOperation();
      const role = requireRole(d, name);
      const secretId = str(req.body, 'secret_id');
      if (!secretId) throw badRequest('missing secret_id');
      const hash = secretIdHash(core, mount, secretId);
      const entry = d.secretIds.get(hash);
      const mine = entry && entry.role === role.name.toLowerCase() && !isExpired(entry);
      if (sub === 'secret-id/destroy') {
        if (entry && entry.role === role.name.toLowerCase()) {
          d.secretIds.delete(hash);
          core.touch(recordKey.appRoleSecretId(mount.uuid, hash));
        }
        return reply({});
      }
      return reply(mine ? { data: secretIdView(entry) } : {});
    }
    case 'secret-id-accessor/lookup':
    case 'secret-id-accessor/destroy': {
      if (op !== 'write' && !(op === 'delete' && sub === 'secret-id-accessor/destroy')) throw unsupportedOperation();
      const role = requireRole(d, name);
      const accessor = str(req.body, 'secret_id_accessor');
      if (!accessor) throw badRequest('missing secret_id_accessor');
      const found = byAccessor(d, role, accessor);
      if (!found || isExpired(found[1])) {
        throw new VaultHttpError(404, [`failed to find accessor entry for secret_id_accessor: ${JSON.stringify(accessor)}`]);
      }
      if (sub === 'secret-id-accessor/destroy') {
        d.secretIds.delete(found[0]);
        core.touch(recordKey.appRoleSecretId(mount.uuid, found[0]));
        return reply({});
      }
      return reply({ data: secretIdView(found[1]) });
    }
    default:
      throw unsupportedPath();
  }
}
