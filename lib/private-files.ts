import { mkdir, open, rename, chmod, readFile } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';

/** Creates a directory (and parents) readable by its owner only. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/**
 * Writes a file atomically with mode 0600: a temp file in the same directory, fsync, rename.
 * A reader sees either the old or the new content, never a half-written file.
 */
export async function writePrivateFile(path: string, content: string | Uint8Array): Promise<void> {
  await ensurePrivateDir(dirname(path));
  // node:crypto on the first write only: every command reads private files, few write them (~4 ms of a start).
  const { randomBytes } = await import('node:crypto');
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
}

/** Reads a file, or returns undefined when it does not exist. */
export async function readOptionalFile(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
