import type http from 'node:http';
import { DockerError } from '../errors.js';

/** What one Engine API request takes besides its method and path. */
export interface EngineRequest {
  /** Query parameters; undefined values are left out. Objects (filters) are sent as JSON, as the API wants. */
  query?: Record<string, string | number | boolean | object | undefined>;
  body?: unknown;
  /** Names the request in an error: `creating volume x: <engine's message>`. */
  what: string;
  /** Statuses answered to the caller instead of thrown (e.g. 404 for "already gone"). */
  accept?: number[];
  timeoutMs?: number;
}

/** The Docker Engine's HTTP API at one address. */
export interface Engine {
  request<T = any>(method: string, path: string, options: EngineRequest): Promise<{ status: number; body: T }>;
}

/** An Engine API request may wait on a volume driver (Create, Mount, Remove): bounded, but generously. */
const DEFAULT_TIMEOUT_MS = 120_000;
/** No answer of the engine that we use is larger; a broken one cannot make us buffer more. */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/**
 * Where to connect: a unix socket path, or an http host and port (tcp://host:port). servername ''
 * on a unix socket: node's agent otherwise asks net.isIP('localhost') for a TLS name plain HTTP
 * never sends, and the first isIPv6 compiles a regex: ~6 ms of a short command's start (put).
 */
function target(host: string | undefined): { socketPath: string; servername: '' } | { hostname: string; port: number } {
  if (!host) return { socketPath: '/var/run/docker.sock', servername: '' };
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length), servername: '' };
  const url = new URL(host.replace(/^tcp:/, 'http:'));
  if (url.protocol !== 'http:') throw new DockerError(`unsupported Docker host ${host}: use unix:// or tcp://`);
  return { hostname: url.hostname, port: Number(url.port || 2375) };
}

const UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'ECONNRESET', 'EHOSTUNREACH', 'ENOTFOUND']);

/**
 * A client of the Engine API over node:http: JSON in, JSON out, Docker's own message in every
 * error. It replaces dockerode, which took ~250 ms of CPU to load (grpc, protobufjs, ssh2) for the
 * handful of calls secretfs makes (bench: commands). Unversioned paths: the engine serves its own API version.
 */
export function connectEngine(host?: string): Engine {
  const where = target(host);
  // node:http is loaded at the first request: a command that never asks the engine does not pay for it.
  let loaded: Promise<{ http: typeof http; agent: http.Agent }> | undefined;
  return {
    async request(method, path, { query, body, what, accept = [], timeoutMs = DEFAULT_TIMEOUT_MS }) {
      const { http, agent } = await (loaded ??= import('node:http').then(({ default: http }) => ({ http, agent: new http.Agent({ keepAlive: true, maxSockets: 8 }) })));
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(query ?? {})) {
        if (v !== undefined) params.set(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
      }
      const qs = params.toString();
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      return new Promise((resolve, reject) => {
        let settled = false;
        const finish = (err?: Error, answer?: { status: number; body: any }) => {
          if (settled) return;
          settled = true;
          clearTimeout(deadline);
          if (err) reject(err);
          else resolve(answer!);
        };
        const req = http.request(
          {
            ...where,
            agent,
            method,
            path: qs ? `${path}?${qs}` : path,
            headers: payload ? { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) } : {},
          },
          (res) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (c: Buffer) => {
              size += c.length;
              if (size > MAX_ANSWER_BYTES) {
                req.destroy();
                finish(new DockerError(`${what}: the engine's answer is larger than ${MAX_ANSWER_BYTES} bytes`));
              } else chunks.push(c);
            });
            res.on('error', (err) => finish(new DockerError(`${what}: ${err.message}`, { cause: err })));
            res.on('end', () => {
              const status = res.statusCode ?? 0;
              const text = Buffer.concat(chunks).toString('utf8');
              let parsed: any = text;
              if (/json/.test(String(res.headers['content-type'] ?? '')) && text !== '') {
                try {
                  parsed = JSON.parse(text);
                } catch {
                  return finish(new DockerError(`${what}: the engine answered malformed JSON`));
                }
              }
              if (status < 400 || accept.includes(status)) return finish(undefined, { status, body: parsed });
              const message = typeof parsed === 'object' && parsed && typeof parsed.message === 'string' ? parsed.message : text.trim() || `status ${status}`;
              finish(new DockerError(`${what}: ${message}`));
            });
          },
        );
        const deadline = setTimeout(() => {
          req.destroy();
          finish(new DockerError(`${what}: the Docker engine did not answer within ${Math.round(timeoutMs / 1000)} s`));
        }, timeoutMs);
        req.on('error', (err: NodeJS.ErrnoException) => {
          if (err.code && UNREACHABLE.has(err.code)) {
            finish(new DockerError(`cannot reach the Docker engine (${err.code})`, { cause: err, hint: 'is dockerd running? `docker info` should answer' }));
          } else finish(new DockerError(`${what}: ${err.message}`, { cause: err }));
        });
        req.end(payload);
      });
    },
  };
}
