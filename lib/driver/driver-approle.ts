import type { Paths } from '../paths.js';
import type { VaultClient } from '../vault/client.js';
import { enableAuthMethod, generateSecretId, looksLikeWrappingToken, readRoleId, unwrapSecretId, writeAppRole } from '../vault/approle.js';
import { writePolicy } from '../vault/policy.js';
import { writeTokenRole } from '../vault/tokens.js';
import { SWARM_TOKEN_ROLE, swarmTokenRole } from '../swarm/access.js';
import { writeDriverCredential, type DriverCredential } from './credential.js';
import { DRIVER_POLICY_HCL, DRIVER_POLICY_NAME, VOLUME_TOKEN_ROLE, volumeTokenRole } from './driver-policy.js';

/** The AppRole role init makes for the driver when no role_id is given. */
export const DRIVER_APPROLE = 'secretfs-driver';
/** Where init enables AppRole when it sets the role up itself. */
export const DEFAULT_APPROLE_MOUNT = 'approle';

export interface AppRoleProvisionOptions {
  /** An existing role (the admin made it): its role_id and a secret_id (or a wrapping token of one). */
  roleId?: string;
  secretId?: string;
  mount?: string;
  /** TTLs of the driver's tokens when init makes the role (default 1h, max 24h). */
  tokenTtl?: string;
  tokenMaxTtl?: string;
}

/**
 * Gives the driver an AppRole credential: the driver policy and the token roles it mints through
 * (volume tokens as orphans, so they outlive each of the driver's short logins), then either the
 * role_id and secret_id the admin gave (a wrapped secret_id is unwrapped here) or a role of its
 * own with the bounded driver policy and a fresh secret_id. Writes the 0600 credential file.
 */
export async function provisionDriverAppRole(admin: VaultClient, paths: Paths, options: AppRoleProvisionOptions = {}): Promise<DriverCredential> {
  await writePolicy(admin, DRIVER_POLICY_NAME, DRIVER_POLICY_HCL);
  await writeTokenRole(admin, VOLUME_TOKEN_ROLE, { ...volumeTokenRole(), orphan: true });
  await writeTokenRole(admin, SWARM_TOKEN_ROLE, swarmTokenRole());
  const mount = options.mount ?? DEFAULT_APPROLE_MOUNT;
  let roleId = options.roleId;
  let secretId = options.secretId;
  let secretIdNumUses: number | undefined;
  if (roleId) {
    if (!secretId) throw new Error('a role_id needs a secret_id');
    if (looksLikeWrappingToken(secretId)) secretId = await unwrapSecretId(admin, secretId);
  } else {
    await enableAuthMethod(admin, mount, 'approle');
    await writeAppRole(admin, mount, DRIVER_APPROLE, {
      token_policies: [DRIVER_POLICY_NAME],
      token_no_default_policy: true,
      token_ttl: options.tokenTtl ?? '1h',
      token_max_ttl: options.tokenMaxTtl ?? '24h',
      secret_id_num_uses: 0,
      secret_id_ttl: 0,
    });
    roleId = await readRoleId(admin, mount, DRIVER_APPROLE);
    const generated = await generateSecretId(admin, mount, DRIVER_APPROLE);
    secretId = generated.secretId;
    secretIdNumUses = generated.numUses;
  }
  const credential: DriverCredential = {
    addr: admin.addr,
    approle: { mount, roleId, secretId, ...(secretIdNumUses !== undefined ? { secretIdNumUses } : {}) },
    ...admin.connection,
  };
  await writeDriverCredential(paths, credential);
  return credential;
}
