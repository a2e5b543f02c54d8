import http from 'node:http';
import { ConfigError } from '../errors.js';

/** What a plugin socket answered: the HTTP status and the body as text. */
export interface PluginAnswer {
  status: number;
  text: string;
}

/**
 * One exchange with a plugin socket as dockerd makes it: POST (or `method`), the payload as given,
 * Host plugin.moby.localhost, Docker's plugin Accept type, no Content-Type, no keep-alive. Rejects
 * with the socket's error, or after timeoutMs without an answer (no bound when omitted).
 */
export function exchangePlugin(socketPath: string, route: string, payload: Buffer, options: { method?: string; timeoutMs?: number } = {}): Promise<PluginAnswer> {
  return new Promise((resolve, reject) => {
    const headers = { Host: 'plugin.moby.localhost', Accept: 'application/vnd.docker.plugins.v1.2+json', 'Content-Length': payload.length };
    const req = http.request({ socketPath, path: route, method: options.method ?? 'POST', headers, agent: false, timeout: options.timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${socketPath} within ${options.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Calls the driver over its socket as dockerd does (POST, JSON body) and returns the decoded
 * answer. A non-empty `Err` or a non-JSON answer is thrown as a ConfigError.
 */
export async function callDriver<T = Record<string, unknown>>(socketPath: string, route: string, body: unknown = {}, timeoutMs = 5000): Promise<T> {
  let answer: PluginAnswer;
  try {
    answer = await exchangePlugin(socketPath, route, Buffer.from(body === undefined ? '' : JSON.stringify(body)), { timeoutMs });
  } catch (err) {
    throw new ConfigError(`cannot reach the driver at ${socketPath}: ${(err as Error).message}`, { cause: err });
  }
  let parsed: any;
  try {
    parsed = JSON.parse(answer.text);
  } catch {
    throw new ConfigError(`the driver at ${socketPath} answered ${route} with something other than JSON`);
  }
  if (typeof parsed?.Err === 'string' && parsed.Err !== '') throw new ConfigError(`driver: ${parsed.Err}`);
  return parsed as T;
}
