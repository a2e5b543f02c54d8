import { createHmac, randomBytes } from 'node:crypto';

/**
 * Keyed with a random key of this process, so the digest tells whether a secret changed but,
 * unlike a plain hash, cannot be used to guess a low-entropy value offline from an audit line or
 * a `.secretfs.version` file. It therefore differs between processes (and driver restarts).
 */
const KEY = randomBytes(32);

/** A short digest of a secret's data (KV v1 has no version number): `h:` and 16 hex digits. */
export function contentDigest(data: Record<string, unknown>): string {
  return 'h:' + createHmac('sha256', KEY).update(JSON.stringify(data)).digest('hex').slice(0, 16);
}
