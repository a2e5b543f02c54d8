import { readFileSync } from 'node:fs';
import { packageRoot } from '../lib/version.js';

/**
 * `docker-cli-plugin-metadata`: what Docker reads about us on every `docker --help` and
 * `docker info`. Imports nothing but node:fs (and lib/version.ts) so it starts as fast as node itself.
 */
export function renderPluginMetadata(): string {
  const root = packageRoot();
  const metadata = JSON.parse(readFileSync(new URL('plugin-metadata/cli-plugin.json', root), 'utf8'));
  const { version } = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));
  return JSON.stringify({ ...metadata, Version: version }) + '\n';
}
