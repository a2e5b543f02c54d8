#!/usr/bin/env node
// Bundles the CLI into one ES module (dist/cli/main.js) with a chunk per lazily imported part
// (dist/cli/chunks/), replacing tsc's unbundled dist/cli/main.js. Node then loads a command from
// a few files instead of hundreds of small modules: see `npm run bench` (cli-start) for what it
// saves. The short commands (ONE_FILE) are built once more each into a file of their own
// (dist/cli/one/NAME.js: the same entry point with no other command in it), which main.js runs
// for them: ~25 files of chunks cost ~20 ms more to load than one (bench: commands).
// tsc still type-checks and emits everything else (the bench and the tests use that).
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
// The commands a user runs often and waits for, and '' (no command: --help, --version).
const ONE_FILE = ['', 'get', 'put', 'ls', 'rm', 'history', 'version'];
for (const name of ONE_FILE) {
  if (name && !commandIndex.some((c) => c.name === name)) throw new Error(`scripts/bundle.mjs: ONE_FILE names ${name}, which is no command`);
}
// Packages the CLI imports only on a terminal (prompts, colours), each in a bundle of its own
// next to the one-file bundles: one bundle inlines what it imports lazily, and a static import of
// a built-in module in them (chalk's node:process opens stdin, stdout and stderr) would run first.
const LAZY_PACKAGES = { '@inquirer/prompts': 'prompts.js', chalk: 'chalk.js' };
/** In a one-file bundle, program.ts's loaders of the other commands import nothing; LAZY_PACKAGES come from their bundles. */
const onlyCommand = (keep) => ({
  name: 'only-command',
  setup(b) {
    b.onResolve({ filter: /^\.\/commands\/[a-z-]+\.js$/ }, (args) =>
      /[\\/]cli[\\/]program\.ts$/.test(args.importer) && args.path !== `./commands/${keep}.js` ? { path: args.path, namespace: 'no-command' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'no-command' }, () => ({ contents: 'export {};', loader: 'js' }));
    b.onResolve({ filter: /^(@inquirer\/prompts|chalk)$/ }, (args) => ({ path: `./${LAZY_PACKAGES[args.path]}`, external: true }));
  },
});
const common = {
  absWorkingDir: root,
  entryPoints: ['cli/main.ts'],
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  external: ['fuse-native'],
  // CommonJS dependencies bundled into an ES module still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __secretfsCreateRequire } from 'node:module'; const require = __secretfsCreateRequire(import.meta.url);" },
  logLevel: 'warning',
};
await rm(new URL('../dist/cli/chunks', import.meta.url), { recursive: true, force: true });
await rm(new URL('../dist/cli/one', import.meta.url), { recursive: true, force: true });
await build({
  ...common,
  outdir: 'dist/cli',
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  plugins: [lazyChildProcess],
  define: { SECRETFS_COMMAND_INDEX: JSON.stringify(commandIndex), SECRETFS_ONE_FILE_COMMANDS: JSON.stringify(ONE_FILE) },
});
await Promise.all([
  ...Object.entries(LAZY_PACKAGES).map(([pkg, file]) => build({ ...common, entryPoints: [pkg], outfile: `dist/cli/one/${file}` })),
  ...ONE_FILE.map((name) =>
    build({
      ...common,
      outfile: `dist/cli/one/${name || '_root'}.js`,
      plugins: [lazyChildProcess, onlyCommand(name)],
      define: { SECRETFS_COMMAND_INDEX: JSON.stringify(commandIndex), SECRETFS_ONE_FILE_COMMANDS: '[]' },
    }),
  ),
]);
