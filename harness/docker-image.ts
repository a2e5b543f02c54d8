import { ensureBusyboxImage } from '../lib/docker/local-image.js';

/** The local test image; no test ever pulls from a registry. */
export const TEST_IMAGE = 'secretfs-test/busybox:latest';

/**
 * Builds TEST_IMAGE with `docker import` from Debian's busybox-static unless it exists, on the
 * engine `env` points at (DOCKER_HOST of a private test dockerd; default: this process's).
 */
export function ensureTestImage(ref = TEST_IMAGE, env: NodeJS.ProcessEnv = {}): Promise<string> {
  return ensureBusyboxImage(ref, 'docker', { ...process.env, ...env });
}
