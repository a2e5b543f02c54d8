import http from 'node:http';

/** A response from the plugin socket: HTTP status and parsed JSON (or raw text). */
export interface PluginResponse {
  status: number;
  body: any;
  text: string;
}

/**
 * POSTs to the plugin socket the way dockerd does: no Content-Type, Accept of the plugin mime type,
 * Host plugin.moby.localhost. `body` is sent verbatim when a string or Buffer, else as JSON.
 */
export function postPlugin(socketPath: string, route: string, body?: unknown, method = 'POST'): Promise<PluginResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? Buffer.alloc(0) : typeof body === 'string' || Buffer.isBuffer(body) ? Buffer.from(body) : Buffer.from(JSON.stringify(body));
    const req = http.request(
      { socketPath, path: route, method, headers: { Host: 'plugin.moby.localhost', Accept: 'application/vnd.docker.plugins.v1.2+json', 'Content-Length': payload.length }, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          let parsed: any;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
