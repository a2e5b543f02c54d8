import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from '../errors.js';
import { deserializeState, type StoreState } from './state.js';

/**
 * Encrypted persistence of the store: one data file (AES-256-GCM) under a key kept in a separate
 * 0600 file, in a 0700 directory. Writes are atomic (temp file, fsync, rename, fsync of the
 * directory). A damaged file stops the server with a clear message; it is never reset.
 */

/** The encrypted data file, inside the data directory. */
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

/** The store's files in one data directory. */
export class Storage {
  private constructor(
    readonly dir: string,
    private readonly key: Buffer,
  ) {}

  /** Opens (creating when needed) the data directory and its key. */
  static async open(dir: string): Promise<Storage> {
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new StoreError(`cannot use ${dir} as the store data directory: ${(err as Error).message}`, { cause: err });
    }
    await chmod(dir, 0o700);
    const keyPath = join(dir, KEY_FILE);
    const dataPath = join(dir, DATA_FILE);
    let keyText: string | undefined;
    try {
      keyText = await readFile(keyPath, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EISDIR') throw new StoreError(`the store key file ${keyPath} is a directory, not a file; refusing to start`);
      if (code !== 'ENOENT') throw new StoreError(`cannot read the store key file ${keyPath}: ${(err as Error).message}`, { cause: err });
    }
    if (keyText === undefined) {
      if (await exists(dataPath)) {
        throw new StoreError(`the store key file ${keyPath} is missing but ${dataPath} exists; refusing to start`, {
          hint: 'restore the key file from a backup; without it the data cannot be decrypted',
        });
      }
      const key = randomBytes(32);
      await writeFileAtomic(dir, KEY_FILE, key.toString('hex') + '\n');
      return new Storage(dir, key);
    }
    const hex = keyText.trim();
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new StoreError(`the store key file ${keyPath} is damaged (expected 64 hex digits); refusing to start`);
    return new Storage(dir, Buffer.from(hex, 'hex'));
  }

  get dataFile(): string {
    return join(this.dir, DATA_FILE);
  }

  /** The stored state, or undefined for a new store. Throws StoreError when the file is damaged. */
  async load(): Promise<StoreState | undefined> {
    let blob: Buffer;
    try {
      blob = await readFile(this.dataFile);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      if (code === 'EISDIR') {
        throw new StoreError(`the store data file ${this.dataFile} is a directory, not a file; refusing to start`, {
          hint: 'move that directory away (the store writes its data file there)',
        });
      }
      throw new StoreError(`cannot read the store data file ${this.dataFile}: ${(err as Error).message}`, { cause: err });
    }
    const text = openDocument(this.key, blob, this.dataFile);
    try {
      return deserializeState(text);
    } catch (err) {
      throw new StoreError(`the store data file ${this.dataFile} is damaged (${(err as Error).message}); refusing to start`, { cause: err });
    }
  }

  /** Encrypts and atomically writes a serialized state. */
  async save(serialized: string): Promise<void> {
    await writeFileAtomic(this.dir, DATA_FILE, sealDocument(this.key, serialized));
  }
}

/**
 * Serializes and coalesces saves: at most one write runs at a time; everything that asks to be
 * saved while a write is in flight shares the next write. `flush()` resolves once a write that
 * started after the call has finished, so a caller's mutation is durable when it resolves.
 */
export class Persister {
  private writing: Promise<void> | null = null;
  private pending: Promise<void> | null = null;

  constructor(private readonly write: () => Promise<void>) {}

  /** Makes the current in-memory state durable. */
  flush(): Promise<void> {
    if (!this.writing) {
      const run = this.write();
      this.writing = run.finally(() => {
        this.writing = null;
      });
      return this.writing;
    }
    if (!this.pending) {
      this.pending = this.writing
        .catch(() => {})
        .then(() => {
          this.pending = null;
          return this.flush();
        });
    }
    return this.pending;
  }

  /** Waits for every write in flight. */
  async idle(): Promise<void> {
    while (this.writing || this.pending) await (this.pending ?? this.writing)!.catch(() => {});
  }
}
