import { readFileSync } from 'node:fs';

/**
 * `docker-cli-plugin-metadata`: what Docker reads about us on every `docker --help` and
 * `docker info`. Imports nothing but node:fs so it starts as fast as node itself.
 */
export function renderPluginMetadata(): string {
  const root = new URL('../../', import.meta.url);
  const metadata = JSON.parse(readFileSync(new URL('plugin-metadata/cli-plugin.json', root), 'utf8'));
  const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
  return JSON.stringify({ ...metadata, Version: version }) + '\n';
}
