import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

/**
 * Vault's API uses the non-standard HTTP method LIST, which Node's HTTP parser rejects.
 * This module sits between the TCP socket and node:http: it follows HTTP/1.1 message framing
 * (request line, headers, Content-Length or chunked bodies) and rewrites a request line
 * `LIST /path` to `GET /!list/path`, so node:http parses it and the server sees a LIST.
 *
 * Every byte is handed on as soon as it arrives (only a message's first few bytes, up to the end of
 * its method, wait for the next chunk): node:http sees partial and malformed heads as they come, so
 * its header and request timeouts run and it refuses what it refuses (bare LF, oversized heads)
 * exactly as a plain node:http server does. The framing is followed on a copy of each head.
 */

/** Prefix a rewritten LIST request's target gets; the server strips it and serves a LIST. */
export const LIST_TARGET_PREFIX = '/!list';

const CRLFCRLF = Buffer.from('\r\n\r\n');
const MAX_HEAD = 64 * 1024;
/** Longer than any method node:http knows; a longer token is not ours to rewrite. */
const MAX_METHOD = 24;

type State = 'method' | 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailer' | 'passthrough';

/** Incremental rewriter of an HTTP/1.1 request byte stream. Pure: push bytes in, get bytes out. */
export class ListMethodRewriter {
  private state: State = 'method';
  /** Bytes of the current method token (state 'method') or of a chunk-size/trailer line. */
  private pending: Buffer = Buffer.alloc(0);
  /** A copy of the current head so far (state 'head'), for framing. */
  private head: Buffer = Buffer.alloc(0);
  private remaining = 0;

  /** Feeds bytes; returns the bytes to hand to the HTTP parser. */
  push(chunk: Buffer): Buffer {
    const out: Buffer[] = [];
    let buf: Buffer = chunk;
    while (buf.length > 0) {
      switch (this.state) {
        case 'passthrough':
          out.push(buf);
          buf = Buffer.alloc(0);
          break;
        case 'method': {
          // Blank lines before a request line are tolerated, as HTTP parsers do.
          if (this.pending.length === 0 && (buf[0] === 0x0d || buf[0] === 0x0a)) {
            let n = 0;
            while (n < buf.length && (buf[n] === 0x0d || buf[n] === 0x0a)) n++;
            out.push(buf.subarray(0, n));
            buf = buf.subarray(n);
            break;
          }
          const token = Buffer.concat([this.pending, buf]);
          const sp = token.indexOf(0x20);
          if (sp < 0) {
            if (token.length > MAX_METHOD) {
              out.push(token);
              this.pending = Buffer.alloc(0);
              this.state = 'passthrough';
            } else this.pending = token;
            buf = Buffer.alloc(0);
            break;
          }
          const method = token.subarray(0, sp).toString('latin1');
          const line = method === 'LIST' ? Buffer.from(`GET ${LIST_TARGET_PREFIX}`, 'latin1') : token.subarray(0, sp + 1);
          out.push(line);
          this.head = token.subarray(0, sp + 1);
          this.pending = Buffer.alloc(0);
          buf = token.subarray(sp + 1);
          this.state = 'head';
          break;
        }
        case 'head': {
          const before = this.head.length;
          const copy = Buffer.concat([this.head, buf]);
          const end = copy.indexOf(CRLFCRLF, Math.max(0, before - 3));
          if (end < 0) {
            out.push(buf);
            buf = Buffer.alloc(0);
            // Not something we can frame (node:http refuses it by now); hand on the rest as is.
            if (copy.length > MAX_HEAD) this.state = 'passthrough';
            else this.head = copy;
            break;
          }
          const used = end + 4 - before;
          out.push(buf.subarray(0, used));
          buf = buf.subarray(used);
          this.frame(copy.subarray(0, end + 4));
          this.head = Buffer.alloc(0);
          break;
        }
        case 'body': {
          const n = Math.min(this.remaining, buf.length);
          out.push(buf.subarray(0, n));
          buf = buf.subarray(n);
          this.remaining -= n;
          if (this.remaining === 0) this.state = 'method';
          break;
        }
        case 'chunk-size':
        case 'trailer': {
          const line = Buffer.concat([this.pending, buf]);
          const eol = line.indexOf('\r\n');
          if (eol < 0) {
            out.push(buf);
            buf = Buffer.alloc(0);
            if (line.length > MAX_HEAD) this.state = 'passthrough';
            else this.pending = line;
            break;
          }
          const used = eol + 2 - this.pending.length;
          out.push(buf.subarray(0, used));
          buf = buf.subarray(used);
          const text = line.subarray(0, eol).toString('latin1');
          this.pending = Buffer.alloc(0);
          if (this.state === 'trailer') {
            if (text === '') this.state = 'method';
          } else {
            const size = parseInt(text.split(';')[0].trim(), 16);
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

  /** Where the message whose complete head this is ends: after Content-Length bytes, chunks, or now. */
  private frame(head: Buffer): void {
    const lower = head.toString('latin1').toLowerCase();
    const te = /\r\ntransfer-encoding:[^\r]*chunked/.test(lower);
    const cl = /\r\ncontent-length:\s*(\d+)/.exec(lower);
    if (te) this.state = 'chunk-size';
    else if (cl && Number(cl[1]) > 0) {
      this.state = 'body';
      this.remaining = Number(cl[1]);
    } else this.state = 'method';
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
