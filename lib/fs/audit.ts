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

/** A watched volume's secret changed and the driver acted on its containers. Never a value. */
export interface ChangeAuditEntry {
  volume: string;
  /** The Vault path of the secret. */
  path: string;
  /** The version before and after: a KV v2 version number, `h:<digest>` on KV v1, `absent` or `deleted`. */
  oldVersion: string;
  newVersion: string;
  /** What was done: `signal:HUP`, `restart` or `none`. */
  action: string;
  /** The containers acted on, by name. */
  containers: string[];
  /** 'ok', or what failed (never a value). */
  result: string;
}

/** Where the driver records the changes it acted on: the same file as the opens. */
export interface ChangeAuditSink {
  /** One line `{time, event: "change", volume, path, old_version, new_version, action, containers, result}`. */
  recordChange(entry: ChangeAuditEntry): void;
}

/** Where the filesystem records opens. */
export interface AuditLog {
  record(entry: AuditEntry): void;
  /** Flushes and closes the file (idempotent). */
  close(): Promise<void>;
}

/** Longest time an audit line waits in memory before it is written. */
export const AUDIT_FLUSH_MS = 100;
/** Pending audit lines are written at once when they reach this size. */
export const AUDIT_FLUSH_BYTES = 64 * 1024;

/** An audit log that records nothing. */
export const nullAuditLog: AuditLog & ChangeAuditSink = { record: () => {}, recordChange: () => {}, close: async () => {} };

/**
 * Opens an audit log: JSON lines `{time, mount, path, key, version, result}` appended to a file
 * created 0600 in a 0700 directory, or handed to `write` (tests). Appends are buffered and
 * asynchronous: the process that writes also serves FUSE requests, so a synchronous write would
 * add a disk write to every open. Lines for the file are gathered for up to AUDIT_FLUSH_MS (or
 * AUDIT_FLUSH_BYTES) and written with one write: a write per open costs a thread-pool write and
 * its completion callback on the JS thread that serves FUSE (measured by bench/: about 10 us of a
 * 60-90 us warm open). close() writes what is pending.
 */
export function createAuditLog(target: { file: string } | { write: (line: string) => void }): AuditLog & ChangeAuditSink {
  let write: (line: string) => void;
  let stream: WriteStream | undefined;
  let pending: string[] = [];
  let pendingBytes = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0 || !stream) return;
    stream.write(pending.join(''));
    pending = [];
    pendingBytes = 0;
  };
  if ('file' in target) {
    mkdirSync(dirname(target.file), { recursive: true, mode: 0o700 });
    closeSync(openSync(target.file, 'a', 0o600));
    chmodSync(target.file, 0o600);
    const s = createWriteStream(target.file, { flags: 'a', mode: 0o600 });
    // A full disk must not take the filesystem down with it: audit failures are dropped.
    s.on('error', () => {});
    stream = s;
    write = (line) => {
      pending.push(line);
      pendingBytes += line.length;
      if (pendingBytes >= AUDIT_FLUSH_BYTES) flush();
      else if (!timer) {
        timer = setTimeout(flush, AUDIT_FLUSH_MS);
        // Never keeps a process alive: close() flushes on the way out.
        timer.unref();
      }
    };
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
    recordChange(e) {
      if (closed) return;
      const line = { time: new Date().toISOString(), event: 'change', volume: e.volume, path: e.path, old_version: e.oldVersion, new_version: e.newVersion, action: e.action, containers: e.containers, result: e.result };
      write(JSON.stringify(line) + '\n');
    },
    close() {
      closed = true;
      flush();
      const s = stream;
      stream = undefined;
      if (!s) return Promise.resolve();
      return new Promise<void>((resolve) => s.end(() => resolve()));
    },
  };
}
