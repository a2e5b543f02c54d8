import { readLimitedBody } from '../http-body.js';
import http from 'node:http';
import net from 'node:net';
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError, SecretfsError } from '../errors.js';
import type { Logger } from '../log.js';
import { PLUGIN_CONTENT_TYPE, PLUGIN_MANIFEST, ProtocolError, ROUTES, requestVolumeName, type VolumeDriver } from './protocol.js';
import { SECRET_PROVIDER_CAPABILITY, SECRET_PROVIDER_ROUTE, handleGetSecret, type SecretProvider } from './secret-provider.js';

/** Request bodies are small JSON objects; anything bigger is refused before it is parsed. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

export interface DriverServerOptions {
  socketPath: string;
  log: Logger;
  maxBodyBytes?: number;
  /** Also serves Swarm's secret-provider protocol (and says so in Plugin.Activate). */
  secretProvider?: SecretProvider;
}

/** The plugin's HTTP server on its unix socket. */
export interface DriverServer {
  readonly socketPath: string;
  /** Removes a stale socket, listens, and makes the socket 0600. */
  listen(): Promise<void>;
  /** Stops accepting, ends idle connections, unlinks the socket. Idempotent. */
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Parses the body as JSON whatever the headers say: dockerd sends no Content-Type, and
 * Plugin.Activate has an empty body. Empty and `null` bodies mean "no fields".
 */
export function parseRequestBody(raw: Buffer): Record<string, unknown> {
  const text = raw.toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProtocolError('malformed JSON in the request body');
  }
  if (value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ProtocolError('the request body must be a JSON object');
  return value as Record<string, unknown>;
}

function errText(err: unknown): { status: number; message: string } {
  if (err instanceof HttpError) return { status: err.status, message: err.message };
  if (err instanceof ProtocolError) return { status: 400, message: err.message };
  if (err instanceof SecretfsError) return { status: 500, message: err.hint ? `${err.message} (${err.hint})` : err.message };
  return { status: 500, message: `internal error: ${(err as Error)?.message ?? String(err)}` };
}

/** True when something accepts connections on the socket path. */
export function socketAnswers(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const conn = net.connect(socketPath);
    const done = (ok: boolean) => {
      conn.destroy();
      resolve(ok);
    };
    conn.setTimeout(timeoutMs, () => done(false));
    conn.on('connect', () => done(true));
    conn.on('error', () => done(false));
  });
}

/** Removes a socket file left by a driver that died; refuses when a live one answers there. */
async function removeStaleSocket(socketPath: string): Promise<void> {
  let st;
  try {
    st = await lstat(socketPath);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!st.isSocket()) throw new ConfigError(`${socketPath} exists and is not a socket; not touching it`);
  if (await socketAnswers(socketPath)) {
    throw new ConfigError(`another driver is already listening on ${socketPath}`, { hint: 'run `docker secretfs driver status`' });
  }
  await unlink(socketPath);
}

type Handler = (driver: VolumeDriver, body: Record<string, unknown>) => Promise<object>;

/** The handler of a route: the volume protocol's table, plus the secret provider's route when there is one. */
function routeHandler(route: string, provider: SecretProvider | undefined): Handler | undefined {
  if (provider) {
    if (route === '/Plugin.Activate') return async () => ({ Implements: [...PLUGIN_MANIFEST.Implements, SECRET_PROVIDER_CAPABILITY] });
    if (route === SECRET_PROVIDER_ROUTE) return (_driver, body) => handleGetSecret(provider, body);
  }
  return Object.prototype.hasOwnProperty.call(ROUTES, route) ? ROUTES[route] : undefined;
}

/** The Swarm secret a GetSecret body names, for request logs (the name only: labels and values are never logged). */
function requestSecretName(body: Record<string, unknown>): string | undefined {
  return typeof body.SecretName === 'string' ? `swarm secret ${body.SecretName}` : undefined;
}

/** Creates the plugin server for `driver` (protocols.md §2); every failure is answered with {"Err": ...}. */
export function createDriverServer(driver: VolumeDriver, options: DriverServerOptions): DriverServer {
  const { socketPath, log } = options;
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  let listening = false;
  let closing: Promise<void> | undefined;

  const server = http.createServer(async (req, res) => {
    const started = Date.now();
    const route = (req.url ?? '').split('?')[0];
    let volume: string | undefined;
    let status = 200;
    let payload: object;
    let error: string | undefined;
    try {
      if (req.method !== 'POST') throw new HttpError(405, `method ${req.method} not allowed: the plugin API uses POST`);
      const handler = routeHandler(route, options.secretProvider);
      if (!handler) throw new HttpError(404, `unknown route ${JSON.stringify(route.slice(0, 200))}`);
      const tooLarge = (declared?: number) =>
        new HttpError(413, declared === undefined ? `request body too large: more than ${limit} bytes` : `request body too large: ${declared} bytes, the limit is ${limit}`);
      const body = parseRequestBody(await readLimitedBody(req, limit, tooLarge));
      volume = requestVolumeName(body) ?? requestSecretName(body);
      payload = await handler(driver, body);
    } catch (err) {
      const e = errText(err);
      status = e.status;
      error = e.message;
      payload = { Err: e.message };
    }
    const text = JSON.stringify(payload);
    const headers: Record<string, string | number> = { 'Content-Type': PLUGIN_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text) };
    // An oversized body is not drained: answer and drop the connection.
    if (status === 413) headers.Connection = 'close';
    res.writeHead(status, headers);
    res.end(text);
    if (status === 413) res.on('finish', () => req.socket.destroy());
    const fields = { route, volume, status, ms: Date.now() - started, ...(error ? { error } : {}) };
    if (error) log.warn('request failed', fields);
    else log.info('request', fields);
  });
  server.requestTimeout = 3 * 60_000;

  return {
    socketPath,
    async listen() {
      await mkdir(dirname(socketPath), { recursive: true, mode: 0o700 });
      await removeStaleSocket(socketPath);
      // The umask makes the socket 0600 from the moment it exists: there is no window in which
      // another user could connect. listen() binds synchronously for unix sockets.
      const old = process.umask(0o177);
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(socketPath, () => {
            server.off('error', reject);
            resolve();
          });
          process.umask(old);
        });
      } finally {
        process.umask(old);
      }
      await chmod(socketPath, 0o600);
      listening = true;
      log.info('listening', { socket: socketPath });
    },
    close() {
      closing ??= (async () => {
        if (listening) {
          await new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeIdleConnections();
            // A request still running after this is abandoned rather than holding up shutdown.
            setTimeout(() => server.closeAllConnections(), 5000).unref();
          });
        }
        await unlink(socketPath).catch(() => {});
      })();
      return closing;
    },
  };
}
