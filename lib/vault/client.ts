import http from 'node:http';
import type https from 'node:https';
import { VaultError, type VaultFailure } from '../errors.js';
import type { Config } from '../config.js';
import { describeTlsFailure, httpsAgentFor, loadHttps, type VaultConnection } from './connection.js';

/** Options of one request. */
export interface RequestOptions {
  body?: unknown;
  /** Sends `X-Vault-Wrap-TTL`: the answer comes back response-wrapped. */
  wrapTtl?: string;
  /** Overrides the client's token for this request (e.g. to unwrap with a wrapping token). */
  token?: string | null;
  /** Extra headers (e.g. the merge-patch content type). */
  headers?: Record<string, string>;
  /** Overrides the client's timeout for this request. */
  timeoutMs?: number;
}

/** The whole Vault JSON envelope. */
export interface VaultResponse<T = any> {
  request_id?: string;
  lease_id?: string;
  renewable?: boolean;
  lease_duration?: number;
  data?: T;
  wrap_info?: WrapInfo | null;
  warnings?: string[] | null;
  auth?: VaultAuth | null;
}

export interface WrapInfo {
  token: string;
  accessor: string;
  ttl: number;
  creation_time: string;
  creation_path: string;
  wrapped_accessor?: string;
}

export interface VaultAuth {
  client_token: string;
  accessor: string;
  policies: string[];
  token_policies?: string[];
  metadata?: Record<string, string> | null;
  lease_duration: number;
  renewable: boolean;
  orphan?: boolean;
  num_uses?: number;
}

export interface VaultClientOptions extends VaultConnection {
  addr: string;
  token?: string;
  /** Per-request timeout; keep it well under FUSE's per-operation timeout. */
  timeoutMs?: number;
}

/**
 * A Vault HTTP client bound to one address and one token. It speaks HTTP itself (node:http with a
 * keep-alive agent): node-vault costs ~70 ms of CPU to load on every command and ~250 us per
 * request, which the CLI's start and a first read in the filesystem pay (bench: cli-start, cold
 * reads). node-vault stays the independent client of the store's integration tests.
 */
export interface VaultClient {
  readonly addr: string;
  readonly token: string | undefined;
  /** The TLS settings and namespace the client uses (a credential records them with the address). */
  readonly connection: VaultConnection;
  /** Sends one request; resolves to the JSON envelope ('' for 204). Throws VaultError. */
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<VaultResponse<T>>;
  /** The same address with another token. */
  withToken(token: string): VaultClient;
}

// Connections are reused across requests and clients: a cold read should cost one round trip.
const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** A hostile or broken server cannot make us buffer more than this of one answer. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/**
 * The client a config describes: its address, the token it resolved, its request timeout. The one
 * place a Config becomes a client (the CLI, doctor, demo).
 */
export function vaultClientFromConfig(config: Pick<Config, 'vaultAddr' | 'vaultToken' | 'requestTimeoutMs' | 'vaultTls' | 'vaultNamespace'>): VaultClient {
  return createVaultClient({ addr: config.vaultAddr, token: config.vaultToken, timeoutMs: config.requestTimeoutMs, tls: config.vaultTls, namespace: config.vaultNamespace });
}

/** Creates a client. The token is only ever sent as a header, never logged. */
export function createVaultClient(options: VaultClientOptions): VaultClient {
  const addr = options.addr.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 5000;
  const connection: VaultConnection = { ...(options.tls ? { tls: options.tls } : {}), ...(options.namespace ? { namespace: options.namespace } : {}) };
  // Built now, so a CA or client-certificate file that cannot be read fails at once, clearly.
  const httpsAgent = addr.startsWith('https:') ? httpsAgentFor(options.tls) : undefined;
  const client: VaultClient = {
    addr,
    token: options.token,
    connection,
    async request(method, path, opts = {}) {
      const headers: Record<string, string> = { 'X-Vault-Request': 'true', ...opts.headers };
      const token = opts.token === undefined ? options.token : opts.token;
      if (token) headers['X-Vault-Token'] = token;
      if (opts.wrapTtl) headers['X-Vault-Wrap-TTL'] = opts.wrapTtl;
      // Paths and policies stay relative to the namespace (Vault Enterprise, HCP); CE ignores it.
      if (options.namespace) headers['X-Vault-Namespace'] = options.namespace;
      let payload: Buffer | undefined;
      if (opts.body !== undefined) {
        payload = Buffer.from(JSON.stringify(opts.body));
        headers['Content-Type'] ??= 'application/json';
      }
      const relative = path.replace(/^\/+/, '');
      const where = `${method} ${relative.split('?')[0]}`;
      const answer = await send(`${addr}/v1/${relative}`, method, headers, payload, opts.timeoutMs ?? timeoutMs, where, httpsAgent);
      // Vault answers 200 or 204 on success; sys/health answers its state with any status (429, 503...).
      if ((answer.status >= 200 && answer.status < 300) || /^sys\/health(\?|$)/.test(relative)) {
        return parseBody(answer.body, where) as VaultResponse;
      }
      throw httpFailure(answer.status, answer.body, where);
    },
    withToken(token) {
      return createVaultClient({ ...options, token });
    },
  };
  return client;
}

interface RawAnswer {
  status: number;
  body: Buffer;
}

/** One HTTP exchange with an overall deadline (connect, send and the whole answer). */
function send(url: string, method: string, headers: Record<string, string>, payload: Buffer | undefined, timeoutMs: number, where: string, httpsAgent?: https.Agent): Promise<RawAnswer> {
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  const transport = secure ? loadHttps() : http;
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err: VaultError | undefined, answer?: RawAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      if (err) reject(err);
      else resolve(answer!);
    };
    const req = transport.request(target, { method, headers: payload ? { ...headers, 'Content-Length': String(payload.length) } : headers, agent: secure ? (httpsAgent ?? httpsAgentFor(undefined)) : httpAgent }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) {
          req.destroy();
          finish(new VaultError(`Vault ${where}: answer larger than ${MAX_RESPONSE_BYTES} bytes`, 'server'));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', (err) => finish(networkFailure(err, where)));
    });
    const deadline = setTimeout(() => {
      req.destroy();
      finish(new VaultError(`Vault ${where}: timed out`, 'timeout', undefined, { hint: 'is Vault reachable? run `docker secretfs doctor`' }));
    }, timeoutMs);
    req.on('error', (err) => finish(networkFailure(err, where)));
    req.end(payload);
  });
}

/** Vault's JSON envelope; an empty body (204) is `{}`. */
function parseBody(body: Buffer, where: string): unknown {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new VaultError(`Vault ${where}: the answer is not JSON`, 'server', undefined, { cause: err });
  }
}

function failureForStatus(status: number): VaultFailure {
  if (status === 403 || status === 401) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status >= 400 && status < 500) return 'bad_request';
  return 'server';
}

/** An HTTP error status as a VaultError, keeping Vault's own messages and the body. */
function httpFailure(status: number, raw: Buffer, where: string): VaultError {
  let body: { errors?: unknown } | undefined;
  try {
    body = raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
  } catch {
    body = undefined;
  }
  const errors = Array.isArray(body?.errors) ? body.errors.filter((e): e is string => typeof e === 'string' && e !== '') : [];
  const detail = errors.join('; ').replace(/\s+/g, ' ').trim();
  const failure = failureForStatus(status);
  const text = detail || (failure === 'not_found' ? 'not found' : `status ${status}`);
  return new VaultError(`Vault ${where}: ${text}`, failure, status, { body });
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EPIPE', 'ENOENT']);

/** A connection-level failure (refused, reset, DNS, TLS) as a VaultError. */
function networkFailure(err: unknown, where: string): VaultError {
  const code = (err as { code?: string })?.code ?? '';
  const tls = describeTlsFailure(code, (err as Error)?.message ?? '');
  if (tls) return new VaultError(`Vault ${where}: ${tls.text}`, 'unreachable', undefined, { cause: err, hint: tls.hint });
  if (code === 'ETIMEDOUT') {
    return new VaultError(`Vault ${where}: timed out`, 'timeout', undefined, { cause: err, hint: 'is Vault reachable? run `docker secretfs doctor`' });
  }
  if (UNREACHABLE_CODES.has(code)) {
    return new VaultError(`Vault ${where}: unreachable (${code})`, 'unreachable', undefined, {
      cause: err,
      hint: 'is Vault (or the embedded store) running? run `docker secretfs doctor`',
    });
  }
  return new VaultError(`Vault ${where}: ${(err as Error)?.message ?? String(err)}`, 'server', undefined, { cause: err });
}
