import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from '../errors.js';

/**
 * The store's files besides the engine's database: the key file (64 hex digits, 0600) in the 0700
 * data directory, atomic small-file writes (the root token file), and the reader of the data file
 * of earlier versions (one AES-256-GCM sealed JSON document), which is migrated at first start.
 */

/** The data file of earlier versions (migrated into the engine at first start), inside the data directory. */
export const DATA_FILE = 'store.data';
/** The key file (64 hex digits, mode 0600), inside the data directory. */
export const KEY_FILE = 'store.key';
const MAGIC = Buffer.from('SFSVLT01', 'ascii');
const IV_LEN = 12;
const TAG_LEN = 16;

/** Encrypts a document into the data file format: magic, iv, tag, ciphertext. */
export function sealDocument(key: Buffer, plaintext: string): Buffer {
  const iv = randomBytes(IV_LEN);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(MAGIC);
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([MAGIC, iv, cipher.getAuthTag(), ct]);
}

/** Decrypts the data file format; throws StoreError naming the file when it is damaged. */
export function openDocument(key: Buffer, blob: Buffer, file: string): string {
  const damaged = (why: string) =>
    new StoreError(`the store data file ${file} is damaged (${why}); refusing to start`, {
      hint: `restore it from a backup, or move it away to start an empty store (all secrets in it are then lost)`,
    });
  if (blob.length < MAGIC.length + IV_LEN + TAG_LEN) throw damaged(`truncated: ${blob.length} bytes`);
  if (!blob.subarray(0, MAGIC.length).equals(MAGIC)) throw damaged('unknown format');
  const iv = blob.subarray(MAGIC.length, MAGIC.length + IV_LEN);
  const tag = blob.subarray(MAGIC.length + IV_LEN, MAGIC.length + IV_LEN + TAG_LEN);
  const ct = blob.subarray(MAGIC.length + IV_LEN + TAG_LEN);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(MAGIC);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
  } catch {
    throw damaged('authentication failed: the file was modified, truncated or written with another key');
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Writes a file atomically with mode 0600 and makes the rename durable. */
export async function writeFileAtomic(dir: string, name: string, content: string | Uint8Array): Promise<void> {
  const target = join(dir, name);
  const tmp = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw err;
  } finally {
    await handle.close().catch(() => {});
  }
  await rename(tmp, target);
  const dirHandle = await open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}

/**
 * Opens (creating when needed) the 0700 data directory and reads its key, creating a new key for a
 * new store. Refuses when data exists without its key.
 */
export async function openStoreKey(dir: string, dataFiles: string[]): Promise<Buffer> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new StoreError(`cannot use ${dir} as the store data directory: ${(err as Error).message}`, { cause: err });
  }
  await chmod(dir, 0o700);
  const keyPath = join(dir, KEY_FILE);
  let keyText: string | undefined;
  try {
    keyText = await readFile(keyPath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EISDIR') throw new StoreError(`the store key file ${keyPath} is a directory, not a file; refusing to start`);
    if (code !== 'ENOENT') throw new StoreError(`cannot read the store key file ${keyPath}: ${(err as Error).message}`, { cause: err });
  }
  if (keyText === undefined) {
    for (const name of dataFiles) {
      const dataPath = join(dir, name);
      if (await exists(dataPath)) {
        throw new StoreError(`the store key file ${keyPath} is missing but ${dataPath} exists; refusing to start`, {
          hint: 'restore the key file from a backup; without it the data cannot be decrypted',
        });
      }
    }
    const key = randomBytes(32);
    await writeFileAtomic(dir, KEY_FILE, key.toString('hex') + '\n');
    return key;
  }
  const hex = keyText.trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new StoreError(`the store key file ${keyPath} is damaged (expected 64 hex digits); refusing to start`);
  return Buffer.from(hex, 'hex');
}

/** The legacy data file's document (JSON text), or undefined when there is none. Throws StoreError when damaged. */
export async function readLegacyDocument(dir: string, key: Buffer): Promise<string | undefined> {
  const file = join(dir, DATA_FILE);
  let blob: Buffer;
  try {
    blob = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'EISDIR') {
      throw new StoreError(`the store data file ${file} is a directory, not a file; refusing to start`, {
        hint: 'move that directory away (the store migrates a data file of that name at start)',
      });
    }
    throw new StoreError(`cannot read the store data file ${file}: ${(err as Error).message}`, { cause: err });
  }
  return openDocument(key, blob, file);
}
