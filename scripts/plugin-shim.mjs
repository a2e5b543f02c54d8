#!/usr/bin/env node
// Writes the launcher Docker finds in cli-plugins/ (`docker-secretfs`), atomically, mode 0755:
//   node scripts/plugin-shim.mjs DEST
// Docker runs `docker-secretfs docker-cli-plugin-metadata` before every plugin command and for
// every `docker --help`; the shim answers it itself, from the build's metadata, without starting
// Node (that would be a second Node start on every `docker secretfs ...`). `run` on a path an
// earlier run found allowed starts `docker run` itself (the fast lane, in plugin-shim.sh).
// Everything else execs the built CLI with this Node. install.sh writes it at each install, so a new version's metadata
// arrives with the new build; the bench writes the same one.
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
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
// The launcher's text: plugin-shim.sh (also `run`'s fast lane) with this build's metadata, Node and CLI.
const template = await readFile(join(root, 'scripts', 'plugin-shim.sh'), 'utf8');
const fill = { '@METADATA@': quote(metadata), '@NODE@': quote(process.execPath), '@MAIN@': quote(main) };
const shim = template.replace(/@(METADATA|NODE|MAIN)@/g, (word) => fill[word]);
const tmp = join(dirname(dest), `.${basename(dest)}.${process.pid}.tmp`);
await writeFile(tmp, shim, { mode: 0o755 });
await chmod(tmp, 0o755);
await rename(tmp, dest);
