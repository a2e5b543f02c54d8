import { invalidToken, permissionDenied, type VaultRequest } from './envelope.js';
import type { Core } from './core.js';
import type { TokenEntry } from './state.js';
import { ipInCidrs } from './cidr.js';

/**
 * Authenticates a request's token: a missing, unknown, expired or revoked token is a 403 with
 * Vault's "permission denied / invalid token" text. A token with limited uses spends one here,
 * even when the ACL later denies the request (as Vault does); the last use revokes the token once
 * the request is done (`req.revokeAfter`).
 */
export function authenticate(core: Core, req: VaultRequest): TokenEntry {
  if (!req.token) throw permissionDenied();
  const te = core.tokens.lookup(req.token);
  if (!te) throw invalidToken();
  // A token bound to CIDRs (AppRole token_bound_cidrs) is refused from elsewhere, as Vault does.
  if (te.boundCidrs && te.boundCidrs.length > 0 && !ipInCidrs(req.remoteAddress, te.boundCidrs)) throw permissionDenied();
  if (te.numUses > 0) {
    if (core.tokens.use(te)) req.revokeAfter = te;
  }
  req.te = te;
  req.acl = core.aclFor(te.policies);
  return te;
}
