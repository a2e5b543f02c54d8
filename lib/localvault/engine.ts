import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { StoreError } from '../errors.js';

/**
 * The store's storage engine: SQLite (better-sqlite3) in WAL mode with synchronous=FULL, one row
 * per record. Every value is sealed on its own with AES-256-GCM under the store key, with its
 * record key as associated data, so a value copied to another key, or any flipped byte, fails
 * to open. A commit is one transaction that is on disk (fsync) when `commit` returns.
 *
 * Deleted or destroyed values: `secure_delete` overwrites freed cells and pages with zeros when
 * the deleting transaction is checkpointed into the database file; until then the old page images
 * stay in the write-ahead log (`store.db-wal`), which is checkpointed every 1000 pages and at
 * close, and is then overwritten from its start by later commits. `compact()` (a compacting copy
 * that replaces the database file and starts a new log) bounds this to "until the next compact".
 */

/** The database file, inside the data directory. */
export const ENGINE_FILE = 'store.db';
/** Prefix of the compacting copy while it is being written (removed at start when a crash left one). */
const COMPACT_SUFFIX = '.compact.tmp';
const RECORD_FORMAT = 1;
const IV_LEN = 12;
const TAG_LEN = 16;
const AAD_PREFIX = Buffer.from('secretfs-record\0', 'ascii');

type Database = BetterSqlite3.Database;
type Statement = BetterSqlite3.Statement;

function loadSqlite(): typeof BetterSqlite3 {
  // better-sqlite3 is CommonJS with a native addon; load it only when a store opens.
  return createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
}

function aad(key: string): Buffer {
  return Buffer.concat([AAD_PREFIX, Buffer.from(key, 'utf8')]);
}

/** Seals one record value: format byte, iv, tag, ciphertext; the record key is the associated data. */
export function sealRecord(storeKey: Buffer, key: string, value: unknown): Buffer {
  const iv = randomBytes(IV_LEN);
  const cipher = createCipheriv('aes-256-gcm', storeKey, iv);
  cipher.setAAD(aad(key));
  const ct = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.from([RECORD_FORMAT]), iv, cipher.getAuthTag(), ct]);
}

/** Opens a sealed record; throws (without detail) when it was moved, modified or sealed with another key. */
export function openRecord(storeKey: Buffer, key: string, blob: Buffer): unknown {
  if (blob.length < 1 + IV_LEN + TAG_LEN || blob[0] !== RECORD_FORMAT) throw new Error('not a sealed record');
  const decipher = createDecipheriv('aes-256-gcm', storeKey, blob.subarray(1, 1 + IV_LEN));
  decipher.setAAD(aad(key));
  decipher.setAuthTag(blob.subarray(1 + IV_LEN, 1 + IV_LEN + TAG_LEN));
  const text = Buffer.concat([decipher.update(blob.subarray(1 + IV_LEN + TAG_LEN)), decipher.final()]).toString('utf8');
  return JSON.parse(text);
}

/** One change of a commit: a value to store, or undefined to delete the record. */
export type RecordWrite = [key: string, value: unknown];

/** Creates an empty file with mode 0600 unless it exists. */
function createPrivateFile(path: string): void {
  closeSync(openSync(path, 'a', 0o600));
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function damaged(file: string, why: string, cause?: unknown): StoreError {
  return new StoreError(`the store database ${file} is damaged (${why}); refusing to start`, {
    cause,
    hint: 'restore it from a backup, or move it away to start an empty store (all secrets in it are then lost)',
  });
}

/** What `compact()` did. */
export interface CompactResult {
  bytesBefore: number;
  bytesAfter: number;
  ms: number;
  records: number;
}

/** The engine over one data directory. */
export class Engine {
  private db!: Database;
  private putStmt!: Statement;
  private delStmt!: Statement;
  private getStmt!: Statement;
  /** Keys committed while a compaction copies the database (re-applied to the copy before it replaces it). */
  private sinceCompactStart?: Set<string>;
  private compacting?: Promise<CompactResult>;

  private constructor(
    readonly dir: string,
    private readonly storeKey: Buffer,
  ) {}

  get file(): string {
    return join(this.dir, ENGINE_FILE);
  }

  /**
   * Opens (creating when needed) the database in `dir`, removing temporary files a crash may have
   * left, and checks its structure. Throws StoreError naming the file when it is damaged.
   */
  static open(dir: string, storeKey: Buffer): Engine {
    const engine = new Engine(dir, storeKey);
    removeStaleTempFiles(dir);
    engine.connect();
    return engine;
  }

  private connect(): void {
    const Sqlite = loadSqlite();
    let db: Database;
    try {
      // Created 0600 before SQLite opens it; its -wal and -shm files take the same mode.
      createPrivateFile(this.file);
      db = new Sqlite(this.file);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('secure_delete = ON');
      db.pragma('journal_size_limit = 8388608');
      db.exec('CREATE TABLE IF NOT EXISTS records (k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID');
      const check = db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw damaged(this.file, `quick_check: ${String(check)}`);
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw damaged(this.file, (err as Error).message, err);
    }
    this.db = db;
    this.putStmt = db.prepare('INSERT OR REPLACE INTO records (k, v) VALUES (?, ?)');
    this.delStmt = db.prepare('DELETE FROM records WHERE k = ?');
    this.getStmt = db.prepare('SELECT v FROM records WHERE k = ?');
  }

  /** Every record, opened and checked, in key order. Throws StoreError naming the file and the record. */
  readAll(): Array<[string, unknown]> {
    const out: Array<[string, unknown]> = [];
    for (const row of this.db.prepare('SELECT k, v FROM records ORDER BY k').iterate() as Iterable<{ k: string; v: Buffer }>) {
      try {
        out.push([row.k, openRecord(this.storeKey, row.k, row.v)]);
      } catch (err) {
        throw damaged(this.file, `record ${JSON.stringify(row.k)} fails its check: it was modified, moved or written with another key`, err);
      }
    }
    return out;
  }

  /** One record's value, or undefined. */
  get(key: string): unknown {
    const row = this.getStmt.get(key) as { v: Buffer } | undefined;
    return row ? openRecord(this.storeKey, key, row.v) : undefined;
  }

  /** Whether the database holds no record. */
  isEmpty(): boolean {
    return this.db.prepare('SELECT 1 FROM records LIMIT 1').get() === undefined;
  }

  /** Writes the changes in one transaction, durable (fsync) when this returns. Throws on failure, changing nothing. */
  commit(writes: RecordWrite[]): void {
    if (writes.length === 0) return;
    const sealed = writes.map(([k, v]) => [k, v === undefined ? undefined : sealRecord(this.storeKey, k, v)] as const);
    this.db.transaction(() => {
      for (const [k, blob] of sealed) {
        if (blob === undefined) this.delStmt.run(k);
        else this.putStmt.run(k, blob);
      }
    })();
    if (this.sinceCompactStart) for (const [k] of writes) this.sinceCompactStart.add(k);
  }

  /** Size of the database and its log in bytes. */
  sizeBytes(): number {
    let total = 0;
    for (const suffix of ['', '-wal']) {
      try {
        total += statSync(this.file + suffix).size;
      } catch {
        /* no log yet */
      }
    }
    return total;
  }

  /**
   * A compacting copy: a low-priority child process writes a fresh copy (VACUUM INTO, from a
   * read snapshot, so requests keep being served and committed meanwhile); the records committed
   * since the copy started are then written into it, and it replaces the database file. Freed
   * pages (and any deleted value in them) are gone from the new file, and the log starts empty.
   */
  compact(): Promise<CompactResult> {
    this.compacting ??= this.runCompaction().finally(() => {
      this.compacting = undefined;
    });
    return this.compacting;
  }

  private async runCompaction(): Promise<CompactResult> {
    const started = Date.now();
    const bytesBefore = this.sizeBytes();
    const tmp = this.file + COMPACT_SUFFIX;
    rmSync(tmp, { force: true });
    createPrivateFile(tmp);
    this.sinceCompactStart = new Set();
    try {
      await copyInChildProcess(this.file, tmp);
      // Synchronous from here on: no commit can slip in between the catch-up and the swap.
      const Sqlite = loadSqlite();
      const copy = new Sqlite(tmp);
      try {
        copy.pragma('journal_mode = DELETE');
        copy.pragma('synchronous = FULL');
        const put = copy.prepare('INSERT OR REPLACE INTO records (k, v) VALUES (?, ?)');
        const del = copy.prepare('DELETE FROM records WHERE k = ?');
        const keys = [...this.sinceCompactStart];
        copy.transaction(() => {
          for (const k of keys) {
            const row = this.getStmt.get(k) as { v: Buffer } | undefined;
            if (row) put.run(k, row.v);
            else del.run(k);
          }
        })();
      } finally {
        copy.close();
      }
      this.sinceCompactStart = undefined;
      this.db.close();
      renameSync(tmp, this.file);
      rmSync(this.file + '-wal', { force: true });
      rmSync(this.file + '-shm', { force: true });
      fsyncDir(this.dir);
      this.connect();
      const records = (this.db.prepare('SELECT count(*) AS n FROM records').get() as { n: number }).n;
      return { bytesBefore, bytesAfter: this.sizeBytes(), ms: Date.now() - started, records };
    } catch (err) {
      this.sinceCompactStart = undefined;
      rmSync(tmp, { force: true });
      if (!this.db.open) this.connect();
      throw err;
    }
  }

  /** Waits for a running compaction, then closes the database (the log is checkpointed and removed). */
  async close(): Promise<void> {
    await this.compacting?.catch(() => {});
    if (this.db.open) this.db.close();
  }
}

/**
 * Runs VACUUM INTO in a child process at the lowest CPU priority, so the store's own thread keeps
 * the CPU for requests while the copy is written (a worker thread would compete at full priority).
 */
function copyInChildProcess(file: string, tmp: string): Promise<void> {
  const script = `const Sqlite = require(process.argv[1]);
    const db = new Sqlite(process.argv[2]);
    try { db.prepare('VACUUM INTO ?').run(process.argv[3]); } finally { db.close(); }`;
  const child = spawn(process.execPath, ['-e', script, createRequire(import.meta.url).resolve('better-sqlite3'), file, tmp], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    setPriority(child.pid!, 19);
  } catch {
    /* not allowed: the copy runs at normal priority */
  }
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the compacting copy failed (exit ${code}): ${stderr.trim().split('\n').pop()}`))));
  });
}

/**
 * Removes what a crash can leave in the data directory: a half-written compacting copy, and the
 * temporary files of atomic file writes (`.<name>.<random>.tmp`, also those of older versions).
 */
export function removeStaleTempFiles(dir: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (name.endsWith(COMPACT_SUFFIX) || /^\..+\.[0-9a-f]+\.tmp$/.test(name)) {
      rmSync(join(dir, name), { force: true });
      removed.push(name);
    }
  }
  return removed;
}
