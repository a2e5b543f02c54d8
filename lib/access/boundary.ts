import { UsageError, VaultError, isVaultFailure } from '../errors.js';
import type { VaultClient } from '../vault/client.js';
import { resolveKvMount } from '../vault/kv.js';
import { normalizeSecretPath } from '../vault/kv-path.js';
import { deletePolicy, listPolicies, readPolicy, renderHcl, writePolicy } from '../vault/policy.js';
import { createToken, type MintedToken, type TokenRequest } from '../vault/tokens.js';
import { SWARM_TOKEN_ROLE } from '../swarm/access.js';
import { ALLOW_POLICY_HEADER, ALLOW_POLICY_PREFIX, VOLUME_POLICY_PREFIX, allowPolicyName, renderPathPolicy } from './volume-access.js';

/**
 * The trust boundary between the administrator and the volume driver (or any other minting
 * service, e.g. a Swarm secret provider): the administrator writes every policy; the service's
 * credential can write none and mints only through one token role whose allowed policies are
 * the administrator's `secretfs-allow-*` (paths allowed with `docker secretfs allow`) and
 * `secretfs-volume-*` (volumes the administrator created). Vault enforces both halves.
 */

/** The policy of the driver's credential. */
export const DRIVER_POLICY_NAME = 'secretfs-driver';

/** The token role volume tokens are minted through. */
export const VOLUME_TOKEN_ROLE = 'secretfs-volume';

/** The policies the role lets a minting service put on a token: only ones an administrator writes. */
export const MINTABLE_POLICY_GLOBS = [`${ALLOW_POLICY_PREFIX}*`, `${VOLUME_POLICY_PREFIX}*`];

/**
 * What the driver's credential may do, and why (for a token, an AppRole role or any other auth
 * method; this is the one definition):
 * - `auth/token/create/<role>`: mint volume tokens through the role, which allows only the
 *   administrator's policies, so the credential needs neither those policies nor `sudo`;
 * - `auth/token/create/secretfs-swarm`: the same for Swarm secrets (`secretfs-swarm-*` policies);
 * - `sys/policies/acl/secretfs-allow-*` read: find which allowed path covers a volume's path;
 * - `sys/mounts` read: the Swarm provider finds the KV mount (and version) of a secret's path;
 * - `auth/token/revoke-accessor`, `lookup-accessor`: revoke at Remove, knowing only accessors;
 * - `auth/token/renew-self`, `lookup-self`: keep its own credential alive.
 * No policy can be written, changed or deleted, and no secret read.
 */
export function renderDriverPolicy(role = VOLUME_TOKEN_ROLE): string {
  return renderHcl(
    [
      { path: `auth/token/create/${role}`, capabilities: ['update'] },
      // Per-service tokens for Swarm secrets, through their own role of administrator policies (lib/swarm/access.ts).
      { path: `auth/token/create/${SWARM_TOKEN_ROLE}`, capabilities: ['update'] },
      { path: `sys/policies/acl/${ALLOW_POLICY_PREFIX}*`, capabilities: ['read'] },
      { path: 'sys/mounts', capabilities: ['read'] },
      { path: 'auth/token/revoke-accessor', capabilities: ['update'] },
      { path: 'auth/token/lookup-accessor', capabilities: ['update'] },
      { path: 'auth/token/renew-self', capabilities: ['update'] },
      { path: 'auth/token/lookup-self', capabilities: ['read'] },
    ],
    'docker secretfs volume driver: mints (through one role), renews and revokes volume tokens; writes no policy, reads no secret',
  );
}

/** The driver policy HCL for the default role. */
export const DRIVER_POLICY_HCL = renderDriverPolicy();

/**
 * The body of the token role: children of the minting credential (revoked with it), renewable,
 * without `default`, with only the administrator's policies.
 */
export function volumeTokenRole(): Record<string, unknown> {
  return {
    allowed_policies: [],
    allowed_policies_glob: [...MINTABLE_POLICY_GLOBS],
    disallowed_policies: ['default', 'root', DRIVER_POLICY_NAME],
    disallowed_policies_glob: [],
    orphan: false,
    renewable: true,
    token_no_default_policy: true,
    token_period: 0,
    token_explicit_max_ttl: 0,
    path_suffix: '',
  };
}

/** Whether a policy name is one the role lets a minting service use. */
export function isMintable(policy: string): boolean {
  return policy !== DRIVER_POLICY_NAME && (policy.startsWith(ALLOW_POLICY_PREFIX) || policy.startsWith(VOLUME_POLICY_PREFIX));
}

/** An allowed path: the policy an administrator wrote for it. */
export interface AllowedPath {
  path: string;
  policy: string;
}

/** The allowed path an allow policy's text names (its header), or undefined. */
function allowedPathOf(hcl: string): string | undefined {
  const first = hcl.split('\n', 1)[0];
  return first.startsWith(`# ${ALLOW_POLICY_HEADER}`) ? first.slice(2 + ALLOW_POLICY_HEADER.length) : undefined;
}

/**
 * Allows `path` and below for volumes the driver creates (`docker secretfs allow PATH`), with an
 * administrator's client. Returns whether the policy was new or changed.
 */
export async function allowPath(admin: VaultClient, rawPath: string): Promise<AllowedPath & { changed: boolean }> {
  const path = normalizeSecretPath(rawPath);
  const mount = await resolveKvMount(admin, path);
  const policy = allowPolicyName(path);
  const hcl = renderPathPolicy(path, mount, `${ALLOW_POLICY_HEADER}${path}`);
  const existing = await readPolicy(admin, policy).catch((err) => {
    if (isVaultFailure(err, 'not_found')) return undefined;
    throw err;
  });
  if (existing === hcl) return { path, policy, changed: false };
  await writePolicy(admin, policy, hcl);
  return { path, policy, changed: true };
}

/** The allowed paths (`allow ls`), read with an administrator's client. */
export async function listAllowedPaths(admin: VaultClient): Promise<AllowedPath[]> {
  const names = (await listPolicies(admin)).filter((n) => n.startsWith(ALLOW_POLICY_PREFIX)).sort();
  const out: AllowedPath[] = [];
  for (const policy of names) {
    const path = allowedPathOf(await readPolicy(admin, policy));
    if (path !== undefined) out.push({ path, policy });
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * Takes an allowed path back (`allow rm PATH`). Volumes already minted from it lose their access
 * at once (Vault evaluates policies per request); their next Mount asks for the path to be allowed.
 */
export async function disallowPath(admin: VaultClient, rawPath: string): Promise<AllowedPath & { removed: boolean }> {
  const path = normalizeSecretPath(rawPath);
  const policy = allowPolicyName(path);
  try {
    await readPolicy(admin, policy);
  } catch (err) {
    if (isVaultFailure(err, 'not_found')) return { path, policy, removed: false };
    throw err;
  }
  await deletePolicy(admin, policy);
  return { path, policy, removed: true };
}

/** The exact command an administrator runs to let the driver serve `path`. */
export function allowCommand(path: string): string {
  return `docker secretfs allow ${path}`;
}

/**
 * The allow policy covering `path` (the path itself or the nearest allowed parent), read with the
 * minting service's credential. Refused with a UsageError naming the command that allows it.
 */
export async function findAllowPolicy(vault: VaultClient, rawPath: string): Promise<AllowedPath> {
  const path = normalizeSecretPath(rawPath);
  const segments = path.split('/');
  for (let n = segments.length; n >= 1; n--) {
    const candidate = segments.slice(0, n).join('/');
    const policy = allowPolicyName(candidate);
    let hcl: string;
    try {
      hcl = await readPolicy(vault, policy);
    } catch (err) {
      if (isVaultFailure(err, 'not_found')) continue;
      throw err;
    }
    if (allowedPathOf(hcl) === candidate) return { path: candidate, policy };
  }
  throw new UsageError(
    `path ${path} is not allowed for volumes the driver creates; an administrator allows it with \`${allowCommand(path)}\` ` +
      `(or creates the volume with \`docker secretfs volume create NAME --path ${path}\`)`,
  );
}

/** Why a token with these policies cannot be minted through the role, or undefined when it can. */
export function notMintable(policies: string[]): string | undefined {
  const kept = policies.filter((p) => p !== 'default');
  if (kept.length === 0) return 'it has no policy of its own';
  const outside = kept.filter((p) => !isMintable(p));
  if (outside.length > 0) return `the driver may not mint ${outside.length > 1 ? 'policies' : 'policy'} ${outside.join(', ')}`;
  return undefined;
}

/**
 * Mints a token through the role with exactly `req.policies` (minus `default`, which the role
 * never gives: a token is never wider than asked). Vault refuses anything else with a 400.
 */
export async function mintThroughRole(vault: VaultClient, req: TokenRequest): Promise<MintedToken> {
  const policies = (req.policies ?? []).filter((p) => p !== 'default');
  if (policies.length === 0) throw new VaultError('a volume token needs at least one policy', 'bad_request', 400);
  return createToken(vault, { ...req, policies, role: VOLUME_TOKEN_ROLE, orphan: undefined, noDefaultPolicy: true });
}
