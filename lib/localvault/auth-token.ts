import { parseDurationSeconds, formatDuration } from '../duration.js';
import { badRequest, bool, int, notFound, str, strList, unsupportedOperation, unsupportedPath, VaultHttpError, type Reply, type VaultRequest } from './envelope.js';
import type { Core } from './core.js';
import { recordKey } from './records.js';
import type { TokenEntry, TokenRole } from './state.js';
import { NON_ASSIGNABLE_POLICIES, sanitizePolicies, SYSTEM_DEFAULT_TTL, SYSTEM_MAX_TTL } from './tokens.js';

/**
 * The token auth method (auth/token/...): create (plain, orphan, against a role), lookups,
 * renewals, revocations and roles, following Vault's token store rules.
 */

const displayNameSanitize = /[^a-zA-Z0-9-]/g;
const ROLE_NAME = /^\w(?:[\w.-]*\w)?$/;

function duration(body: Record<string, unknown>, key: string): number {
  const v = body[key];
  if (v === undefined || v === null || v === '') return 0;
  try {
    return parseDurationSeconds(v);
  } catch (err) {
    throw badRequest((err as Error).message);
  }
}

function isSudo(req: VaultRequest): boolean {
  return !!req.acl && (req.acl.root || req.acl.capabilities(req.path).has('sudo'));
}

function globMatch(globs: string[], value: string): boolean {
  return globs.some((g) => new RegExp('^' + g.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$').test(value));
}

/**
 * Vault's framework.CalculateTTL: the TTL for a token created or renewed now, capped by the explicit
 * max TTL and the system max counted from `start` (unix seconds).
 */
export function calculateTtl(opts: { increment: number; backendTtl: number; period: number; explicitMaxTtl: number; start: number; now?: number; backendMaxTtl?: number }): { ttl: number; warnings: string[] } {
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const warnings: string[] = [];
  let maxTtl = SYSTEM_MAX_TTL;
  if (opts.backendMaxTtl && opts.backendMaxTtl > 0 && opts.backendMaxTtl < maxTtl) maxTtl = opts.backendMaxTtl;
  if (opts.explicitMaxTtl > 0 && opts.explicitMaxTtl < maxTtl) maxTtl = opts.explicitMaxTtl;
  let ttl: number;
  let maxValid: number | undefined;
  if (opts.period > 0) {
    let period = opts.period;
    if (period > maxTtl) {
      warnings.push(`period of ${JSON.stringify(formatDuration(period))} exceeded the effective max_ttl of ${JSON.stringify(formatDuration(maxTtl))}; period value is capped accordingly`);
      period = maxTtl;
    }
    ttl = period;
    if (opts.explicitMaxTtl > 0) maxValid = opts.start + opts.explicitMaxTtl;
  } else {
    ttl = opts.increment > 0 ? opts.increment : opts.backendTtl > 0 ? opts.backendTtl : SYSTEM_DEFAULT_TTL;
    maxValid = opts.start + maxTtl;
  }
  if (maxValid !== undefined) {
    const maxValidTtl = maxValid - now;
    if (maxValidTtl <= 0) throw badRequest('past the max TTL, cannot renew');
    if (maxValidTtl < ttl) {
      warnings.push(`TTL of ${JSON.stringify(formatDuration(ttl))} exceeded the effective max_ttl of ${JSON.stringify(formatDuration(maxValidTtl))}; TTL value is capped accordingly`);
      ttl = maxValidTtl;
    }
  }
  return { ttl, warnings };
}

/** The token type and renewability asked for (body `type`, overridden by a role's token_type). */
function resolveTokenType(body: Record<string, unknown>, role: TokenRole | undefined): { tokenType: 'service' | 'batch'; renewable: boolean } {
  let typeStr = str(body, 'type');
  if (role) {
    if (role.token_type === 'service' || role.token_type === 'batch') typeStr = role.token_type;
    else if (role.token_type === 'default-batch' && typeStr === '') typeStr = 'batch';
  }
  const renewable = bool(body, 'renewable') ?? true;
  if (typeStr === 'batch') {
    let bad = '';
    if (duration(body, 'explicit_max_ttl') !== 0) bad = 'explicit_max_ttl';
    else if ((int(body, 'num_uses') ?? 0) !== 0) bad = 'num_uses';
    else if (duration(body, 'period') !== 0) bad = 'period';
    if (bad) throw badRequest(`batch tokens cannot have ${JSON.stringify(bad)} set`);
    return { tokenType: 'batch', renewable: false };
  }
  if (typeStr !== '' && typeStr !== 'service') throw badRequest(`invalid 'token_type' value`);
  return { tokenType: 'service', renewable };
}

/** num_uses, renewability and the creation path, as the role bounds them. */
function applyRoleLimits(req: VaultRequest, role: TokenRole | undefined, renewableIn: boolean): { numUses: number; renewable: boolean; path: string } {
  const body = req.body;
  const numUsesIn = int(body, 'num_uses') ?? 0;
  if (numUsesIn < 0) throw badRequest('number of uses cannot be negative');
  if (str(body, 'entity_alias')) {
    if (!role) throw badRequest(`'entity_alias' is only allowed in combination with token role`);
    throw badRequest(`invalid 'entity_alias' value`);
  }
  let numUses = numUsesIn;
  let renewable = renewableIn;
  let path = `auth/token/${req.path.slice('auth/token/'.length)}`;
  if (role) {
    if (renewable && !role.renewable) renewable = false;
    if (role.token_num_uses > 0 && (numUses === 0 || role.token_num_uses < numUses)) numUses = role.token_num_uses;
    if (role.path_suffix) path = `${path}/${role.path_suffix}`;
  }
  return { numUses, renewable, path };
}

function displayNameOf(body: Record<string, unknown>): string {
  const dn = str(body, 'display_name');
  return dn ? ('token-' + dn).replace(displayNameSanitize, '-').replace(/-$/, '') : 'token';
}

/** A caller-chosen token id (sudo only, no period), or '' for a generated one. */
function customId(body: Record<string, unknown>, sudo: boolean): string {
  const id = str(body, 'id');
  if (id) {
    if (!sudo) throw badRequest('root or sudo privileges required to specify token id');
    if (id.includes('.')) throw badRequest('token IDs can not contain a period');
  }
  return id;
}

/** The policies a role allows, checked against what was asked for (Vault's role policy rules). */
function rolePolicies(role: TokenRole, requested: string[], parent: TokenEntry, noDefault: boolean): string[] {
  const localAddDefault = !noDefault && !role.token_no_default_policy && !role.disallowed_policies.includes('default') && !globMatch(role.disallowed_policies_glob, 'default');
  let final = requested.length > 0 ? sanitizePolicies(requested, localAddDefault) : [];
  if (role.allowed_policies.length > 0 || role.allowed_policies_glob.length > 0) {
    const allowed = sanitizePolicies(role.allowed_policies, localAddDefault);
    if (final.length === 0) final = allowed;
    else {
      const globs = sanitizePolicies(role.allowed_policies_glob, false);
      for (const p of final) {
        if (!allowed.includes(p) && !globMatch(globs, p)) {
          throw badRequest(`token policies (${goList(final)}) must be subset of the role's allowed policies (${goList(allowed)}) or glob policies (${goList(globs)})`);
        }
      }
    }
  } else if (final.length === 0) {
    final = sanitizePolicies(parent.policies, localAddDefault);
  }
  for (const p of final) {
    if (role.disallowed_policies.includes(p) || globMatch(role.disallowed_policies_glob, p)) throw badRequest(`token policy ${JSON.stringify(p)} is disallowed by this role`);
  }
  return final;
}

/** The new token's policies: from the body, the role or the parent, bounded by the parent unless sudo. */
function resolvePolicies(body: Record<string, unknown>, parent: TokenEntry, role: TokenRole | undefined, sudo: boolean, tokenType: 'service' | 'batch'): string[] {
  const noDefault = bool(body, 'no_default_policy') ?? false;
  let requested = strList(body, 'policies') ?? [];
  let addDefault = false;
  const roleRestricts = role && (role.allowed_policies.length > 0 || role.disallowed_policies.length > 0 || role.allowed_policies_glob.length > 0 || role.disallowed_policies_glob.length > 0);
  if (role && roleRestricts) {
    requested = rolePolicies(role, requested, parent, noDefault);
  } else if (requested.length === 0) {
    requested = sanitizePolicies(parent.policies, false);
  } else if (!sudo) {
    const input = sanitizePolicies(requested, false);
    const parentPolicies = sanitizePolicies(parent.policies, false);
    if (!input.every((p) => parentPolicies.includes(p))) throw badRequest('child policies must be subset of parent');
    if (!noDefault && parent.policies.includes('default')) addDefault = true;
  } else {
    addDefault = !noDefault;
  }
  let policies = sanitizePolicies(requested, addDefault);
  // Only the request's no_default_policy strips an explicitly asked-for `default` (token_store.go):
  // a role's token_no_default_policy only stops adding it, and only in a role that restricts policies.
  if (noDefault) policies = policies.filter((p) => p !== 'default');
  for (const p of policies) if (NON_ASSIGNABLE_POLICIES.includes(p)) throw badRequest(`cannot assign policy ${JSON.stringify(p)}`);
  if (policies.includes('root') && !parent.policies.includes('root')) throw badRequest('root tokens may not be created without parent token being root');
  if (policies.includes('root') && tokenType === 'batch') throw badRequest('batch tokens cannot be root tokens');
  return policies;
}

/** The parent's accessor, or '' for an orphan (create-orphan, no_parent with sudo, an orphan role). */
function resolveParent(body: Record<string, unknown>, parent: TokenEntry, role: TokenRole | undefined, orphan: boolean, sudo: boolean): string {
  if (role) return role.orphan ? '' : parent.accessor;
  if (bool(body, 'no_parent')) {
    if (!sudo) throw badRequest('root or sudo privileges required to create orphan token');
    return '';
  }
  return orphan ? '' : parent.accessor;
}

interface TokenLifetime {
  ttl: number;
  /** As stored in the entry: the body's explicit max TTL, else the role's. */
  explicitMaxTtl: number;
  period: number;
  renewable: boolean;
}

/** TTL, explicit max TTL and period from the body and the role, capped as Vault caps them. */
function resolveLifetime(body: Record<string, unknown>, parent: TokenEntry, role: TokenRole | undefined, policies: string[], sudo: boolean, renewableIn: boolean, creationTime: number, warnings: string[], batch = false): TokenLifetime {
  let explicitMaxTtl = duration(body, 'explicit_max_ttl');
  if (explicitMaxTtl < 0) throw badRequest('explicit_max_ttl must be positive');
  let period = duration(body, 'period');
  if (period < 0) throw badRequest('period must be positive');
  if (period > 0 && !sudo) throw badRequest('root or sudo privileges required to create periodic token');
  let ttl = duration(body, 'ttl') || duration(body, 'lease');
  if (ttl < 0) throw badRequest('ttl must be positive');
  const bodyExplicitMax = explicitMaxTtl;
  // A batch token takes neither the role's period nor its explicit max TTL (token_store.go).
  if (role && !batch) {
    if (role.token_explicit_max_ttl) {
      if (explicitMaxTtl === 0) explicitMaxTtl = role.token_explicit_max_ttl;
      else {
        explicitMaxTtl = Math.min(explicitMaxTtl, role.token_explicit_max_ttl);
        warnings.push(`Explicit max TTL specified both during creation call and in role; using the lesser value of ${explicitMaxTtl} seconds`);
      }
    }
    if (role.token_period) {
      if (period === 0) period = role.token_period;
      else {
        period = Math.min(period, role.token_period);
        warnings.push(`Period specified both during creation call and in role; using the lesser value of ${period} seconds`);
      }
    }
  }
  if (period > 0 || ttl > 0 || !policies.includes('root')) {
    const r = calculateTtl({ increment: 0, backendTtl: ttl, period, explicitMaxTtl, start: creationTime });
    warnings.push(...r.warnings);
    ttl = r.ttl;
  }
  if (ttl === 0 && explicitMaxTtl > 0) ttl = explicitMaxTtl;
  let renewable = renewableIn;
  if (ttl === 0) {
    if (parent.ttl !== 0) throw badRequest('expiring root tokens cannot create non-expiring root tokens');
    renewable = false;
  }
  return { ttl, explicitMaxTtl: bodyExplicitMax || explicitMaxTtl, period, renewable };
}

/** The token's metadata (`meta`, or its alias `metadata`): a map of strings, or null. */
function readMeta(body: Record<string, unknown>): Record<string, string> | null {
  const metaRaw = body.meta ?? body.metadata;
  if (metaRaw === undefined || metaRaw === null) return null;
  if (typeof metaRaw !== 'object' || Array.isArray(metaRaw)) throw badRequest(`Error decoding request: 'meta' expected a map, got '${Array.isArray(metaRaw) ? 'slice' : typeof metaRaw}'`);
  const meta: Record<string, string> = {};
  for (const [k, v] of Object.entries(metaRaw)) Object.defineProperty(meta, k, { value: String(v), enumerable: true, writable: true, configurable: true });
  return meta;
}

/** auth/token/create, create-orphan and create/<role>: checks every field, then stores the new token. */
function createToken(core: Core, req: VaultRequest, orphan: boolean, role: TokenRole | undefined): Reply {
  const parent = req.te!;
  const body = req.body;
  if (parent.type === 'batch') throw badRequest('batch tokens cannot create more tokens');
  if (parent.numUses > 0 || req.revokeAfter === parent) throw badRequest('restricted use token cannot generate child tokens');
  const sudo = isSudo(req);
  const warnings: string[] = [];
  const { tokenType, renewable: asked } = resolveTokenType(body, role);
  const limits = applyRoleLimits(req, role, asked);
  const displayName = displayNameOf(body);
  const id = customId(body, sudo);
  const policies = resolvePolicies(body, parent, role, sudo, tokenType);
  const parentAccessor = resolveParent(body, parent, role, orphan, sudo);
  const creationTime = Math.floor(Date.now() / 1000);
  const lifetime = resolveLifetime(body, parent, role, policies, sudo, limits.renewable, creationTime, warnings, tokenType === 'batch');
  const meta = readMeta(body);

  const gen = core.tokens.generate(tokenType);
  const token = id || gen.token;
  const hash = core.tokens.hash(token);
  if (core.state.tokens.has(hash)) throw badRequest('cannot create a token with a duplicate ID');
  if (id) warnings.push('Supplying a custom ID for the token uses the weaker SHA1 hashing instead of the more secure SHA2-256 HMAC for token obfuscation. SHA1 hashed tokens on the wire leads to less secure lookups.');
  const entry: TokenEntry = {
    hash,
    accessor: gen.accessor,
    policies,
    parent: parentAccessor,
    meta,
    displayName,
    numUses: limits.numUses,
    creationTime,
    ttl: lifetime.ttl,
    explicitMaxTtl: lifetime.explicitMaxTtl,
    period: lifetime.period,
    expireAt: lifetime.ttl > 0 ? Date.now() + lifetime.ttl * 1000 : 0,
    lastRenewal: 0,
    renewable: lifetime.renewable,
    path: limits.path,
    role: role?.name ?? '',
    ...(tokenType === 'batch' ? { type: 'batch' as const } : {}),
  };
  core.tokens.insert(entry);
  for (const p of policies) {
    if (p !== 'root' && p !== 'default' && !core.state.policies.has(p)) warnings.push(`Policy ${JSON.stringify(p)} does not exist`);
  }
  return { auth: core.tokens.authBlock(entry, token, lifetime.ttl), warnings, wrappedAccessor: tokenType === 'batch' ? undefined : entry.accessor };
}

function goList(items: string[]): string {
  return `[${items.map((s) => JSON.stringify(s)).join(' ')}]`;
}

function lookupReply(core: Core, te: TokenEntry | undefined, id: string): Reply {
  if (!te) throw new VaultHttpError(403, ['bad token']);
  return { data: core.tokens.lookupData(te, id) };
}

function renewReply(core: Core, te: TokenEntry, token: string, body: Record<string, unknown>): Reply {
  if (te.type === 'batch') throw badRequest('batch tokens cannot be renewed');
  const increment = duration(body, 'increment');
  if (!te.renewable || !te.expireAt) throw badRequest('lease is not renewable');
  const r = calculateTtl({ increment, backendTtl: te.ttl, period: te.period, explicitMaxTtl: te.explicitMaxTtl, start: te.creationTime, backendMaxTtl: te.maxTtl });
  const nowMs = Date.now();
  te.expireAt = nowMs + r.ttl * 1000;
  te.lastRenewal = nowMs;
  core.tokens.changed(te);
  return { auth: core.tokens.authBlock(te, token, r.ttl), warnings: r.warnings };
}

function readRole(body: Record<string, unknown>, existing: TokenRole | undefined, name: string, warnings: string[]): TokenRole {
  const role: TokenRole = existing
    ? { ...existing }
    : {
        name,
        allowed_policies: [],
        disallowed_policies: [],
        allowed_policies_glob: [],
        disallowed_policies_glob: [],
        orphan: false,
        renewable: true,
        path_suffix: '',
        token_explicit_max_ttl: 0,
        token_period: 0,
        token_no_default_policy: false,
        token_num_uses: 0,
        token_type: 'default-service',
        allowed_entity_aliases: [],
      };
  const orphan = bool(body, 'orphan');
  if (orphan !== undefined) role.orphan = orphan;
  const renewable = bool(body, 'renewable');
  if (renewable !== undefined) role.renewable = renewable;
  if (body.path_suffix !== undefined) {
    const suffix = str(body, 'path_suffix');
    if (suffix.includes('..')) throw badRequest('error registering path suffix: path cannot contain parent references');
    if (suffix && !/\w[\w-.]+\w/.test(suffix)) throw badRequest('given role path suffix contains invalid characters; must match \\w[\\w-.]+\\w');
    role.path_suffix = suffix;
  }
  const allowedPolicies = strList(body, 'allowed_policies');
  if (allowedPolicies) role.allowed_policies = sanitizePolicies(allowedPolicies, false);
  const disallowedPolicies = strList(body, 'disallowed_policies');
  if (disallowedPolicies) role.disallowed_policies = [...new Set(disallowedPolicies.map((p) => p.toLowerCase()))];
  const allowedGlobs = strList(body, 'allowed_policies_glob');
  if (allowedGlobs) role.allowed_policies_glob = sanitizePolicies(allowedGlobs, false);
  const disallowedGlobs = strList(body, 'disallowed_policies_glob');
  if (disallowedGlobs) role.disallowed_policies_glob = [...new Set(disallowedGlobs.map((p) => p.toLowerCase()))];
  const entityAliases = strList(body, 'allowed_entity_aliases');
  if (entityAliases) role.allowed_entity_aliases = [...new Set(entityAliases.map((p) => p.toLowerCase()))];
  const explicitMax = body.token_explicit_max_ttl ?? body.explicit_max_ttl;
  if (body.token_explicit_max_ttl !== undefined && body.explicit_max_ttl !== undefined) {
    warnings.push(`Both 'token_explicit_max_ttl' and deprecated 'explicit_max_ttl' value supplied, ignoring the deprecated value`);
  }
  if (explicitMax !== undefined) role.token_explicit_max_ttl = duration({ v: explicitMax }, 'v');
  const period = body.token_period ?? body.period;
  if (body.token_period !== undefined && body.period !== undefined) {
    warnings.push(`Both 'token_period' and deprecated 'period' value supplied, ignoring the deprecated value`);
  }
  if (period !== undefined) role.token_period = duration({ v: period }, 'v');
  const noDefaultPolicy = bool(body, 'token_no_default_policy');
  if (noDefaultPolicy !== undefined) role.token_no_default_policy = noDefaultPolicy;
  const numUses = int(body, 'token_num_uses');
  if (numUses !== undefined) {
    if (numUses < 0) throw badRequest('error parsing role fields: token_num_uses cannot be negative');
    role.token_num_uses = numUses;
  }
  if (body.token_type !== undefined) {
    const t = str(body, 'token_type');
    if (!['service', 'batch', 'default-service', 'default-batch', 'default'].includes(t)) throw badRequest(`invalid 'token_type' value ${JSON.stringify(t)}`);
    role.token_type = t === 'default' ? 'default-service' : t;
  }
  if (role.token_type === 'batch') {
    if (!role.orphan) throw badRequest(`'token_type' cannot be 'batch' when role is set to generate non-orphan tokens`);
    if (role.token_period) throw badRequest(`'token_type' cannot be 'batch' when role is set to generate periodic tokens`);
    if (role.renewable) throw badRequest(`'token_type' cannot be 'batch' when role is set to generate renewable tokens`);
    if (role.token_explicit_max_ttl) throw badRequest(`'token_type' cannot be 'batch' when role is set to generate tokens with an explicit max TTL`);
  }
  if (role.token_explicit_max_ttl > SYSTEM_MAX_TTL) {
    warnings.push(
      `Given explicit max TTL of ${role.token_explicit_max_ttl} is greater than system/mount allowed value of ${SYSTEM_MAX_TTL} seconds; until this is fixed attempting to create tokens against this role will result in an error`,
    );
  }
  return role;
}

function roleData(role: TokenRole): Record<string, unknown> {
  const data: Record<string, unknown> = {
    allowed_entity_aliases: role.allowed_entity_aliases.length > 0 ? role.allowed_entity_aliases : null,
    allowed_policies: role.allowed_policies,
    allowed_policies_glob: role.allowed_policies_glob,
    disallowed_policies: role.disallowed_policies,
    disallowed_policies_glob: role.disallowed_policies_glob,
    explicit_max_ttl: role.token_explicit_max_ttl,
    name: role.name,
    orphan: role.orphan,
    path_suffix: role.path_suffix,
    period: role.token_period,
    renewable: role.renewable,
    token_explicit_max_ttl: role.token_explicit_max_ttl,
    token_no_default_policy: role.token_no_default_policy,
    token_period: role.token_period,
    token_type: role.token_type,
  };
  if (role.token_num_uses > 0) data.token_num_uses = role.token_num_uses;
  return data;
}

/** Whether a role exists (create vs update for auth/token/roles/<name>). */
export function roleExists(core: Core, name: string): boolean {
  return core.state.roles.has(name);
}

type TokenHandler = (core: Core, req: VaultRequest) => Reply;

function writeOnly(handler: TokenHandler): TokenHandler {
  return (core, req) => {
    if (req.op !== 'write') throw unsupportedOperation();
    return handler(core, req);
  };
}

function readOrWrite(handler: TokenHandler): TokenHandler {
  return (core, req) => {
    if (req.op !== 'read' && req.op !== 'write') throw unsupportedOperation();
    return handler(core, req);
  };
}

/** The token named in the body (`token`), or a 400 "missing token ID". */
function bodyToken(req: VaultRequest): string {
  const token = str(req.body, 'token');
  if (!token) throw badRequest('missing token ID');
  return token;
}

/** The accessor named in the body (`accessor`), or a 400 "missing accessor". */
function bodyAccessor(req: VaultRequest): string {
  const accessor = str(req.body, 'accessor');
  if (!accessor) throw badRequest('missing accessor');
  return accessor;
}

function revokeTree(core: Core, target: TokenEntry): Reply {
  core.tokens.revokeTree(target);
  return {};
}

/** The fixed paths under auth/token/ (create/<role> and roles/<name> are matched after them). */
const TOKEN_PATHS: Record<string, TokenHandler> = {
  create: writeOnly((core, req) => createToken(core, req, false, undefined)),
  'create-orphan': writeOnly((core, req) => createToken(core, req, true, undefined)),
  'lookup-self': readOrWrite((core, req) => lookupReply(core, req.te, req.token)),
  lookup: readOrWrite((core, req) => {
    const token = str(req.body, 'token') || req.token;
    if (!token) throw badRequest('missing token ID');
    return lookupReply(core, core.tokens.lookup(token), token);
  }),
  'lookup-accessor': writeOnly((core, req) => {
    const target = core.tokens.lookupAccessor(bodyAccessor(req));
    if (!target || target.type === 'batch') throw badRequest('invalid accessor');
    return lookupReply(core, target, '');
  }),
  'renew-self': writeOnly((core, req) => renewReply(core, req.te!, req.token, req.body)),
  renew: writeOnly((core, req) => {
    const token = bodyToken(req);
    const target = core.tokens.lookup(token);
    if (!target) throw badRequest('token not found');
    return renewReply(core, target, token, req.body);
  }),
  'renew-accessor': writeOnly((core, req) => {
    const target = core.tokens.lookupAccessor(bodyAccessor(req));
    if (!target) throw badRequest('invalid accessor');
    return renewReply(core, target, '', req.body);
  }),
  'revoke-self': writeOnly((core, req) => {
    const caller = req.te!;
    if (caller.type === 'batch') throw badRequest('batch tokens cannot be revoked');
    return revokeTree(core, caller);
  }),
  revoke: writeOnly((core, req) => {
    const target = core.tokens.lookup(bodyToken(req));
    if (!target) return {};
    if (target.type === 'batch') throw badRequest('batch tokens cannot be revoked');
    return revokeTree(core, target);
  }),
  'revoke-accessor': writeOnly((core, req) => {
    const target = core.tokens.lookupAccessor(bodyAccessor(req));
    if (!target) return { warnings: ['No token found with this accessor'] };
    return revokeTree(core, target);
  }),
  'revoke-orphan': writeOnly((core, req) => {
    const token = bodyToken(req);
    if (!isSudo(req)) throw badRequest('root or sudo privileges required to revoke and orphan');
    const target = core.tokens.lookup(token);
    if (!target) throw badRequest('token to revoke not found');
    if (target.type === 'batch') throw badRequest('batch tokens cannot be revoked');
    core.tokens.revokeOrphan(target);
    return {};
  }),
  'accessors/': (core, req) => {
    if (req.op !== 'list') throw unsupportedOperation();
    return { data: { keys: core.tokens.accessors() } };
  },
  roles: listRoles,
  'roles/': listRoles,
};

function listRoles(core: Core, req: VaultRequest): Reply {
  if (req.op !== 'list') throw unsupportedOperation();
  if (core.state.roles.size === 0) throw notFound();
  return { data: { keys: [...core.state.roles.keys()].sort() } };
}

/** auth/token/roles/<name>: read, write (create or update), delete. */
function handleRole(core: Core, req: VaultRequest, name: string): Reply {
  switch (req.op) {
    case 'read': {
      const role = core.state.roles.get(name);
      if (!role) throw notFound();
      return { data: roleData(role) };
    }
    case 'write': {
      const warnings: string[] = [];
      const role = readRole(req.body, core.state.roles.get(name), name, warnings);
      core.state.roles.set(name, role);
      core.touch(recordKey.role(name));
      return warnings.length > 0 ? { warnings } : {};
    }
    case 'delete':
      if (core.state.roles.delete(name)) core.touch(recordKey.role(name));
      return {};
    default:
      throw unsupportedOperation();
  }
}

/** Routes auth/token/<rest>. */
export function handleTokenPath(core: Core, req: VaultRequest, rest: string): Reply {
  if (Object.prototype.hasOwnProperty.call(TOKEN_PATHS, rest)) return TOKEN_PATHS[rest](core, req);
  const create = /^create\/(.+)$/.exec(rest);
  if (create) {
    if (req.op !== 'write') throw unsupportedOperation();
    const name = create[1];
    if (!ROLE_NAME.test(name)) throw unsupportedPath();
    const role = core.state.roles.get(name);
    if (!role) throw badRequest(`unknown role ${name}`);
    return createToken(core, req, false, role);
  }
  const role = /^roles\/(.+)$/.exec(rest);
  if (role) {
    if (!ROLE_NAME.test(role[1])) throw unsupportedPath();
    return handleRole(core, req, role[1]);
  }
  throw unsupportedPath();
}
