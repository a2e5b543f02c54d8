import { randomUUID } from 'node:crypto';
import { badRequest, str, type Reply, type VaultRequest } from './envelope.js';
import type { Core } from './core.js';
import { mountAccessor, type MountEntry } from './state.js';
import { assertPathFree, disableMount, mountPathOf, mountView, SYSTEM_LEASE_TTL, tuneCommon, tuneTtl, tuneView, viewsByPath } from './sys-mounts.js';
import { appRoleRecordKeys, recordKey } from './records.js';

/**
 * sys/auth: the auth methods (list, read, enable, disable, tune). The token method is built in
 * and always at token/; AppRole can be enabled at any other path.
 */

/** Auth method types the store can enable. */
export const AUTH_TYPES = ['approle'];

function tokenMount(core: Core): MountEntry {
  return {
    path: 'token/',
    type: 'token',
    description: 'token based credentials',
    accessor: `auth_token_${core.state.clusterId.slice(0, 8)}`,
    uuid: core.state.clusterId,
    options: null,
    config: { default_lease_ttl: 0, max_lease_ttl: 0, force_no_cache: false },
    local: false,
    seal_wrap: false,
    external_entropy_access: false,
    builtin: true,
  };
}

/** The JSON view of an auth mount, as sys/auth shows it. */
export function authMountView(m: MountEntry): Record<string, unknown> {
  const view = mountView(m);
  delete view.deprecation_status;
  return { ...view, config: { ...m.config, token_type: 'default-service' }, running_plugin_version: 'v1.17.0+builtin.vault' };
}

/** The auth mount a request path (below auth/) belongs to, or undefined. */
export function matchAuthMount(core: Core, rest: string): MountEntry | undefined {
  for (const m of core.state.authMounts.values()) if (rest.startsWith(m.path) || rest + '/' === m.path) return m;
  return undefined;
}

/** GET sys/auth: every auth method. */
export function listAuth(core: Core): Reply {
  return { data: { 'token/': authMountView(tokenMount(core)), ...viewsByPath(core.state.authMounts.values(), authMountView) }, topLevel: true };
}

/** sys/auth/<path>: GET one, POST enable, DELETE disable (nothing there is fine, as in Vault). */
export function authOne(core: Core, req: VaultRequest, rawPath: string): Reply {
  const path = mountPathOf(rawPath, 'missing auth path');
  const existing = core.state.authMounts.get(path);
  if (req.op === 'read') {
    const m = path === 'token/' ? tokenMount(core) : existing;
    if (!m) throw badRequest(`No auth engine at ${path}`);
    return { data: authMountView(m), topLevel: true };
  }
  if (req.op === 'delete') {
    if (path === 'token/') throw badRequest('token credential backend cannot be disabled');
    if (!existing) return {};
    const d = core.state.approle.get(existing.uuid);
    disableMount(core, core.state.authMounts, existing, recordKey.authMount(path), d ? appRoleRecordKeys(existing.uuid, d) : [], () => core.state.approle.delete(existing.uuid));
    return {};
  }
  const type = str(req.body, 'type');
  if (!type) throw badRequest('backend type must be specified as a string');
  if (type === 'token') throw badRequest('token credential backend cannot be instantiated');
  if (!AUTH_TYPES.includes(type)) throw badRequest(`plugin not found in the catalog: ${type}`);
  if (path === 'token/') throw badRequest(`path is already in use at auth/${path}`);
  assertPathFree(core.state.authMounts.values(), path, 'auth/');
  const rawConfig = req.body.config;
  const config = rawConfig && typeof rawConfig === 'object' && !Array.isArray(rawConfig) ? (rawConfig as Record<string, unknown>) : {};
  const def = tuneTtl(config, 'default_lease_ttl', 0);
  const max = tuneTtl(config, 'max_lease_ttl', 0);
  if (def && max && max < def) throw badRequest(`backend max lease TTL of ${max} would be less than backend default lease TTL of ${def}`);
  const entry: MountEntry = {
    path,
    type,
    description: str(req.body, 'description'),
    accessor: mountAccessor(`auth_${type}`),
    uuid: randomUUID(),
    options: {},
    config: { default_lease_ttl: def, max_lease_ttl: max, force_no_cache: false },
    local: req.body.local === true,
    seal_wrap: req.body.seal_wrap === true,
    external_entropy_access: false,
  };
  core.state.authMounts.set(path, entry);
  core.state.approle.set(entry.uuid, { roles: new Map(), secretIds: new Map() });
  core.touch(recordKey.authMount(path));
  return {};
}

/** sys/auth/<path>/tune: read, or change description and lease TTLs. */
export function tuneAuth(core: Core, req: VaultRequest, rawPath: string): Reply {
  const path = mountPathOf(rawPath, 'missing auth path');
  const m = path === 'token/' ? undefined : core.state.authMounts.get(path);
  if (!m) {
    if (path === 'token/' && req.op === 'read') return { data: { ...tuneView(tokenMount(core)), token_type: 'default-service' }, topLevel: true };
    throw badRequest(`cannot fetch sysview for path ${JSON.stringify('auth/' + path)}`);
  }
  if (req.op === 'read') return { data: { ...tuneView(m), token_type: 'default-service' }, topLevel: true };
  tuneCommon(core, req, m);
  return {};
}

/** The lease TTLs a token minted by an auth mount gets by default (mount's, else the system's). */
export function authMountTtls(m: MountEntry): { defaultTtl: number; maxTtl: number } {
  return { defaultTtl: m.config.default_lease_ttl || SYSTEM_LEASE_TTL, maxTtl: m.config.max_lease_ttl || SYSTEM_LEASE_TTL };
}
