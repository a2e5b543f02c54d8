import { authenticate } from './auth.js';
import { handleTokenPath, roleExists } from './auth-token.js';
import type { Capability } from './acl.js';
import type { Core } from './core.js';
import {
  badRequest,
  envelope,
  noHandler,
  permissionDenied,
  unsupportedOperation,
  unsupportedPath,
  VaultHttpError,
  type Operation,
  type Reply,
  type VaultRequest,
} from './envelope.js';
import { handleKv, kvExists } from './kv.js';
import { internalUiMount, listMounts, matchMount, mountOne, tuneMount } from './sys-mounts.js';
import { authOne, listAuth, matchAuthMount, tuneAuth } from './sys-auth.js';
import { approleExists, approleIsUnauthenticated, handleApprole } from './approle.js';
import { capabilitiesAccessor, capabilitiesSelf, capabilitiesToken, sysPoliciesAcl, sysPolicy } from './sys-policy.js';
import { sysHealth, sysInit, sysLeader, sysSealStatus } from './sys-status.js';
import { rewrap, unwrap, wrapData, wrapLookup, wrapResponse } from './wrapping.js';

/**
 * Routes a parsed request: system routes, the token auth method, then mounted engines.
 * Authentication and the ACL check come before a path is known to exist (so a token without
 * access learns nothing), exactly as in Vault: root gets 404 "no handler", others 403.
 */

type AuthMode = 'acl' | 'token' | 'none';

interface Route {
  re: RegExp;
  auth: AuthMode;
  ops: Operation[];
  handle(core: Core, req: VaultRequest, m: RegExpExecArray): Reply;
  /** Root-protected: needs `sudo` as well. */
  sudo?(m: RegExpExecArray): boolean;
  /** Existence check that turns a write into create (false) or update (true). */
  exists?(core: Core, req: VaultRequest, m: RegExpExecArray): boolean;
}

const ROUTES: Route[] = [
  { re: /^sys\/health$/, auth: 'none', ops: ['read'], handle: (c, r) => sysHealth(c, r) },
  { re: /^sys\/seal-status$/, auth: 'none', ops: ['read'], handle: (c) => sysSealStatus(c) },
  { re: /^sys\/init$/, auth: 'none', ops: ['read', 'write'], handle: (c, r) => sysInit(c, r) },
  { re: /^sys\/leader$/, auth: 'none', ops: ['read'], handle: () => sysLeader() },
  { re: /^sys\/mounts\/?$/, auth: 'acl', ops: ['read'], handle: (c) => listMounts(c) },
  { re: /^sys\/mounts\/(.+)\/tune$/, auth: 'acl', ops: ['read', 'write'], handle: (c, r, m) => tuneMount(c, r, m[1]) },
  { re: /^sys\/mounts\/(.+)$/, auth: 'acl', ops: ['read', 'write', 'delete'], handle: (c, r, m) => mountOne(c, r, m[1]) },
  { re: /^sys\/auth\/?$/, auth: 'acl', ops: ['read'], handle: (c) => listAuth(c) },
  // sys/auth/* is root-protected in Vault (sudo).
  // Not a Vault path: a compacting copy of the store's database (`server compact`), root/sudo only.
  // The route checks access; the server then runs the compaction (asynchronous, off the event loop).
  { re: /^sys\/storage\/compact$/, auth: 'acl', ops: ['write'], sudo: () => true, handle: () => ({}) },
  { re: /^sys\/auth\/(.+)\/tune$/, auth: 'acl', ops: ['read', 'write'], sudo: () => true, handle: (c, r, m) => tuneAuth(c, r, m[1]) },
  { re: /^sys\/auth\/(.+)$/, auth: 'acl', ops: ['read', 'write', 'delete'], sudo: () => true, handle: (c, r, m) => authOne(c, r, m[1]) },
  { re: /^sys\/internal\/ui\/mounts(?:\/(.*))?$/, auth: 'token', ops: ['read'], handle: (c, r, m) => internalUiMount(c, r, m[1] ?? '') },
  { re: /^sys\/policy\/?$/, auth: 'acl', ops: ['read', 'list'], handle: (c, r) => sysPolicy(c, r, undefined) },
  { re: /^sys\/policy\/(.+)$/, auth: 'acl', ops: ['read', 'write', 'delete'], handle: (c, r, m) => sysPolicy(c, r, m[1]) },
  { re: /^sys\/policies\/acl\/?$/, auth: 'acl', ops: ['list'], handle: (c, r) => sysPoliciesAcl(c, r, undefined) },
  { re: /^sys\/policies\/acl\/(.+)$/, auth: 'acl', ops: ['read', 'write', 'delete'], handle: (c, r, m) => sysPoliciesAcl(c, r, m[1]) },
  { re: /^sys\/capabilities-self$/, auth: 'acl', ops: ['write'], handle: (c, r) => capabilitiesSelf(c, r) },
  { re: /^sys\/capabilities$/, auth: 'acl', ops: ['write'], handle: (c, r) => capabilitiesToken(c, r) },
  { re: /^sys\/capabilities-accessor$/, auth: 'acl', ops: ['write'], handle: (c, r) => capabilitiesAccessor(c, r) },
  { re: /^sys\/wrapping\/wrap$/, auth: 'acl', ops: ['write'], handle: (c, r) => wrapData(c, r) },
  { re: /^sys\/wrapping\/unwrap$/, auth: 'none', ops: ['write'], handle: (c, r) => unwrap(c, r) },
  { re: /^sys\/wrapping\/lookup$/, auth: 'none', ops: ['write', 'read'], handle: (c, r) => wrapLookup(c, r) },
  { re: /^sys\/wrapping\/rewrap$/, auth: 'acl', ops: ['write'], handle: (c, r) => rewrap(c, r) },
  // No engine here issues leases (KV leases are advisory, tokens renew under auth/token), so every lease id is unknown.
  {
    re: /^sys\/(?:leases\/)?(renew|revoke|lookup)(?:\/(.*))?$/,
    auth: 'acl',
    ops: ['write'],
    handle: (_c, r, m) => {
      const id = (typeof r.body.lease_id === 'string' && r.body.lease_id) || m[2] || '';
      if (!id) throw badRequest('lease_id must be specified');
      if (m[1] === 'revoke') return {};
      throw badRequest('invalid lease');
    },
  },
  {
    re: /^auth\/token\/(.*)$/s,
    auth: 'acl',
    ops: ['read', 'list', 'write', 'delete'],
    handle: (c, r, m) => handleTokenPath(c, r, m[1]),
    sudo: (m) => m[1] === 'revoke-orphan' || m[1].startsWith('accessors'),
    exists: (c, _r, m) => {
      const role = /^roles\/(.+)$/.exec(m[1]);
      return role ? roleExists(c, role[1]) : true;
    },
  },
];

/** Whether a request to this path is answered only for a valid token (every path but Vault's unauthenticated ones). */
export function requiresToken(path: string): boolean {
  const route = ROUTES.find((r) => r.re.test(path));
  return route ? route.auth !== 'none' : true;
}

function capabilityFor(op: Operation, exists: boolean | undefined): Capability {
  switch (op) {
    case 'read':
      return 'read';
    case 'list':
      return 'list';
    case 'patch':
      return 'patch';
    case 'delete':
      return 'delete';
    case 'write':
      return exists === false ? 'create' : 'update';
  }
}

/** The outcome of one request, before it is written to the socket. */
export interface Outcome {
  status: number;
  body?: unknown;
  /** The ACL operation, for the audit log (create/update resolved). */
  operation: string;
  wrapped: boolean;
  error?: string;
}

function checkAcl(req: VaultRequest, needed: Capability[]): void {
  const acl = req.acl!;
  // Parameter constraints apply to reads and writes, as in Vault.
  const data = req.op === 'read' || req.op === 'write' || req.op === 'patch' ? req.body : undefined;
  if (!acl.allows(req.path, needed, req.op === 'list', data, req.wrapTtl)) throw permissionDenied();
}

function dispatch(core: Core, req: VaultRequest, audit: { operation: string }): Reply {
  for (const route of ROUTES) {
    const m = route.re.exec(req.path);
    if (!m) continue;
    if (route.auth !== 'none') authenticate(core, req);
    let exists: boolean | undefined;
    if (req.op === 'write' && route.exists) exists = route.exists(core, req, m);
    const cap = capabilityFor(req.op, exists);
    audit.operation = cap;
    if (route.auth === 'acl') {
      const needed: Capability[] = [cap];
      if (route.sudo?.(m)) needed.push('sudo');
      checkAcl(req, needed);
    }
    if (!route.ops.includes(req.op)) throw unsupportedOperation();
    return route.handle(core, req, m);
  }
  // Auth methods mounted under auth/ (AppRole): login needs no token, the rest passes the ACL.
  const authMount = req.path.startsWith('auth/') ? matchAuthMount(core, req.path.slice(5)) : undefined;
  if (authMount) {
    const rest = req.path.slice(5 + authMount.path.length);
    if (!approleIsUnauthenticated(rest)) {
      authenticate(core, req);
      const cap = capabilityFor(req.op, req.op === 'write' ? approleExists(core, authMount, rest) : undefined);
      audit.operation = cap;
      checkAcl(req, [cap]);
    }
    return handleApprole(core, authMount, req, rest);
  }
  // Everything else needs a token and passes the ACL before we say whether it exists.
  authenticate(core, req);
  const mount = matchMount(core, req.path);
  let exists: boolean | undefined;
  const rest = mount ? req.path.slice(Math.min(mount.path.length, req.path.length)) : '';
  if (mount && req.op === 'write' && (mount.type === 'kv' || mount.type === 'cubbyhole')) exists = kvExists(core, req, mount, rest);
  const cap = capabilityFor(req.op, exists);
  audit.operation = cap;
  checkAcl(req, [cap]);
  if (!mount) throw noHandler(req.path);
  if (mount.type === 'kv' || mount.type === 'cubbyhole') return handleKv(core, req, mount, rest);
  throw unsupportedPath();
}

/** Vault's answer when storage fails (its physical backends' errors end up as a 500 with this envelope). */
const PERSIST_FAILED = '1 error occurred:\n\t* failed to persist the change to storage\n\n';

/**
 * Runs one request through auth, ACL, the handler and wrapping, then commits what it changed in
 * one durable transaction before the answer exists: a change that could not be committed is
 * dropped (in memory too) and answered 500. Synchronous from the handler to the commit, so no
 * other request sees a change before it is durable. Never throws.
 */
export function handleRequest(core: Core, req: VaultRequest): Outcome {
  const audit = { operation: req.op as string };
  let outcome: Outcome;
  try {
    const reply = dispatch(core, req, audit);
    outcome = render(core, req, reply, audit.operation);
  } catch (err) {
    outcome = renderError(core, req, err, audit.operation);
  }
  if (req.revokeAfter && core.tokens.lookupAccessor(req.revokeAfter.accessor)) core.tokens.revokeTree(req.revokeAfter);
  try {
    core.commit();
  } catch (err) {
    core.log.error('persisting the store failed', { error: (err as Error).message });
    return { status: 500, body: { errors: [PERSIST_FAILED] }, operation: audit.operation, wrapped: false, error: 'persist failed' };
  }
  return outcome;
}

function defaultMountType(path: string): string {
  if (path.startsWith('sys/')) return 'system';
  if (path.startsWith('auth/token/')) return 'token';
  if (path.startsWith('auth/')) return 'approle';
  return '';
}

function render(core: Core, req: VaultRequest, reply: Reply, operation: string): Outcome {
  reply.mountType ??= defaultMountType(req.path);
  if (reply.raw !== undefined) return { status: reply.status ?? 200, body: reply.raw, operation, wrapped: false };
  const hasBody = reply.data != null || reply.auth != null || (reply.warnings?.length ?? 0) > 0;
  if (!hasBody) return { status: reply.status ?? 204, operation, wrapped: false };
  if (req.wrapTtl > 0 && (reply.data != null || reply.auth != null) && (reply.status ?? 200) === 200) {
    const original = JSON.stringify(envelope(reply, req.id));
    return { status: 200, body: wrapResponse(core, req, original, req.wrapTtl, reply.wrappedAccessor), operation, wrapped: true };
  }
  return { status: reply.status ?? 200, body: envelope(reply, req.id), operation, wrapped: false };
}

function renderError(core: Core, req: VaultRequest, err: unknown, operation: string): Outcome {
  if (err instanceof VaultHttpError) {
    if (err.reply) return { status: err.status, body: envelope(err.reply, req.id), operation, wrapped: false, error: `status ${err.status}` };
    return { status: err.status, body: { errors: err.errors }, operation, wrapped: false, error: err.errors[0] ?? `status ${err.status}` };
  }
  core.log.error('internal error while handling a request', { error: (err as Error)?.message });
  return { status: 500, body: { errors: ['1 error occurred:\n\t* internal error\n\n'] }, operation, wrapped: false, error: 'internal error' };
}
