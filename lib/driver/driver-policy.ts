import type { Paths } from '../paths.js';
import type { VaultClient } from '../vault/client.js';
import { writePolicy } from '../vault/policy.js';
import { createToken, writeTokenRole } from '../vault/tokens.js';
import { SWARM_TOKEN_ROLE, swarmTokenRole } from '../swarm/access.js';
import { writeDriverCredential, type DriverCredential } from './credential.js';

/** The policy `init` gives the driver's credential. */
export const DRIVER_POLICY_NAME = 'secretfs-driver';

/** The token role the driver mints volume tokens through. */
export const VOLUME_TOKEN_ROLE = 'secretfs-volume';

/** Every per-volume policy the driver writes starts with this. */
export const VOLUME_POLICY_PREFIX = 'secretfs-vol-';

/**
 * The capabilities the driver's credential needs, and why:
 * - `sys/mounts` read: find the KV mount and version of a volume's path to render its policy;
 * - `sys/policies/acl/secretfs-vol-*`: write (and delete at Remove) one policy per volume;
 * - `auth/token/create/secretfs-volume`: mint volume tokens through the role, which allows only
 *   `secretfs-vol-*` policies, so the driver needs neither those policies itself nor `sudo`;
 * - `auth/token/revoke-accessor`, `lookup-accessor`: revoke at Remove, knowing only accessors;
 * - `auth/token/renew-self`, `lookup-self`: keep its own credential alive;
 * - `auth/token/create/secretfs-swarm`: mint per-service tokens for Swarm secrets through the role,
 *   which allows only the `secretfs-swarm-*` policies an administrator wrote (lib/swarm/access.ts).
 * It grants no read on any secret: volumes read with their own tokens only.
 */
export function renderDriverPolicy(role = VOLUME_TOKEN_ROLE): string {
  const stanza = (path: string, caps: string[]) => `path "${path}" {\n  capabilities = [${caps.map((c) => `"${c}"`).join(', ')}]\n}`;
  return (
    [
      '# docker secretfs volume driver: mints, renews and revokes one token per volume',
      stanza('sys/mounts', ['read']),
      stanza(`sys/policies/acl/${VOLUME_POLICY_PREFIX}*`, ['create', 'read', 'update', 'delete']),
      stanza(`auth/token/create/${role}`, ['create', 'update']),
      stanza('auth/token/revoke-accessor', ['update']),
      stanza('auth/token/lookup-accessor', ['update']),
      stanza('auth/token/renew-self', ['update']),
      stanza('auth/token/lookup-self', ['read']),
      stanza(`auth/token/create/${SWARM_TOKEN_ROLE}`, ['create', 'update']),
    ].join('\n\n') + '\n'
  );
}

/** The driver policy HCL for the default role. */
export const DRIVER_POLICY_HCL = renderDriverPolicy();

/** The body of the token role volume tokens are minted through (children of the driver's token). */
export function volumeTokenRole(): Record<string, unknown> {
  return {
    allowed_policies_glob: [`${VOLUME_POLICY_PREFIX}*`],
    orphan: false,
    renewable: true,
    token_no_default_policy: true,
  };
}

export interface ProvisionOptions {
  /** TTL of the driver's token; the driver renews it at about two thirds. */
  ttl?: string;
}

/**
 * Sets up the driver's credential with an admin client (what `init` does): writes the driver
 * policy and the volume and Swarm token roles, mints an orphan token with the driver policy (so revoking the
 * admin's token does not take the driver down), and writes the 0600 credential file.
 */
export async function provisionDriverCredential(admin: VaultClient, paths: Paths, options: ProvisionOptions = {}): Promise<DriverCredential> {
  await writePolicy(admin, DRIVER_POLICY_NAME, DRIVER_POLICY_HCL);
  await writeTokenRole(admin, VOLUME_TOKEN_ROLE, volumeTokenRole());
  await writeTokenRole(admin, SWARM_TOKEN_ROLE, swarmTokenRole());
  const minted = await createToken(admin, {
    policies: [DRIVER_POLICY_NAME],
    orphan: true,
    ttl: options.ttl ?? '768h',
    renewable: true,
    noDefaultPolicy: true,
    displayName: 'secretfs-driver',
    meta: { purpose: 'secretfs volume driver' },
  });
  const credential = { addr: admin.addr, token: minted.token, ...admin.connection };
  await writeDriverCredential(paths, credential);
  return credential;
}
