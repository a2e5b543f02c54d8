import { closeSync, open as openFd, writeSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * The store's audit log: one JSON line per request with time, operation, path, the token's
 * accessor, remote address and status. Request and response values are never written
 * (not even hashed): the log says who did what, not what the secrets are.
 */

/** One audit record. */
export interface AuditRecord {
  time: string;
  request_id: string;
  operation: string;
  method: string;
  path: string;
  accessor: string;
  remote_address: string;
  status: number;
  wrapped?: boolean;
  /** The X-Vault-Namespace header as sent (ignored, as Vault Community Edition does). */
  namespace?: string;
}

/**
 * An append-only JSON-lines audit log (mode 0600). A record is on file before its request is
 * answered, as Vault's audit devices log a response before returning it: whoever has the answer
 * finds the line (a test reading the log after a request sees exactly the requests answered).
 */
export class AuditLog {
  private constructor(
    readonly file: string,
    private fd: number | undefined,
  ) {}

  /** Opens (creating with mode 0600) the audit log for appending. */
  static async open(file: string): Promise<AuditLog> {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const fd = await new Promise<number>((resolve, reject) => openFd(file, 'a', 0o600, (err, fd) => (err ? reject(err) : resolve(fd))));
    try {
      await chmod(file, 0o600);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return new AuditLog(file, fd);
  }

  /**
   * Appends one record before the caller answers: one write(2) of a short line to an O_APPEND
   * descriptor (the page cache, not a disk flush), in request order. A failed write is dropped:
   * the log never fails a request.
   */
  write(record: AuditRecord): void {
    if (this.fd === undefined) return;
    try {
      writeSync(this.fd, JSON.stringify(record) + '\n');
    } catch {
      // dropped, as documented above
    }
  }

  /** Closes the log. */
  async close(): Promise<void> {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    closeSync(fd);
  }
}
