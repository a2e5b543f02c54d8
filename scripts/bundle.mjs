#!/usr/bin/env node
// Bundles the CLI into one ES module (dist/cli/main.js) with a chunk per lazily imported part
// (dist/cli/chunks/), replacing tsc's unbundled dist/cli/main.js. Node then loads a command from
// a few files instead of hundreds of small modules: see `npm run bench` (cli-start) for what it
// saves. tsc still type-checks and emits everything else (the bench and the tests use that).
// fuse-native, a native addon, stays in node_modules.
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
await rm(new URL('../dist/cli/chunks', import.meta.url), { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['cli/main.ts'],
  outdir: 'dist/cli',
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  external: ['fuse-native'],
  // CommonJS dependencies bundled into an ES module still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __secretfsCreateRequire } from 'node:module'; const require = __secretfsCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
