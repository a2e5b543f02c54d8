#!/usr/bin/env node
// Bundles the CLI into one ES module (dist/cli/main.js) with a chunk per lazily imported part
// (dist/cli/chunks/), replacing tsc's unbundled dist/cli/main.js. Node then loads a command from
// a few files instead of hundreds of small modules: see `npm run bench` (cli-start) for what it
// saves. tsc still type-checks and emits everything else (the bench and the tests use that).
// fuse-native, a native addon, stays in node_modules.
import { readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

// commander requires node:child_process when it loads, for executable subcommands, which we do not
// have; loading it (and node:net below it) is a sizeable part of a short command's start-up (bench:
// commands). The bundle's copy requires it on first use instead.
const COMMANDER_SPAWN = "const childProcess = require('node:child_process');";
const lazyChildProcess = {
  name: 'commander-lazy-child-process',
  setup(b) {
    b.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      if (!source.includes(COMMANDER_SPAWN)) throw new Error(`${args.path} no longer has ${COMMANDER_SPAWN}: update scripts/bundle.mjs`);
      const lazy = "const childProcess = { spawn: (...a) => require('node:child_process').spawn(...a) };";
      return { contents: source.replace(COMMANDER_SPAWN, lazy), loader: 'js' };
    });
  },
};
// The commands' summaries (root help, suggestions) from tsc's build of the tree, so that
// `docker secretfs --help` loads no command module (cli/program.ts createProgramFor).
const { createProgram, summarizeCommands } = await import(new URL('../dist/cli/program.js', import.meta.url).href);
const commandIndex = summarizeCommands(await createProgram({}));
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
  plugins: [lazyChildProcess],
  define: { SECRETFS_COMMAND_INDEX: JSON.stringify(commandIndex) },
  // CommonJS dependencies bundled into an ES module still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __secretfsCreateRequire } from 'node:module'; const require = __secretfsCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
