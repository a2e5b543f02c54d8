import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** The local test image; no test ever pulls from a registry. */
export const TEST_IMAGE = 'secretfs-test/busybox:latest';

const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];
const APPLETS = ['sh', 'cat', 'ls', 'stat', 'echo', 'sleep', 'id', 'test', 'wc', 'head', 'true', 'false', 'env'];

async function imageExists(ref: string): Promise<boolean> {
  try {
    await exec('docker', ['image', 'inspect', ref], { timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Builds `TEST_IMAGE` with `docker import` from a folder holding Debian's static busybox
 * (package busybox-static) and a few applet links, unless it exists already. Returns its ref.
 */
export async function ensureTestImage(ref = TEST_IMAGE): Promise<string> {
  if (await imageExists(ref)) return ref;
  const busybox = BUSYBOX_CANDIDATES.find((p) => existsSync(p));
  if (!busybox) throw new Error('busybox not found: apt-get install -y busybox-static');
  const root = await mkdtemp(join(tmpdir(), 'secretfs-image-'));
  try {
    await mkdir(join(root, 'bin'), { recursive: true });
    await mkdir(join(root, 'tmp'), { recursive: true });
    await copyFile(busybox, join(root, 'bin', 'busybox'));
    for (const applet of APPLETS) await symlink('busybox', join(root, 'bin', applet));
    await new Promise<void>((resolve, reject) => {
      const tar = spawn('tar', ['-C', root, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const imp = spawn('docker', ['import', '--change', 'ENV PATH=/bin', '--change', 'CMD ["/bin/sh"]', '-', ref], { stdio: ['pipe', 'ignore', 'inherit'] });
      tar.stdout.pipe(imp.stdin);
      imp.on('error', reject);
      imp.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`docker import exited ${code}`))));
    });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  return ref;
}
