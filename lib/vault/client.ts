import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import { VaultError, type VaultFailure } from '../errors.js';
import type { Config } from '../config.js';

// node-vault is CommonJS with `export =` types; load it through require so ESM interop stays simple.
const require = createRequire(import.meta.url);
type NodeVaultFactory = (config: Record<string, unknown>) => NodeVaultClient;
interface NodeVaultClient {
  request(options: Record<string, unknown>): Promise<unknown>;
}

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

export interface VaultClientOptions {
  addr: string;
  token?: string;
  /** Per-request timeout; keep it well under FUSE's per-operation timeout. */
  timeoutMs?: number;
}

/** A Vault HTTP client bound to one address and one token. The only user of node-vault. */
export interface VaultClient {
  readonly addr: string;
  readonly token: string | undefined;
  /** Sends one request; resolves to the JSON envelope ('' for 204). Throws VaultError. */
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<VaultResponse<T>>;
  /** The same address with another token. */
  withToken(token: string): VaultClient;
}

// Connections are reused across requests and clients: a cold read should cost one round trip.
const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64 });

let factory: NodeVaultFactory | undefined;
function nodeVault(): NodeVaultFactory {
  factory ??= require('node-vault') as NodeVaultFactory;
  return factory;
}

/**
 * The client a config describes: its address, the token it resolved, its request timeout. The one
 * place a Config becomes a client (the CLI, doctor, demo).
 */
export function vaultClientFromConfig(config: Pick<Config, 'vaultAddr' | 'vaultToken' | 'requestTimeoutMs'>): VaultClient {
  return createVaultClient({ addr: config.vaultAddr, token: config.vaultToken, timeoutMs: config.requestTimeoutMs });
}

/** Creates a client. The token is only ever sent as a header, never logged. */
export function createVaultClient(options: VaultClientOptions): VaultClient {
  const addr = options.addr.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 5000;
  // No token in the node-vault config: it would stick in shared headers (protocols.md §6.3, gotcha 3).
  const nv = nodeVault()({ endpoint: addr, token: '', apiVersion: 'v1' });
  const client: VaultClient = {
    addr,
    token: options.token,
    async request(method, path, opts = {}) {
      const headers: Record<string, string> = { 'X-Vault-Request': 'true', ...opts.headers };
      const token = opts.token === undefined ? options.token : opts.token;
      if (token) headers['X-Vault-Token'] = token;
      if (opts.wrapTtl) headers['X-Vault-Wrap-TTL'] = opts.wrapTtl;
      const request: Record<string, unknown> = {
        path: '/' + path.replace(/^\/+/, ''),
        method,
        headers,
        timeout: opts.timeoutMs ?? timeoutMs,
        httpAgent,
        httpsAgent: addr.startsWith('https:') ? httpsAgent : undefined,
      };
      if (opts.body !== undefined) request.json = opts.body;
      try {
        const body = await nv.request(request);
        return (body === '' || body === undefined ? {} : body) as VaultResponse;
      } catch (err) {
        throw toVaultError(err, method, path);
      }
    },
    withToken(token) {
      return createVaultClient({ ...options, token });
    },
  };
  return client;
}

function failureForStatus(status: number): VaultFailure {
  if (status === 403 || status === 401) return 'forbidden';
  if (status === 404) return 'not_found';
  if (status >= 400 && status < 500) return 'bad_request';
  return 'server';
}

/** Maps node-vault's and axios's errors to VaultError, keeping Vault's message and the body. */
export function toVaultError(err: unknown, method: string, path: string): VaultError {
  const e = err as { response?: { statusCode?: number; body?: unknown }; code?: string; message?: string };
  const where = `${method} ${path.split('?')[0]}`;
  if (e?.response?.statusCode !== undefined) {
    const status = e.response.statusCode;
    const body = e.response.body as { errors?: string[] } | undefined;
    const detail = body?.errors?.filter(Boolean).join('; ').replace(/\s+/g, ' ').trim();
    const failure = failureForStatus(status);
    const text = detail || (failure === 'not_found' ? 'not found' : `status ${status}`);
    return new VaultError(`Vault ${where}: ${text}`, failure, status, { cause: err, body: e.response.body });
  }
  const code = e?.code ?? '';
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT' || /timeout/i.test(e?.message ?? '')) {
    return new VaultError(`Vault ${where}: timed out`, 'timeout', undefined, { cause: err, hint: 'is Vault reachable? run `docker secretfs doctor`' });
  }
  if (['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EPIPE', 'ERR_NETWORK'].includes(code)) {
    return new VaultError(`Vault ${where}: unreachable (${code})`, 'unreachable', undefined, {
      cause: err,
      hint: 'is Vault (or the embedded store) running? run `docker secretfs doctor`',
    });
  }
  return new VaultError(`Vault ${where}: ${e?.message ?? String(err)}`, 'server', undefined, { cause: err });
}
