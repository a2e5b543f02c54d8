import http from 'node:http';
import { ConfigError } from '../errors.js';

/**
 * Calls the driver over its socket as dockerd does (POST, JSON body, no Content-Type) and returns
 * the decoded answer. A non-empty `Err` or a non-JSON answer is thrown as a ConfigError.
 */
export function callDriver<T = Record<string, unknown>>(socketPath: string, route: string, body: unknown = {}, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const payload = Buffer.from(body === undefined ? '' : JSON.stringify(body));
    const req = http.request(
      { socketPath, path: route, method: 'POST', headers: { Host: 'plugin.moby.localhost', 'Content-Length': payload.length }, agent: false, timeout: timeoutMs },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          let parsed: any;
          try {
            parsed = JSON.parse(text);
          } catch {
            reject(new ConfigError(`the driver at ${socketPath} answered ${route} with something other than JSON`));
            return;
          }
          if (typeof parsed?.Err === 'string' && parsed.Err !== '') reject(new ConfigError(`driver: ${parsed.Err}`));
          else resolve(parsed as T);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${socketPath} within ${timeoutMs} ms`)));
    req.on('error', (err) => reject(new ConfigError(`cannot reach the driver at ${socketPath}: ${err.message}`, { cause: err })));
    req.end(payload);
  });
}
