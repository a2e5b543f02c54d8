import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CLI_ENTRY, runCli } from '../../../harness/run-cli.js';
import { startTestStore, type TestStore } from '../../helpers/store.js';

/**
 * The short commands run from a bundle of their own (scripts/bundle.mjs ONE_FILE): the built CLI
 * loads main.js, its two small chunks and dist/cli/one/NAME.js, never chalk, the prompts,
 * better-sqlite3 or fuse-native, and answers as the whole tree does (`help NAME` still loads it).
 * Every file Node loads is noted: ES modules by a load hook, CommonJS ones from require's cache.
 */
const test = suite('integration/cli: the short commands load one bundle of their own');
let store: TestStore;
let dir: string;
let env: NodeJS.ProcessEnv;

test.before(async () => {
  store = await startTestStore();
  dir = await mkdtemp(join(tmpdir(), 'secretfs-one-file-'));
  await writeFile(join(dir, 'hooks.mjs'), "import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) { appendFileSync(process.env.T_LOADED, url + '\\n'); return next(url, context); }\n");
  await writeFile(
    join(dir, 'note.cjs'),
    [
      "const { appendFileSync } = require('node:fs');",
      `require('node:module').register(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});`,
      "process.on('exit', () => appendFileSync(process.env.T_LOADED, Object.keys(require.cache).map((f) => 'cjs:' + f).join('\\n') + '\\n'));",
    ].join('\n'),
  );
  const seeded = await fetch(`${store.addr}/v1/secret/data/one-file`, { method: 'POST', headers: { 'X-Vault-Token': store.rootToken }, body: JSON.stringify({ data: { k: 'v' } }) });
  assert.is(seeded.status, 200);
  env = { SECRETFS_HOME: join(dir, 'home'), HOME: dir, VAULT_ADDR: store.addr, VAULT_TOKEN: store.rootToken, DOCKER_HOST: `unix://${join(dir, 'no-docker.sock')}` };
});

test.after(async () => {
  await store?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs the built CLI with the hooks; returns its result and the files it loaded (relative to dist/cli, or cjs:PATH). */
async function loadedBy(args: string[], input = ''): Promise<{ code: number; stdout: string; stderr: string; files: string[] }> {
  const log = join(dir, `loaded-${Math.random().toString(16).slice(2)}.txt`);
  await writeFile(log, '');
  const r = await runCommandWithHooks(args, log, input);
  const cliDir = pathToFileURL(join(CLI_ENTRY, '..')).href + '/';
  const files = (await readFile(log, 'utf8'))
    .split('\n')
    .filter((l) => l && !l.includes(pathToFileURL(dir).href))
    .map((l) => (l.startsWith(cliDir) ? l.slice(cliDir.length) : l));
  return { ...r, files: [...new Set(files)] };
}

function runCommandWithHooks(args: string[], log: string, input: string) {
  return runCli(args, { env: { ...env, T_LOADED: log, NODE_OPTIONS: `--require ${join(dir, 'note.cjs')}` }, input });
}

const ONE_FILE: [string, string[], string?][] = [
  ['_root', ['--help']],
  ['version', ['version']],
  ['get', ['get', 'secret/one-file', 'k']],
  ['ls', ['ls', 'secret']],
  ['put', ['put', 'secret/one-file', 'other'], 'x'],
  ['history', ['history', 'secret/one-file']],
  ['rm', ['rm', 'secret/one-file', 'other']],
];

test('get, put, ls, rm, history, version and --help load main.js, its chunks and their own bundle, and nothing heavy', async () => {
  for (const [bundle, args, input] of ONE_FILE) {
    const r = await loadedBy(args, input);
    assert.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    const ours = r.files.filter((f) => !f.startsWith('cjs:') && !f.startsWith('node:'));
    assert.ok(ours.includes('main.js') && ours.includes(`one/${bundle}.js`), `${args.join(' ')} loaded ${ours.join(', ')}`);
    assert.equal(ours.filter((f) => f !== 'main.js' && f !== `one/${bundle}.js` && !/^chunks\/chunk-[A-Z0-9]+\.js$/.test(f)), [], `${args.join(' ')} loaded more`);
    assert.ok(ours.length <= 4, `${args.join(' ')} loaded ${ours.length} files: ${ours.join(', ')}`);
    const heavy = r.files.filter((f) => /chalk|inquirer|prompts\.js|better-sqlite3|fuse-native|node_modules/.test(f));
    assert.equal(heavy, [], `${args.join(' ')} loaded ${heavy.join(', ')}`);
  }
});

test('a get with its mount remembered loads no node:crypto (only writes need it), https, tls or child_process', async () => {
  // A home of its own: the mount is not remembered yet.
  env = { ...env, SECRETFS_HOME: join(dir, 'home-crypto') };
  const first = await loadedBy(['get', 'secret/one-file', 'k']);
  assert.equal([first.code, first.stdout], [0, 'v'], first.stderr);
  const again = await loadedBy(['get', 'secret/one-file', 'k']);
  assert.equal([again.code, again.stdout], [0, 'v'], again.stderr);
  assert.ok(again.files.includes('node:http'), again.files.join(', '));
  assert.equal(again.files.filter((f) => /^node:(crypto|https|tls|child_process)$/.test(f)), []);
  // The first wrote the mount to the cache, atomically (a random temp name): crypto then.
  assert.ok(first.files.includes('node:crypto'), first.files.join(', '));
});

test('what they print is what the whole tree prints: NAME --help from the bundle, help NAME from the tree', async () => {
  for (const [bundle, args] of ONE_FILE) {
    if (bundle === '_root') continue;
    const own = await loadedBy([args[0], '--help']);
    const tree = await loadedBy(['help', args[0]]);
    assert.ok(own.files.includes(`one/${bundle}.js`) && !tree.files.includes(`one/${bundle}.js`));
    assert.is(own.code, 0);
    assert.equal([own.stdout, own.stderr], [tree.stdout, tree.stderr], args[0]);
  }
  const get = await loadedBy(['get', 'secret/one-file', 'k']);
  assert.equal([get.code, get.stdout], [0, 'v'], get.stderr);
  const missing = await loadedBy(['get', 'secret/one-file', 'nope']);
  assert.equal([missing.code, missing.stderr], [1, 'error: no key nope in secret/one-file\nhint: keys: k\n']);
});

test.run();
