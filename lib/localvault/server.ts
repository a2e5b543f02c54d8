import { readLimitedBody } from '../http-body.js';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { LIST_TARGET_PREFIX, RewritingSocket } from './list-method.js';
import type { AddressInfo } from 'node:net';
import { Core, type StoreLogger } from './core.js';
import type { CompactResult } from './engine.js';
import { VaultHttpError, type Operation, type VaultRequest } from './envelope.js';
import { handleRequest, requiresToken, type Outcome } from './router.js';
import { DEFAULT_JSON_LIMITS, jsonLimitViolation, type JsonLimits } from './json-limits.js';
import { readListenerConfig, type ListenerConfig } from './listener-config.js';
import { parseWrapTtl } from './wrapping.js';

/**
 * The embedded store's HTTP server: Vault's API under /v1/ on node:http, keep-alive friendly,
 * with Vault's tcp listener limits: max_request_size (32 MiB, 413 beyond it), the JSON payload
 * limits (400), read-header, read and idle timeouts, and a cap on open connections. A request
 * without a valid token cannot make the store buffer more than a small body.
 */

/** Vault's default max_request_size. */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;
/** What a request without a valid token may send to a path that needs one before it is refused (403). */
export const UNAUTHENTICATED_BODY_BYTES = 64 * 1024;

/** Options of createStoreServer. */
export interface StoreServerOptions {
  /** The data directory (created 0700): encrypted data file, key file, root token file. */
  dataDir: string;
  /** Default 127.0.0.1: the store never listens on other interfaces unless told to. */
  host?: string;
  /** 0 picks a free port. Default 8282. */
  port?: number;
  /** Path of the audit log (JSON lines, 0600). None when omitted. */
  auditLog?: string;
  log?: StoreLogger;
  /** Body size limit in bytes (default 32 MiB, or max_request_size of listener.json). */
  maxBodyBytes?: number;
  /**
   * Listen with TLS (Vault's listener tls_cert_file / tls_key_file, PEM text). With `clientCa`, a
   * client certificate signed by it is required (tls_client_ca_file with
   * tls_require_and_verify_client_cert).
   */
  tls?: { cert: string; key: string; clientCa?: string };
  /** Listener settings; default: `<dataDir>/listener.json` when it exists, else Vault's defaults. */
  listener?: Partial<ListenerConfig>;
}

/** A running store. */
export interface StoreServer {
  /** e.g. http://127.0.0.1:8282 */
  address: string;
  port: number;
  /** The file holding the root token (written when the store was created). */
  rootTokenFile: string;
  /** Stops listening, closes connections, closes the engine. */
  close(): Promise<void>;
  /** A compacting copy of the store's database while it keeps serving (see Engine.compact). */
  compact(): Promise<CompactResult>;
}

const METHODS: Record<string, Operation> = {
  GET: 'read',
  HEAD: 'read',
  POST: 'write',
  PUT: 'write',
  PATCH: 'patch',
  DELETE: 'delete',
  LIST: 'list',
};

function send(res: http.ServerResponse, status: number, body: unknown, head = false): void {
  if (res.headersSent) return;
  res.setHeader('Cache-Control', 'no-store');
  if (body === undefined || status === 204) {
    res.writeHead(status);
    res.end();
    return;
  }
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(head ? undefined : text);
}

/** Vault's answer to any body that is not a JSON object (http/logical.go): the cause is not named. */
export const MSG_BAD_JSON = 'error parsing JSON';

function parseBody(buf: Buffer, limits: JsonLimits): Record<string, unknown> {
  const violation = jsonLimitViolation(buf, limits);
  if (violation) throw new VaultHttpError(400, [violation]);
  // Go's decoder replaces invalid UTF-8 inside strings with U+FFFD, as Buffer.toString does.
  const text = buf.toString('utf8');
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new VaultHttpError(400, [MSG_BAD_JSON]);
  }
  if (value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new VaultHttpError(400, [MSG_BAD_JSON]);
  return value as Record<string, unknown>;
}

/** Go's strconv.ParseBool, which Vault uses for `?list=`: undefined when the text is not a boolean. */
export function goParseBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}

function tokenOf(req: http.IncomingMessage): string {
  const header = req.headers['x-vault-token'];
  if (typeof header === 'string' && header !== '') return header.trim();
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m) return m[1].trim();
  }
  return '';
}

/** The store's own (non-Vault) path for a compacting copy of its database. */
export const COMPACT_PATH = 'sys/storage/compact';

async function compactOutcome(core: Core, operation: string): Promise<Outcome> {
  const r = await core.compact();
  return { status: 200, body: { data: { bytes_before: r.bytesBefore, bytes_after: r.bytesAfter, duration_ms: r.ms, records: r.records } }, operation, wrapped: false };
}

/** Parses the HTTP request into a VaultRequest, or throws a VaultHttpError with Vault's status. */
async function parseRequest(core: Core, req: http.IncomingMessage, listener: ListenerConfig): Promise<VaultRequest> {
  let method = (req.method ?? 'GET').toUpperCase();
  // The raw target, not new URL(): URL parsing would silently resolve "..", which we must refuse.
  let target = req.url ?? '/';
  if (method === 'GET' && target.startsWith(LIST_TARGET_PREFIX + '/')) {
    method = 'LIST';
    target = target.slice(LIST_TARGET_PREFIX.length);
  }
  const qIndex = target.indexOf('?');
  const rawPath = qIndex >= 0 ? target.slice(0, qIndex) : target;
  const query = new URLSearchParams(qIndex >= 0 ? target.slice(qIndex + 1) : '');
  if (!rawPath.startsWith('/v1/')) throw new VaultHttpError(404, []);
  let path: string;
  try {
    path = decodeURIComponent(rawPath.slice(4));
  } catch {
    throw new VaultHttpError(400, ['invalid URL escape in the request path']);
  }
  path = path.replace(/^\/+/, '');
  if (path.includes('\0')) throw new VaultHttpError(400, ['path cannot contain null bytes']);
  if (path.split('/').includes('..') || path.includes('..')) throw new VaultHttpError(400, ['path cannot contain parent references']);
  let op = METHODS[method];
  if (!op) throw new VaultHttpError(405, ['1 error occurred:\n\t* unsupported operation\n\n']);
  let listParam = false;
  if (method === 'GET') {
    const list = query.get('list') ?? '';
    if (list !== '') {
      const parsed = goParseBool(list);
      // Vault answers an unparsable list flag with 400 and no message.
      if (parsed === undefined) throw new VaultHttpError(400, []);
      if (parsed) {
        op = 'list';
        listParam = true;
      }
    }
  }
  if (method === 'HEAD' && path !== 'sys/health') throw new VaultHttpError(405, ['1 error occurred:\n\t* unsupported operation\n\n']);
  if (op === 'list' && !path.endsWith('/')) path += '/';
  const contentType = String(req.headers['content-type'] ?? '');
  // Without a valid token, a path that needs one gets no more than a small body buffered.
  const token = tokenOf(req);
  const anonymous = requiresToken(path) && !core.tokens.peek(token);
  const limit = anonymous ? Math.min(listener.maxRequestSize, UNAUTHENTICATED_BODY_BYTES) : listener.maxRequestSize;
  const buf = await readLimitedBody(req, limit, () =>
    anonymous && limit < listener.maxRequestSize ? new VaultHttpError(403, ['permission denied']) : new VaultHttpError(413, ['http: request body too large']),
  );
  if (method === 'PATCH') {
    const mediaType = contentType.split(';')[0].trim().toLowerCase();
    if (mediaType !== 'application/merge-patch+json') {
      throw new VaultHttpError(415, [`PATCH requires Content-Type of application/merge-patch+json, provided ${mediaType}`]);
    }
  }
  let body = parseBody(buf, listener.json);
  // As in Vault, GET, LIST, HEAD and DELETE carry their parameters in the query string (a true
  // `list` flag is consumed; a false one stays a parameter).
  if ((method === 'GET' || method === 'LIST' || method === 'HEAD' || method === 'DELETE') && Object.keys(body).length === 0) {
    body = {};
    for (const [k, v] of query) {
      if (k === 'list' && listParam) continue;
      Object.defineProperty(body, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
  }
  const wrapHeader = req.headers['x-vault-wrap-ttl'];
  return {
    id: randomUUID(),
    method,
    op,
    path,
    query,
    body,
    hasBody: buf.length > 0,
    contentType,
    token,
    remoteAddress: req.socket.remoteAddress ?? '',
    wrapTtl: parseWrapTtl(typeof wrapHeader === 'string' ? wrapHeader : undefined),
  };
}

/** A path for the audit log: segments that look like tokens (e.g. a token put in a URL) are masked. */
export function auditPath(path: string): string {
  return path
    .split('/')
    .map((seg) => (/^(hv[sbr]|[sbr])\.[A-Za-z0-9]{16,}/.test(seg) ? '[token]' : seg))
    .join('/');
}

/** Starts the store: opens (or creates) the data directory and listens. */
export async function createStoreServer(opts: StoreServerOptions): Promise<StoreServer> {
  const core = await Core.open({ dataDir: opts.dataDir, auditLog: opts.auditLog, log: opts.log });
  let listener: ListenerConfig;
  try {
    listener = { ...(await readListenerConfig(opts.dataDir)), ...opts.listener };
    if (opts.maxBodyBytes !== undefined) listener.maxRequestSize = opts.maxBodyBytes;
  } catch (err) {
    await core.close();
    throw err;
  }
  const server = http.createServer(
    {
      // Vault's listener: http_read_header_timeout, http_read_timeout (the whole request), http_idle_timeout.
      headersTimeout: listener.readHeaderTimeoutMs,
      requestTimeout: listener.readTimeoutMs,
      keepAliveTimeout: listener.idleTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(listener.readHeaderTimeoutMs / 4))),
    },
    (req, res) => {
      const started = Date.now();
      void (async () => {
        let outcome: Outcome;
        let vreq: VaultRequest | undefined;
        try {
          vreq = await parseRequest(core, req, listener);
          outcome = handleRequest(core, vreq);
          if (vreq.path === COMPACT_PATH && outcome.status === 204) outcome = await compactOutcome(core, outcome.operation);
        } catch (err) {
          if (err instanceof VaultHttpError) {
            outcome = { status: err.status, body: { errors: err.errors }, operation: req.method ?? '', wrapped: false, error: err.errors[0] };
            // The unread rest of a refused body is not parsed as a next request: the connection ends.
            if (err.status === 413 || err.status === 403) res.setHeader('Connection', 'close');
          } else {
            core.log.error('request failed', { error: (err as Error)?.message });
            outcome = { status: 500, body: { errors: ['1 error occurred:\n\t* internal error\n\n'] }, operation: req.method ?? '', wrapped: false, error: 'internal error' };
          }
        }
        // Logged before the answer, as Vault's audit devices do: a client that has its answer finds the line.
        core.audit?.write({
          time: new Date(started).toISOString(),
          request_id: vreq?.id ?? '',
          operation: outcome.operation,
          method: req.method ?? '',
          path: auditPath(vreq?.path ?? ''),
          accessor: vreq?.te?.accessor ?? '',
          remote_address: req.socket.remoteAddress ?? '',
          status: outcome.status,
          // Vault Community Edition has only the root namespace: the header is accepted and ignored,
          // and recorded here so a client's namespace setting can be seen.
          ...(typeof req.headers['x-vault-namespace'] === 'string' ? { namespace: req.headers['x-vault-namespace'] } : {}),
          // Error texts are left out: some quote request input, and the audit log never holds values.
          ...(outcome.wrapped ? { wrapped: true } : {}),
        });
        send(res, outcome.status, outcome.body, req.method === 'HEAD');
      })();
    },
  );
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // As node:http answers: 408 for a request that took too long, 431 for oversized headers, else 400.
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    socket.destroy();
  });
  // node:http tracks connections for its header and request timeouts once it is "listening"; the TCP
  // server below listens for it (connections come through the LIST rewriter), so say so here.
  server.emit('listening');
  const host = opts.host ?? '127.0.0.1';
  // node:http cannot parse Vault's LIST method, so connections pass through a rewriter first.
  // Connections are tracked here (node:http's own tracking needs it to listen itself), so close()
  // can end idle keep-alive connections at once and busy ones right after their answer.
  const sockets = new Map<RewritingSocket, { busy: number }>();
  let shuttingDown = false;
  const accept = (socket: net.Socket) => {
    const wrapped = new RewritingSocket(socket);
    sockets.set(wrapped, { busy: 0 });
    wrapped.once('close', () => sockets.delete(wrapped));
    server.emit('connection', wrapped);
  };
  let tcp: net.Server;
  if (opts.tls) {
    const secure = tls.createServer({
      cert: opts.tls.cert,
      key: opts.tls.key,
      minVersion: 'TLSv1.2',
      // A handshake that does not finish is held no longer than a request head.
      handshakeTimeout: listener.readHeaderTimeoutMs,
      ...(opts.tls.clientCa ? { ca: opts.tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
    });
    secure.on('secureConnection', (socket) => {
      socket.setNoDelay(true);
      accept(socket);
    });
    // A failed handshake (unknown CA, no client certificate) is the client's problem: drop it quietly.
    secure.on('tlsClientError', (_err, socket) => socket.destroy());
    tcp = secure;
  } else {
    tcp = net.createServer({ noDelay: true }, accept);
  }
  tcp.maxConnections = listener.maxConnections;
  tcp.on('drop', () => core.log.warn('connection refused: the store has max_connections open', { maxConnections: listener.maxConnections }));
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const entry = sockets.get(req.socket as unknown as RewritingSocket);
    if (!entry) return;
    entry.busy++;
    res.once('close', () => {
      entry.busy--;
      if (shuttingDown && entry.busy === 0) (req.socket as unknown as RewritingSocket).destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(opts.port ?? 8282, host, () => {
      tcp.off('error', reject);
      resolve();
    });
  });
  const { port } = tcp.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const scheme = opts.tls ? 'https' : 'http';
  opts.log?.info('store listening', { address: `${scheme}://${shownHost}:${port}`, tls: opts.tls ? (opts.tls.clientCa ? 'mutual' : 'enabled') : 'disabled' });
  let closing: Promise<void> | undefined;
  return {
    address: `${scheme}://${shownHost}:${port}`,
    port,
    rootTokenFile: core.rootTokenFile,
    close() {
      closing ??= (async () => {
        shuttingDown = true;
        await new Promise<void>((resolve) => {
          tcp.close(() => resolve());
          for (const [sock, entry] of sockets) if (entry.busy === 0) sock.destroy();
          setTimeout(() => {
            for (const sock of sockets.keys()) sock.destroy();
          }, 2000).unref();
        });
        server.close();
        await core.close();
      })();
      return closing;
    },
    compact: () => core.compact(),
  };
}
