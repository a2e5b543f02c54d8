import { createHash } from 'node:crypto';
import { validateVolumeName } from '../access/volume-access.js';

// The volume-name rule is part of a volume's Vault access (shared with the CLI).
export { MAX_VOLUME_NAME_LENGTH, validateVolumeName } from '../access/volume-access.js';

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
