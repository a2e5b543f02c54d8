import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';

/** Longer names are refused: they become directory and policy names. */
export const MAX_VOLUME_NAME_LENGTH = 200;

const SEGMENT = /^[A-Za-z0-9_.@+=-]+$/;

/**
 * Checks a volume name from Docker. A name is one or more segments separated by `/` (so a
 * Vault path such as `secret/app-1` can be a volume name); it must not be absolute, contain
 * `.` or `..` segments, empty segments, NUL, control characters or anything outside
 * `A-Z a-z 0-9 _ . @ + = -`; one trailing `/` is allowed (the path is the same without it).
 * Returns the name unchanged: it is Docker's name for the volume.
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

/** True when a volume name can stand for its Vault path (it has a mount and a path below it). */
export function looksLikeVaultPath(name: string): boolean {
  return name.includes('/');
}

function shortHash(name: string): string {
  return createHash('sha256').update(name).digest('hex').slice(0, 10);
}

/**
 * The directory (one path segment) below the mount root for a volume. The hash keeps names that
 * differ only in `/` versus `_` apart; the readable prefix helps people reading `mount`.
 */
export function volumeDirName(name: string): string {
  return `${validateVolumeName(name).replaceAll('/', '_')}-${shortHash(name)}`;
}

/** The Vault policy name the driver writes for a volume (`secretfs-vol-...`, lower case). */
export function volumePolicyName(name: string): string {
  const readable = validateVolumeName(name).toLowerCase().replace(/[^a-z0-9_-]/g, '_').slice(0, 60);
  return `secretfs-vol-${readable}-${shortHash(name)}`;
}
