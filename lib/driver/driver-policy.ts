import { isDeepStrictEqual } from 'node:util';
import { DRIVER_POLICY_HCL, DRIVER_POLICY_NAME, VOLUME_TOKEN_ROLE, volumeTokenRole } from '../access/boundary.js';
import { isVaultFailure } from '../errors.js';
import type { Paths } from '../paths.js';
import type { VaultClient } from '../vault/client.js';
import { readPolicy, writePolicy } from '../vault/policy.js';
import { createToken, readTokenRole, writeTokenRole } from '../vault/tokens.js';
import { SWARM_TOKEN_ROLE, swarmTokenRole } from '../swarm/access.js';
import { writeDriverCredential, type DriverCredential } from './credential.js';

export interface ProvisionOptions {
  /** TTL of the driver's token; the driver renews it at about two thirds. */
  ttl?: string;
}

/**
 * Writes the driver policy and the volume and Swarm token roles with an admin client when they differ from
 * what this version defines (an upgrade narrows an older, wider driver policy). Returns whether
 * anything was written.
 */
export async function ensureDriverBoundary(admin: VaultClient, options: { orphanVolumeTokens?: boolean } = {}): Promise<boolean> {
  let changed = false;
  const policy = await readPolicy(admin, DRIVER_POLICY_NAME).catch((err) => {
    if (isVaultFailure(err, 'not_found')) return undefined;
    throw err;
  });
  if (policy !== DRIVER_POLICY_HCL) {
    await writePolicy(admin, DRIVER_POLICY_NAME, DRIVER_POLICY_HCL);
    changed = true;
  }
  for (const [name, want] of [[VOLUME_TOKEN_ROLE, { ...volumeTokenRole(), ...(options.orphanVolumeTokens ? { orphan: true } : {}) }], [SWARM_TOKEN_ROLE, swarmTokenRole()]] as const) {
    const role = await readTokenRole(admin, name);
    // Vault answers durations in seconds; compare the fields this version sets, as Vault reports them.
    const same = role && Object.entries(want).every(([k, v]) => typeof v === 'string' || isDeepStrictEqual(role[k] ?? (Array.isArray(v) ? [] : undefined), v));
    if (!same) {
      await writeTokenRole(admin, name, want);
      changed = true;
    }
  }
  return changed;
}

/**
 * Sets up the driver's credential with an admin client (what `init` does): makes sure of the
 * driver policy and the volume token role, mints an orphan token with the driver policy (so
 * revoking the admin's token does not take the driver down), and writes the 0600 credential file.
 */
export async function provisionDriverCredential(admin: VaultClient, paths: Paths, options: ProvisionOptions = {}): Promise<DriverCredential> {
  await ensureDriverBoundary(admin);
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

// The driver's bounded policy and role, for the AppRole set-up (driver-approle.ts); defined in lib/access/boundary.ts.
export { DRIVER_POLICY_HCL, DRIVER_POLICY_NAME, VOLUME_TOKEN_ROLE, volumeTokenRole } from '../access/boundary.js';
