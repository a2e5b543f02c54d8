#!/usr/bin/env node
// Writes the launcher Docker finds in cli-plugins/ (`docker-secretfs`), atomically, mode 0755:
//   node scripts/plugin-shim.mjs DEST
// Docker runs `docker-secretfs docker-cli-plugin-metadata` before every plugin command and for
// every `docker --help`; the shim answers it itself, from the build's metadata, without starting
// Node (that would be a second Node start on every `docker secretfs ...`). Everything else execs
// the built CLI with this Node. install.sh writes it at each install, so a new version's metadata
// arrives with the new build; the bench writes the same one.
import { chmod, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [dest] = process.argv.slice(2);
if (!dest) {
  process.stderr.write('usage: node scripts/plugin-shim.mjs DEST\n');
  process.exit(1);
}
const root = fileURLToPath(new URL('..', import.meta.url));
const main = join(root, 'dist', 'cli', 'main.js');
const { renderPluginMetadata } = await import(join(root, 'dist', 'cli', 'metadata.js'));
const metadata = renderPluginMetadata().trim();
/** A word in single quotes for sh, whatever it holds. */
const quote = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
const shim = [
  '#!/bin/sh',
  '# installed by docker-secretfs install.sh',
  'if [ "$1" = docker-cli-plugin-metadata ]; then',
  `  printf '%s\\n' ${quote(metadata)}`,
  '  exit 0',
  'fi',
  `exec ${quote(process.execPath)} ${quote(main)} "$@"`,
  '',
].join('\n');
const tmp = join(dirname(dest), `.${basename(dest)}.${process.pid}.tmp`);
await writeFile(tmp, shim, { mode: 0o755 });
await chmod(tmp, 0o755);
await rename(tmp, dest);
