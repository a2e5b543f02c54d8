import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

/**
 * Vault's API uses the non-standard HTTP method LIST, which Node's HTTP parser rejects.
 * This module sits between the TCP socket and node:http: it follows HTTP/1.1 message framing
 * (headers, Content-Length or chunked bodies) and rewrites a request line `LIST /path` to
 * `GET /path` plus the header below, so node:http parses it and the router sees a LIST.
 */

/** Header added to rewritten requests; its value is the original method. */
export const ORIGINAL_METHOD_HEADER = 'x-secretfs-original-method';

const CRLFCRLF = Buffer.from('\r\n\r\n');
const MAX_HEAD = 64 * 1024;

type State = 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailer' | 'passthrough';

/** Incremental rewriter of an HTTP/1.1 request byte stream. Pure: push bytes in, get bytes out. */
export class ListMethodRewriter {
  private state: State = 'head';
  private pending: Buffer = Buffer.alloc(0);
  private remaining = 0;

  /** Feeds bytes; returns the bytes to hand to the HTTP parser. */
  push(chunk: Buffer): Buffer {
    const out: Buffer[] = [];
    let buf: Buffer = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    while (buf.length > 0) {
      switch (this.state) {
        case 'passthrough':
          out.push(buf);
          buf = Buffer.alloc(0);
          break;
        case 'head': {
          const end = buf.indexOf(CRLFCRLF);
          if (end < 0) {
            if (buf.length > MAX_HEAD) {
              // Not something we can frame; let node:http reject it.
              this.state = 'passthrough';
              continue;
            }
            this.pending = buf;
            buf = Buffer.alloc(0);
            break;
          }
          const head = buf.subarray(0, end + 4);
          buf = buf.subarray(end + 4);
          out.push(this.rewriteHead(head));
          break;
        }
        case 'body': {
          const n = Math.min(this.remaining, buf.length);
          out.push(buf.subarray(0, n));
          buf = buf.subarray(n);
          this.remaining -= n;
          if (this.remaining === 0) this.state = 'head';
          break;
        }
        case 'chunk-size':
        case 'trailer': {
          const eol = buf.indexOf('\r\n');
          if (eol < 0) {
            if (buf.length > MAX_HEAD) {
              this.state = 'passthrough';
              continue;
            }
            this.pending = buf;
            buf = Buffer.alloc(0);
            break;
          }
          const line = buf.subarray(0, eol).toString('latin1');
          out.push(buf.subarray(0, eol + 2));
          buf = buf.subarray(eol + 2);
          if (this.state === 'trailer') {
            if (line === '') this.state = 'head';
          } else {
            const size = parseInt(line.split(';')[0].trim(), 16);
            if (!Number.isFinite(size) || size < 0) this.state = 'passthrough';
            else if (size === 0) this.state = 'trailer';
            else {
              this.remaining = size;
              this.state = 'chunk-data';
            }
          }
          break;
        }
        case 'chunk-data': {
          const n = Math.min(this.remaining, buf.length);
          out.push(buf.subarray(0, n));
          buf = buf.subarray(n);
          this.remaining -= n;
          if (this.remaining === 0) {
            this.remaining = 2;
            this.state = 'chunk-crlf';
          }
          break;
        }
        case 'chunk-crlf': {
          const n = Math.min(this.remaining, buf.length);
          out.push(buf.subarray(0, n));
          buf = buf.subarray(n);
          this.remaining -= n;
          if (this.remaining === 0) this.state = 'chunk-size';
          break;
        }
      }
    }
    return out.length === 1 ? out[0] : Buffer.concat(out);
  }

  private rewriteHead(head: Buffer): Buffer {
    let text = head.toString('latin1');
    // Tolerate blank lines before a request line, as HTTP parsers do.
    const lead = /^(\r\n)*/.exec(text)![0];
    text = text.slice(lead.length);
    const firstEol = text.indexOf('\r\n');
    const requestLine = text.slice(0, firstEol);
    const lower = text.toLowerCase();
    const te = /\r\ntransfer-encoding:[^\r]*chunked/.test(lower);
    const cl = /\r\ncontent-length:\s*(\d+)/.exec(lower);
    if (te) this.state = 'chunk-size';
    else if (cl && Number(cl[1]) > 0) {
      this.state = 'body';
      this.remaining = Number(cl[1]);
    } else this.state = 'head';
    if (requestLine.startsWith('LIST ')) {
      text = `GET ${requestLine.slice(5)}\r\n${ORIGINAL_METHOD_HEADER}: LIST${text.slice(firstEol)}`;
      return Buffer.from(lead + text, 'latin1');
    }
    return head;
  }
}

/** A Duplex over a TCP socket whose readable side is the rewritten request stream. */
export class RewritingSocket extends Duplex {
  private readonly rewriter = new ListMethodRewriter();

  constructor(readonly socket: Socket) {
    super({ allowHalfOpen: true });
    socket.on('data', (chunk: Buffer) => {
      const out = this.rewriter.push(chunk);
      if (out.length > 0 && !this.push(out)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('timeout', () => this.emit('timeout'));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.socket.write(chunk, encoding, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end(cb);
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    this.socket.destroy();
    cb(err);
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.socket.remotePort;
  }
  get remoteFamily(): string | undefined {
    return this.socket.remoteFamily;
  }
  get localAddress(): string | undefined {
    return this.socket.localAddress;
  }
  get localPort(): number | undefined {
    return this.socket.localPort;
  }
  /** Passed through to the TCP socket (node:http uses it for its timeouts). */
  setTimeout(ms: number, cb?: () => void): this {
    this.socket.setTimeout(ms);
    if (cb) this.once('timeout', cb);
    return this;
  }
  setNoDelay(noDelay?: boolean): this {
    this.socket.setNoDelay(noDelay);
    return this;
  }
  setKeepAlive(enable?: boolean, delay?: number): this {
    this.socket.setKeepAlive(enable, delay);
    return this;
  }
  /** Ends the writable side once written data is flushed (node:http calls this). */
  destroySoon(): void {
    this.end();
  }
}
