import { parsePolicy, PolicyParseError } from './acl.js';
import { badRequest, notFound, str, type Reply, type VaultRequest } from './envelope.js';
import type { Core } from './core.js';
import type { TokenEntry } from './state.js';

/**
 * ACL policy management (sys/policy legacy API and sys/policies/acl) and capability queries
 * (sys/capabilities, sys/capabilities-self, sys/capabilities-accessor).
 */

/** Policy names as Vault lists them: the stored ones in order, then the built-in `root`. */
function policyNames(core: Core): string[] {
  return [...[...core.state.policies.keys()].sort(), 'root'];
}

/**
 * Vault decodes the policy text when it is valid standard base64 (Go's base64.StdEncoding, which
 * skips CR and LF), and uses it as is otherwise.
 */
export function maybeBase64(text: string): string {
  const t = text.replace(/[\r\n]/g, '');
  if (t.length === 0 || t.length % 4 !== 0 || !/^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$/.test(t)) return text;
  return Buffer.from(t, 'base64').toString('utf8');
}

/** The policy name from the path, lower-cased (with Vault's warning when that changed it). */
function policyName(raw: string, warnings: string[]): string {
  const name = raw.trim().toLowerCase();
  if (!name) throw badRequest('policy name must be provided in the URL');
  if (name !== raw) warnings.push(`policy name was converted to ${name}`);
  return name;
}

function writePolicy(core: Core, req: VaultRequest, rawName: string, legacy: boolean): Reply {
  const warnings: string[] = [];
  const name = policyName(rawName, warnings);
  let text = str(req.body, 'policy');
  if (!text && legacy && req.body.rules !== undefined) {
    text = str(req.body, 'rules');
    warnings.push(`'rules' is deprecated, please use 'policy' instead`);
  }
  // Only an empty text is refused here: whitespace parses (as a policy with no paths), as in Vault.
  if (!text) throw badRequest(`'policy' parameter not supplied or empty`);
  text = maybeBase64(text);
  let parsed;
  try {
    parsed = parsePolicy(name, text);
  } catch (err) {
    if (err instanceof PolicyParseError) throw badRequest(`failed to parse policy: ${err.message}`);
    throw err;
  }
  // Vault's policy store refuses these names after parsing (SetPolicy).
  if (name === 'root') throw badRequest('cannot update root policy');
  if (name === 'response-wrapping' || name === 'control-group') throw badRequest(`cannot update ${name} policy`);
  core.setPolicy(name, text, parsed);
  return warnings.length > 0 ? { warnings } : {};
}

function deletePolicy(core: Core, rawName: string): Reply {
  const name = rawName.trim().toLowerCase();
  if (name === 'root') throw badRequest('cannot delete root policy');
  if (name === 'default') throw badRequest('cannot delete default policy');
  if (core.state.policies.has(name)) core.deletePolicy(name);
  return {};
}

/** sys/policy (list) and sys/policy/<name> (read, write, delete): the legacy API. */
export function sysPolicy(core: Core, req: VaultRequest, rawName: string | undefined): Reply {
  if (rawName === undefined || rawName === '') {
    const keys = policyNames(core);
    return { data: { keys, policies: keys }, topLevel: true };
  }
  switch (req.op) {
    case 'read': {
      const name = rawName.toLowerCase();
      if (name === 'root') return { data: { name: 'root', rules: '' }, topLevel: true };
      const text = core.state.policies.get(name);
      if (text === undefined) throw notFound();
      return { data: { name, rules: text }, topLevel: true };
    }
    case 'write':
      return writePolicy(core, req, rawName, true);
    case 'delete':
      return deletePolicy(core, rawName);
    default:
      throw badRequest('unsupported operation');
  }
}

/** sys/policies/acl (list) and sys/policies/acl/<name>. */
export function sysPoliciesAcl(core: Core, req: VaultRequest, rawName: string | undefined): Reply {
  if (rawName === undefined || rawName === '') return { data: { keys: policyNames(core) } };
  switch (req.op) {
    case 'read': {
      const name = rawName.toLowerCase();
      if (name === 'root') return { data: { name: 'root', policy: '' } };
      const text = core.state.policies.get(name);
      if (text === undefined) throw notFound();
      return { data: { name, policy: text } };
    }
    case 'write':
      return writePolicy(core, req, rawName, false);
    case 'delete':
      return deletePolicy(core, rawName);
    default:
      throw badRequest('unsupported operation');
  }
}

function requestedPaths(req: VaultRequest): string[] {
  const raw = req.body.paths ?? req.body.path;
  const list = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? raw.split(',').map((s) => s.trim()) : [];
  const paths = list.map((p) => p.replace(/^\/+/, '')).filter((p) => p !== '');
  if (paths.length === 0) throw badRequest('paths must be supplied');
  return paths;
}

function capabilitiesReply(core: Core, te: TokenEntry, paths: string[]): Reply {
  const acl = core.aclFor(te.policies);
  const data: Record<string, unknown> = {};
  for (const p of paths) data[p] = acl.describe(p);
  // Kept for backwards compatibility, as Vault does, when exactly one path was asked about.
  if (paths.length === 1) data.capabilities = data[paths[0]];
  return { data, topLevel: true };
}

/** POST sys/capabilities-self {paths} (or {path}). */
export function capabilitiesSelf(core: Core, req: VaultRequest): Reply {
  return capabilitiesReply(core, req.te!, requestedPaths(req));
}

/** POST sys/capabilities {token, paths}. */
export function capabilitiesToken(core: Core, req: VaultRequest): Reply {
  const token = str(req.body, 'token');
  if (!token) throw badRequest('missing token');
  const te = core.tokens.lookup(token);
  const paths = requestedPaths(req);
  if (!te) {
    const data: Record<string, unknown> = {};
    for (const p of paths) data[p] = ['deny'];
    if (paths.length === 1) data.capabilities = ['deny'];
    return { data, topLevel: true };
  }
  return capabilitiesReply(core, te, paths);
}

/** POST sys/capabilities-accessor {accessor, paths}. */
export function capabilitiesAccessor(core: Core, req: VaultRequest): Reply {
  const accessor = str(req.body, 'accessor');
  if (!accessor) throw badRequest('missing accessor');
  const te = core.tokens.lookupAccessor(accessor);
  if (!te) throw badRequest('invalid accessor');
  return capabilitiesReply(core, te, requestedPaths(req));
}
