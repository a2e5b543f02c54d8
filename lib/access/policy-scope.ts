import { randomBytes } from 'node:crypto';
import { link, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import type { Paths } from '../paths.js';
import { readOptionalFile, writePrivateFile } from '../private-files.js';

/** The file in SECRETFS_HOME that keeps this installation's policy scope. */
export function policyScopeFile(paths: Paths): string {
  return join(paths.home, 'volume-policy-scope');
}

const SCOPE = /^[0-9a-f]{32}$/;

/**
 * This installation's scope for the names of the volume policies it writes (`volume create`,
 * `run`): 128 random bits, made once and kept in the home (0600). Within an installation a
 * volume's policy name is deterministic; outside it, it cannot be guessed: another host's driver
 * credential (which may mint any `secretfs-volume-*` policy through the role) cannot name this
 * host's, and two hosts sharing one Vault never share, or remove, each other's policies.
 */
export async function readPolicyScope(paths: Paths): Promise<string> {
  const file = policyScopeFile(paths);
  const existing = (await readOptionalFile(file))?.trim();
  if (existing !== undefined) {
    if (!SCOPE.test(existing)) throw new ConfigError(`${file} is damaged (expected 32 hex digits); remove it only when no volume made with it is left`);
    return existing;
  }
  // Made once even when two commands start at the same time: written aside, then linked into place.
  const scope = randomBytes(16).toString('hex');
  const aside = `${file}.${randomBytes(6).toString('hex')}.new`;
  await writePrivateFile(aside, scope + '\n');
  try {
    await link(aside, file);
    return scope;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return readPolicyScope(paths);
  } finally {
    await unlink(aside).catch(() => undefined);
  }
}
