import { valueBytes } from '../fs/content.js';

/**
 * The whole secret as YAML for `get --format yaml`: every key and value a double-quoted JSON
 * string, which YAML reads back exactly. (JSON and .env come from lib/fs/content.ts, the same
 * renderers as the filesystem's views.)
 */
export function renderYaml(data: Record<string, unknown>): string {
  return Object.keys(data)
    .sort()
    .map((k) => `${JSON.stringify(k)}: ${JSON.stringify(valueBytes(data[k], 'utf8').toString('utf8'))}`)
    .join('\n') + (Object.keys(data).length ? '\n' : '');
}
