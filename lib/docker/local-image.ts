import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DockerError } from '../errors.js';

const exec = promisify(execFile);
const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];
const APPLETS = ['sh', 'cat', 'ls', 'stat', 'echo', 'sleep', 'id', 'test', 'wc', 'head', 'true', 'false', 'env', 'printf', 'md5sum'];

/** Whether the engine has the image locally. */
export async function hasImage(ref: string, dockerCli = 'docker', env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  return exec(dockerCli, ['image', 'inspect', ref], { timeout: 20_000, env }).then(() => true, () => false);
}

/**
 * Builds a tiny local image with `docker import` from a folder holding Debian's static busybox
 * (package busybox-static) and applet links, so a machine without registry access has an image
 * to run. Does nothing when the image exists. Returns the ref. `env` reaches the docker CLI
 * (e.g. DOCKER_HOST of a test's private engine).
 */
export async function ensureBusyboxImage(ref: string, dockerCli = 'docker', env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (await hasImage(ref, dockerCli, env)) return ref;
  const busybox = BUSYBOX_CANDIDATES.find((p) => existsSync(p));
  if (!busybox) throw new DockerError('busybox is not installed', { hint: 'apt-get install -y busybox-static' });
  const root = await mkdtemp(join(tmpdir(), 'secretfs-image-'));
  try {
    await mkdir(join(root, 'bin'), { recursive: true });
    await mkdir(join(root, 'tmp'), { recursive: true });
    await copyFile(busybox, join(root, 'bin', 'busybox'));
    for (const applet of APPLETS) await symlink('busybox', join(root, 'bin', applet));
    await new Promise<void>((resolve, reject) => {
      const tar = spawn('tar', ['-C', root, '-c', '.'], { stdio: ['ignore', 'pipe', 'ignore'] });
      const imp = spawn(dockerCli, ['import', '--change', 'ENV PATH=/bin', '--change', 'CMD ["/bin/sh"]', '-', ref], { stdio: ['pipe', 'ignore', 'pipe'], env });
      let stderr = '';
      imp.stderr.on('data', (d) => (stderr += d));
      tar.stdout.pipe(imp.stdin);
      imp.on('error', reject);
      imp.on('close', (code) => (code === 0 ? resolve() : reject(new DockerError(`docker import failed: ${stderr.trim()}`))));
    });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  return ref;
}

/** Pulls an image, giving up after `timeoutMs` (machines without registry access fail fast or time out). */
export async function tryPull(ref: string, timeoutMs: number, dockerCli = 'docker'): Promise<boolean> {
  return exec(dockerCli, ['pull', '-q', ref], { timeout: timeoutMs }).then(() => true, () => false);
}
