import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';
import type { KvMount } from '../vault/kv-path.js';
import { renderHcl, renderPolicy } from '../vault/policy.js';
import type { TokenRequest } from '../vault/tokens.js';

/**
 * A volume's Vault access, in one place for the CLI (`volume create`, `run`) and the driver:
 * the volume-name rule, the policy names, the policy text that grants one path, and the token
 * request (TTL, display name, metadata) a volume's token is minted with.
 */

/** Longer names are refused: they become directory, policy and display names. */
export const MAX_VOLUME_NAME_LENGTH = 200;

const SEGMENT = /^[A-Za-z0-9_.@+=-]+$/;

/**
 * Checks a volume name (from Docker or the CLI). A name is one or more segments separated by `/`
 * (so a Vault path such as `secret/app-1` can be a volume name); it must not be absolute, contain
 * `.` or `..` segments, empty segments, NUL, control characters or anything outside
 * `A-Z a-z 0-9 _ . @ + = -`. Returns the name unchanged. Names such as `__proto__` are valid:
 * everything keyed by volume name is a Map or a null-prototype object.
 */
export function validateVolumeName(name: unknown): string {
  if (typeof name !== 'string' || name === '') throw new UsageError('volume name must not be empty');
  if (name.length > MAX_VOLUME_NAME_LENGTH) throw new UsageError(`volume name longer than ${MAX_VOLUME_NAME_LENGTH} characters`);
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new UsageError('volume name must not contain NUL or control characters');
  if (name.startsWith('/')) throw new UsageError(`invalid volume name ${JSON.stringify(name)}: must not start with "/"`);
  // One trailing slash names the same Vault path (`-v secret/app-1/:/secrets`, as tutorials write it).
  const body = name.endsWith('/') ? name.slice(0, -1) : name;
  for (const segment of body.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new UsageError(`invalid volume name ${JSON.stringify(name)}: no empty, "." or ".." segments`);
    }
    if (!SEGMENT.test(segment)) {
      throw new UsageError(`invalid volume name ${JSON.stringify(name)}: use letters, digits, "_", ".", "@", "+", "=", "-" and "/" between segments`);
    }
  }
  return name;
}

/** A readable, policy-name-safe form of a name or path (lower case, at most 60 characters). */
function readable(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9_-]/g, '_').slice(0, 60);
}

/** Every policy an administrator writes for one volume (`volume create`, `run`) starts with this. */
export const VOLUME_POLICY_PREFIX = 'secretfs-volume-';

/** Every policy that allows a path for driver-created volumes (`allow PATH`) starts with this. */
export const ALLOW_POLICY_PREFIX = 'secretfs-allow-';

/** 16 hex digits of SHA-256 over the parts (NUL-separated, so no two part lists collide). */
function shortHash(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 16);
}

/**
 * The policy of one volume an administrator creates (`volume create`, `run`): one name per
 * (installation scope, volume name, path), the same rule as allowPolicyName's (a readable part and
 * a hash). Creating the volume again names the same policy; removing a volume deletes the one its
 * label names, exactly what was made; two volumes on one path have two policies, so removing one
 * never takes the other's access. `scope` is readPolicyScope's (lib/access/policy-scope.ts).
 */
export function volumePolicyName(volume: string, path: string, scope: string): string {
  return `${VOLUME_POLICY_PREFIX}${readable(validateVolumeName(volume))}-${shortHash(scope, volume, path)}`;
}

/** The policy that allows `path` (and below) for volumes the driver creates: one name per path. */
export function allowPolicyName(path: string): string {
  return `${ALLOW_POLICY_PREFIX}${readable(path)}-${shortHash(path)}`;
}

/**
 * The command that gives a volume a new token from an administrator (a volume whose wrapped
 * token's policies the driver may not mint again): remove it and create it again.
 */
export function recreateVolumeCommand(name: string, path: string): string {
  return `docker volume rm ${name} && docker secretfs volume create ${name} --path ${path}`;
}

/** The first line of an allow policy; `allow ls` and the driver read the path back from it. */
export const ALLOW_POLICY_HEADER = 'secretfs allow: ';

/**
 * The text of a policy that reads `path` and the sub-paths below it (the filesystem shows them as
 * subdirectories), lists them, and lets the token keep itself alive. Used for a volume's own
 * policy and for an allowed path alike, so a token is never wider than the path it was made for.
 */
export function renderPathPolicy(path: string, mount: KvMount, comment: string): string {
  const kv = renderPolicy({ read: [path, `${path}/*`], list: true }, () => mount, comment);
  const self = renderHcl([
    { path: 'auth/token/renew-self', capabilities: ['update'] },
    { path: 'auth/token/lookup-self', capabilities: ['read'] },
    { path: 'auth/token/revoke-self', capabilities: ['update'] },
  ]);
  return kv + '\n' + self;
}

/** A volume token's TTL; the driver renews it at about two thirds of that while the volume exists. */
export const VOLUME_TOKEN_TTL = '1h';

/** What a volume's token request says about the volume. */
export interface VolumeTokenSpec {
  volume: string;
  path: string;
  policies: string[];
  /** Who asks: the driver's name, or `cli`. */
  issuer: string;
  ttl?: string;
}

/**
 * The token request of a volume: exactly the given policies (no `default`), renewable, the TTL,
 * a display name and metadata that name the volume. Vault sanitizes the display name itself.
 */
export function volumeTokenRequest(spec: VolumeTokenSpec): TokenRequest {
  return {
    policies: [...spec.policies],
    ttl: spec.ttl ?? VOLUME_TOKEN_TTL,
    renewable: true,
    noDefaultPolicy: true,
    displayName: `secretfs-vol-${spec.volume.replaceAll('/', '-')}`,
    meta: { volume: spec.volume, path: spec.path, issuer: spec.issuer },
  };
}
