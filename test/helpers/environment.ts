import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { testDockerdMissing } from '../../harness/dockerd.js';

const exec = promisify(execFile);

/** True in CI, where a missing Docker engine or FUSE is a failure, not a skip. */
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

/**
 * The line a skipped suite or test prints; scripts/test.mjs counts the cases it covers as
 * skipped (with the reason), not passed, and under CI=true fails the run.
 */
export const SKIP_MARKER = '[secretfs-skip]';

/** Whether the docker CLI reaches an engine (the one `env` points at; default this process's). */
export async function dockerAnswers(env: NodeJS.ProcessEnv = {}): Promise<boolean> {
  try {
    await exec('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 20_000, env: { ...process.env, ...env } });
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
 * suite fails instead of passing by skipping (architecture.md §5). `docker` means a private
 * dockerd of the harness (harness/dockerd.ts): root, dockerd and unshare. Prints nothing:
 * each case that then does not run says so with `return skipped(reason)`.
 */
export async function missingRequirement(needs: { docker?: boolean; fuse?: boolean }): Promise<string | undefined> {
  const missing: string[] = [];
  if (needs.fuse && !fuseAvailable()) missing.push('FUSE (/dev/fuse and fusermount)');
  if (needs.docker) {
    const dockerd = testDockerdMissing();
    if (dockerd) missing.push(dockerd);
  }
  if (missing.length === 0) return undefined;
  const reason = `needs ${missing.join(' and ')}`;
  if (IN_CI) throw new Error(`CI=true but this test ${reason}`);
  return reason;
}

/**
 * Reports a skip the runner counts (see SKIP_MARKER): `scope: 'test'`
 * (in a case: `if (skip) return skipped(skip);`) counts that case, 'suite' (in a before hook)
 * every case of the suite.
 */
export function skipped(reason: string, scope: 'suite' | 'test' = 'test'): void {
  console.log(`\n  ${SKIP_MARKER} ${scope}: ${reason}`);
}
