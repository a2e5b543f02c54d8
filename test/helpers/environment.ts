import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** True in CI, where a missing Docker engine or FUSE is a failure, not a skip. */
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

/** Whether a Docker engine answers. */
export async function dockerAnswers(): Promise<boolean> {
  try {
    await exec('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

/** Whether FUSE can be mounted here: /dev/fuse and fusermount exist. */
export function fuseAvailable(): boolean {
  return existsSync('/dev/fuse') && (existsSync('/bin/fusermount') || existsSync('/usr/bin/fusermount') || existsSync('/bin/fusermount3') || existsSync('/usr/bin/fusermount3'));
}

/**
 * Returns a reason to skip when a requirement is missing outside CI; in CI it throws, so the
 * suite fails instead of passing by skipping (architecture.md §5).
 */
export async function missingRequirement(needs: { docker?: boolean; fuse?: boolean }): Promise<string | undefined> {
  const missing: string[] = [];
  if (needs.fuse && !fuseAvailable()) missing.push('FUSE (/dev/fuse and fusermount)');
  if (needs.docker && !(await dockerAnswers())) missing.push('a Docker engine');
  if (missing.length === 0) return undefined;
  const reason = `needs ${missing.join(' and ')}`;
  if (IN_CI) throw new Error(`CI=true but this test ${reason}`);
  console.log(`  skipped: ${reason}`);
  return reason;
}
