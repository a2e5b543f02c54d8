import { createHash } from 'node:crypto';
import type { VaultClient } from '../vault/client.js';
import { resolveKvMount } from '../vault/kv.js';
import { normalizeSecretPath } from '../vault/kv-path.js';
import { renderPolicy, writePolicy } from '../vault/policy.js';
import { writeTokenRole } from '../vault/tokens.js';

/**
 * Which Vault paths Swarm secrets may read, and how Vault enforces it.
 *
 * The administrator allows a path for Swarm (`docker secretfs secret create` or `secret allow`,
 * with the admin's token): that writes one policy, `secretfs-swarm-<path>-<hash>`, granting read on
 * exactly that path. The driver's credential can write no `secretfs-swarm-*` policy; it can only
 * mint tokens through the `secretfs-swarm` role, whose `allowed_policies_glob` is those policies.
 * So a Swarm secret whose path no administrator allowed gets a token whose policy does not exist,
 * and Vault answers 403: the boundary is Vault's, not the driver's good will.
 */
export const SWARM_POLICY_PREFIX = 'secretfs-swarm-';

/** The token role the driver mints per-service tokens through. */
export const SWARM_TOKEN_ROLE = 'secretfs-swarm';

/** Per-service tokens live this long at most; the provider caches them for less (see SERVICE_TOKEN_CACHE_MS). */
export const SWARM_TOKEN_TTL = '5m';

/** The policy that allows Swarm secrets to read `path` (lower case, as Vault stores policy names). */
export function swarmPolicyName(path: string): string {
  const clean = normalizeSecretPath(path);
  const readable = clean.toLowerCase().replace(/[^a-z0-9_-]/g, '-').slice(0, 60);
  return `${SWARM_POLICY_PREFIX}${readable}-${createHash('sha256').update(clean).digest('hex').slice(0, 10)}`;
}

/** The token role's body: only `secretfs-swarm-*` policies, no default policy, short-lived, not renewable. */
export function swarmTokenRole(): Record<string, unknown> {
  return {
    allowed_policies_glob: [`${SWARM_POLICY_PREFIX}*`],
    orphan: false,
    renewable: false,
    token_no_default_policy: true,
    token_explicit_max_ttl: SWARM_TOKEN_TTL,
  };
}

/**
 * Allows Swarm secrets to read `path` (an administrator's client): writes the path's read-only
 * policy and the token role. Idempotent; returns the policy name.
 */
export async function allowSwarmPath(admin: VaultClient, path: string): Promise<string> {
  const clean = normalizeSecretPath(path);
  const mount = await resolveKvMount(admin, clean);
  const name = swarmPolicyName(clean);
  await writePolicy(admin, name, renderPolicy({ read: [clean] }, () => mount, `docker secretfs: Swarm secrets may read ${clean}`));
  await writeTokenRole(admin, SWARM_TOKEN_ROLE, swarmTokenRole());
  return name;
}
