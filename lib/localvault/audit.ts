import { createWriteStream, type WriteStream } from 'node:fs';
import { chmod, mkdir, open } from 'node:fs/promises';
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

/** An append-only JSON-lines audit log (mode 0600). */
export class AuditLog {
  private constructor(
    readonly file: string,
    private readonly stream: WriteStream,
  ) {}

  /** Opens (creating with mode 0600) the audit log for appending. */
  static async open(file: string): Promise<AuditLog> {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const handle = await open(file, 'a', 0o600);
    await handle.close();
    await chmod(file, 0o600);
    const stream = createWriteStream(file, { flags: 'a', mode: 0o600 });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
    stream.on('error', () => {});
    return new AuditLog(file, stream);
  }

  /** Appends one record. Asynchronous: never blocks a request on disk. */
  write(record: AuditRecord): void {
    this.stream.write(JSON.stringify(record) + '\n');
  }

  /** Flushes and closes the log. */
  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(() => resolve()));
  }
}
