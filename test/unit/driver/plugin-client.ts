import { exchangePlugin } from '../../../lib/driver/client.js';

/** A response from the plugin socket: HTTP status and parsed JSON (or raw text). */
export interface PluginResponse {
  status: number;
  body: any;
  text: string;
}

/**
 * POSTs to the plugin socket the way dockerd does (lib/driver/client.ts exchangePlugin), keeping
 * what a test looks at: the status, the raw text and the JSON, if it is JSON. `body` is sent
 * verbatim when a string or Buffer, else as JSON.
 */
export async function postPlugin(socketPath: string, route: string, body?: unknown, method = 'POST'): Promise<PluginResponse> {
  const payload = body === undefined ? Buffer.alloc(0) : typeof body === 'string' || Buffer.isBuffer(body) ? Buffer.from(body) : Buffer.from(JSON.stringify(body));
  const { status, text } = await exchangePlugin(socketPath, route, payload, { method });
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status, body: parsed, text };
}
