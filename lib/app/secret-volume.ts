import { randomBytes } from 'node:crypto';
import { renderPathPolicy, validateVolumeName, volumePolicyName, volumeTokenRequest } from '../access/volume-access.js';
import { DockerError, UsageError } from '../errors.js';
import { parseKeyValues } from '../key-values.js';
import type { DockerClient, VolumeInfo } from '../docker/client.js';
import { CHANGE_OPTION_NAMES, parseChangeOptions } from '../driver/change-options.js';
import { parseFsOptions } from '../fs/options.js';
import type { VaultClient } from '../vault/client.js';
import { resolveKvMount } from '../vault/kv.js';
import { normalizeSecretPath } from '../vault/kv-path.js';
import { deletePolicy, writePolicy } from '../vault/policy.js';
import { createWrappedToken, revokeAccessor } from '../vault/tokens.js';

/** Labels on our Docker volumes. Paths and policy names are not secret; tokens never go here. */
export const LABEL_PATH = 'io.secretfs.path';
export const LABEL_POLICY = 'io.secretfs.policy';
export const LABEL_ACCESSOR = 'io.secretfs.token-accessor';

/** How long the wrapping token handed to Docker lives: only until the driver's Create unwraps it. */
const WRAP_TTL = '120s';

export interface SecretVolumeRequest {
  name: string;
  path: string;
  /** Filesystem options (uid, gid, mode, listing, cache_ttl, ...) as Docker `-o` strings, checked by parseVolumeOpts. */
  fsOptions?: VolumeOpts;
  /** A volume of `run`: the driver removes it once no container uses it, should we not (lib/driver/ephemeral-sweep.ts). */
  ephemeral?: boolean;
}

declare const checked: unique symbol;
/**
 * Volume `-o` options as Docker passes them to the driver, checked once by parseVolumeOpts (a run
 * with several paths does not check them again per volume; the driver checks them itself, as it
 * trusts no client).
 */
export type VolumeOpts = Readonly<Record<string, string>> & { readonly [checked]: true };

export interface SecretVolumeDeps {
  vault: VaultClient;
  docker: DockerClient;
  driverName: string;
  /** This installation's policy scope (readPolicyScope): volume policy names are deterministic within it. */
  policyScope: string;
}

/** A fresh, unique volume name for `run`. */
export function ephemeralVolumeName(): string {
  return `secretfs-run-${randomBytes(6).toString('hex')}`;
}

/**
 * Creates a Docker volume served by our driver that reads exactly `path`: writes a policy for
 * that path, mints a token with it, and hands Docker only the response-wrapped token, which the
 * driver unwraps (and so spends) at Create. Nothing is left behind when a step fails.
 *
 * There is no "does it exist?" look-up first: for an unknown name dockerd asks every volume
 * driver it has seen, dead ones included, with retries that can take minutes. Instead, Docker
 * answers a create of an existing name with that volume, which then lacks our token's accessor.
 */
export async function createSecretVolume(deps: SecretVolumeDeps, req: SecretVolumeRequest): Promise<VolumeInfo> {
  validateVolumeName(req.name);
  const path = normalizeSecretPath(req.path);
  const fsOptions = req.fsOptions ?? {};
  const mount = await resolveKvMount(deps.vault, path);
  const policy = volumePolicyName(req.name, path, deps.policyScope);
  // A `secretfs-volume-*` policy: after a driver restart the driver may mint it again through its
  // role, so the volume keeps exactly this scope. Vault mints a token with a policy it does not
  // have yet (policies are looked up per request), so the two requests go together.
  const [written, wrapped] = await Promise.allSettled([
    writePolicy(deps.vault, policy, renderPathPolicy(path, mount, `docker secretfs volume ${req.name}: read ${path} and below`)),
    createWrappedToken(deps.vault, volumeTokenRequest({ volume: req.name, path, policies: [policy], issuer: 'cli' }), WRAP_TTL),
  ]);
  const accessor = wrapped.status === 'fulfilled' ? wrapped.value.wrapped_accessor : undefined;
  let keepPolicy = false;
  try {
    if (written.status === 'rejected') throw written.reason;
    if (wrapped.status === 'rejected') throw wrapped.reason;
    const volume = await deps.docker.createVolume({
      name: req.name,
      driver: deps.driverName,
      options: { ...fsOptions, ...(req.ephemeral ? { ephemeral: 'true' } : {}), path, token: wrapped.value.token },
      labels: { [LABEL_PATH]: path, [LABEL_POLICY]: policy, ...(accessor ? { [LABEL_ACCESSOR]: accessor } : {}) },
    });
    if (volume.labels[LABEL_ACCESSOR] !== accessor) {
      // The same name on the same path names the same policy: it is that volume's, and stays.
      if (volume.labels[LABEL_POLICY] === policy) keepPolicy = true;
      throw new UsageError(`a volume named ${req.name} exists already`);
    }
    return volume;
  } catch (err) {
    if (accessor) await revokeAccessor(deps.vault, accessor).catch(() => undefined);
    if (!keepPolicy) await deletePolicy(deps.vault, policy).catch(() => undefined);
    throw err;
  }
}

/**
 * Removes one of our volumes: Docker's Remove makes the driver revoke the volume's token;
 * we revoke it again by accessor (idempotent, in case the driver was down) and delete its policy.
 */
export async function removeSecretVolume(deps: Omit<SecretVolumeDeps, 'policyScope'>, name: string): Promise<void> {
  const volume = await deps.docker.inspectVolume(name);
  if (!volume) throw new UsageError(`no volume named ${name}`);
  if (volume.driver !== deps.driverName) throw new UsageError(`${name} is not a secretfs volume (driver ${volume.driver})`);
  await removeCreatedVolume(deps, volume);
}

/** Removes a volume we created (its labels name its policy and token): the volume, then its token and policy together. */
export async function removeCreatedVolume(deps: Omit<SecretVolumeDeps, 'policyScope'>, volume: VolumeInfo): Promise<void> {
  await deps.docker.removeVolume(volume.name);
  const accessor = volume.labels[LABEL_ACCESSOR];
  const policy = volume.labels[LABEL_POLICY];
  await Promise.all([
    accessor ? revokeAccessor(deps.vault, accessor).catch(() => undefined) : undefined,
    policy ? deletePolicy(deps.vault, policy).catch(() => undefined) : undefined,
  ]);
}

/** Our volumes (those of our driver). */
export async function listSecretVolumes(deps: Pick<SecretVolumeDeps, 'docker' | 'driverName'>): Promise<VolumeInfo[]> {
  return deps.docker.listVolumes({ driver: deps.driverName });
}

/**
 * Parses repeated `-o key=value` volume options: `token` and `path` are set by secretfs itself;
 * the rest must be valid filesystem options (names and values checked by parseFsOptions) or
 * change-watching options (watch, on_change, on_change_debounce).
 */
export function parseVolumeOpts(values: string[]): VolumeOpts {
  const out = parseKeyValues(values);
  for (const key of ['token', 'path']) if (key in out) throw new UsageError(`-o ${key} is set by secretfs itself`);
  const fs: Record<string, string> = {};
  for (const [k, v] of Object.entries(out)) if (!(CHANGE_OPTION_NAMES as readonly string[]).includes(k)) fs[k] = v;
  parseFsOptions(fs);
  parseChangeOptions(out);
  return out as VolumeOpts;
}

/** Wraps a Docker failure that means our driver is not running. */
export function explainDriverError(err: unknown, driverName: string): unknown {
  if (err instanceof DockerError && /plugin .* not found|no such file|connection refused/i.test(err.message)) {
    // A managed plugin's name is a reference (secretfs/secretfs:latest); a host driver's is a plain word.
    const hint = /[/:]/.test(driverName) ? `is the managed plugin enabled? \`docker plugin enable ${driverName}\`` : `is the secretfs driver running? \`docker secretfs driver start\` (driver name ${driverName})`;
    return new DockerError(err.message, { cause: err, hint });
  }
  return err;
}
