import { createWriteStream, mkdirSync, openSync, closeSync, chmodSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';

/** One open of a secret file. Never the value. */
export interface AuditEntry {
  /** The mount: a volume name, or the mountpoint of a foreground mount. */
  mount: string;
  /** The Vault path of the secret, e.g. secret/app-1/db. */
  path: string;
  /** The file opened: a key, or a view name (.secretfs.json, .secretfs.env). */
  key: string;
  version?: number;
  /** 'ok', 'stale' (served under stale_if_error), or the errno name (ENOENT, EACCES, EIO...). */
  result: string;
}

/** Where the filesystem records opens. */
export interface AuditLog {
  record(entry: AuditEntry): void;
  /** Flushes and closes the file (idempotent). */
  close(): Promise<void>;
}

/** An audit log that records nothing. */
export const nullAuditLog: AuditLog = { record: () => {}, close: async () => {} };

/**
 * Opens an audit log: JSON lines `{time, mount, path, key, version, result}` appended to a file
 * created 0600 in a 0700 directory, or handed to `write` (tests). Appends are buffered and
 * asynchronous: the process that writes also serves FUSE requests, so a synchronous write would
 * add a disk write to every open.
 */
export function createAuditLog(target: { file: string } | { write: (line: string) => void }): AuditLog {
  let write: (line: string) => void;
  let stream: WriteStream | undefined;
  if ('file' in target) {
    mkdirSync(dirname(target.file), { recursive: true, mode: 0o700 });
    closeSync(openSync(target.file, 'a', 0o600));
    chmodSync(target.file, 0o600);
    const s = createWriteStream(target.file, { flags: 'a', mode: 0o600 });
    // A full disk must not take the filesystem down with it: audit failures are dropped.
    s.on('error', () => {});
    stream = s;
    write = (line) => s.write(line);
  } else {
    write = target.write;
  }
  let closed = false;
  return {
    record(entry) {
      if (closed) return;
      const line = { time: new Date().toISOString(), mount: entry.mount, path: entry.path, key: entry.key, version: entry.version ?? null, result: entry.result };
      write(JSON.stringify(line) + '\n');
    },
    close() {
      closed = true;
      const s = stream;
      stream = undefined;
      if (!s) return Promise.resolve();
      return new Promise<void>((resolve) => s.end(() => resolve()));
    },
  };
}
