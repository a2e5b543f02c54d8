import { readFileSync, readdirSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

/**
 * The map of rooms in docs/CONTRIBUTING.md, kept true: every import of every source file is read
 * and checked against what its room may import. A break names the file and the import.
 */
const test = suite('structure/rooms');

const root = fileURLToPath(new URL('../../..', import.meta.url));
const TOP = ['cli', 'lib', 'bench', 'harness', 'test'];

/** Every .ts file below the top-level folders, as a repo-relative posix path. */
function sourceFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const rel = posix.join(dir, entry.name);
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.ts')) out.push(rel);
    }
  };
  for (const top of TOP) walk(top);
  return out;
}

/** One import: the file, what it names (a package, or a repo-relative path for a relative import). */
interface Import {
  file: string;
  target: string;
}

/** The imports of a source: static (import/export ... from), dynamic import() and require(). */
function importsOf(file: string, source: string): Import[] {
  const specs = new Set<string>();
  const patterns = [/^\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/gm, /^\s*import\s*['"]([^'"]+)['"]/gm, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g, /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g];
  // Comments may quote code; they are not imports.
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  for (const re of patterns) for (const m of code.matchAll(re)) specs.add(m[1]);
  return [...specs].map((spec) => ({
    file,
    target: spec.startsWith('.') ? posix.normalize(posix.join(posix.dirname(file), spec)).replace(/\.js$/, '.ts') : spec,
  }));
}

const all = sourceFiles().flatMap((f) => importsOf(f, readFileSync(join(root, f), 'utf8')));
const under = (path: string, ...folders: string[]) => folders.some((d) => path === d || path.startsWith(d + '/'));
/** The imports that break a rule: `from` files importing `to` targets, except the allowed files. */
function breaks(from: (file: string) => boolean, to: (target: string) => boolean, allowed: (file: string) => boolean = () => false): string[] {
  return all.filter((i) => from(i.file) && to(i.target) && !allowed(i.file)).map((i) => `${i.file} imports ${i.target}`);
}
const pkg = (name: string) => (t: string) => t === name || t.startsWith(name + '/');

test('the reader finds imports of every kind (so an empty answer below means something)', () => {
  const sample = importsOf('lib/fs/mount.ts', "import type X from 'fuse-native';\nimport { a } from './store.js';\nconst f = () => import('../vault/kv.js');\nrequire('node-vault');\n/* require('in-a-comment') */\n");
  assert.equal(sample.map((i) => i.target).sort(), ['fuse-native', 'lib/fs/store.ts', 'lib/vault/kv.ts', 'node-vault']);
  assert.ok(all.length > 300, `only ${all.length} imports found`);
  assert.ok(all.some((i) => i.file === 'cli/program.ts' && i.target === 'commander'));
  assert.ok(all.some((i) => i.file === 'lib/fs/handlers.ts' && i.target === 'fuse-native'));
});

test('lib/ imports nothing from cli/, bench/, harness/ or test/', () => {
  assert.equal(breaks((f) => under(f, 'lib'), (t) => under(t, 'cli', 'bench', 'harness', 'test')), []);
});

test('cli/ imports nothing from bench/, harness/ or test/', () => {
  assert.equal(breaks((f) => under(f, 'cli'), (t) => under(t, 'bench', 'harness', 'test')), []);
});

test('bench/ imports nothing from test/ (what it shares with the tests lives in harness/)', () => {
  assert.equal(breaks((f) => under(f, 'bench'), (t) => under(t, 'test')), []);
});

test('harness/ imports only lib/ and itself', () => {
  assert.equal(breaks((f) => under(f, 'harness'), (t) => under(t, 'cli', 'bench', 'test')), []);
});

test('the use cases (lib/app) are imported by cli/ (and tests) only: nothing below them reaches up', () => {
  assert.equal(breaks((f) => under(f, 'lib', 'bench', 'harness') && !under(f, 'lib/app'), (t) => under(t, 'lib/app')), []);
});

/** The lib room of a path: `lib/<folder>`, or `lib` for the root's files; undefined outside lib/. */
function libRoom(path: string): string | undefined {
  const parts = path.split('/');
  if (parts[0] !== 'lib') return undefined;
  return parts.length > 2 ? `lib/${parts[1]}` : 'lib';
}

/** What each lib room may import of lib/ (docs/CONTRIBUTING.md's table); its own room always. */
const LIB_MAY_IMPORT: Record<string, string[]> = {
  'lib/app': ['lib/access', 'lib/daemon', 'lib/docker', 'lib/driver', 'lib/fs', 'lib/localvault', 'lib/plugin', 'lib/render', 'lib/swarm', 'lib/vault', 'lib'],
  'lib/plugin': ['lib/docker', 'lib/driver', 'lib'],
  'lib/render': ['lib'],
  'lib/fs': ['lib/render', 'lib/vault', 'lib'],
  'lib/driver': ['lib/access', 'lib/daemon', 'lib/docker', 'lib/fs', 'lib/render', 'lib/swarm', 'lib/vault', 'lib'],
  'lib/access': ['lib/swarm', 'lib/vault', 'lib'],
  'lib/swarm': ['lib/render', 'lib/vault', 'lib'],
  'lib/vault': ['lib'],
  'lib/docker': ['lib'],
  'lib/localvault': ['lib/daemon', 'lib'],
  'lib/daemon': ['lib'],
  'lib/types': [],
  lib: ['lib'],
};
/** The lib root's two reaches into rooms: the config defaults to the store's address and reads Vault's connection settings. */
const ROOT_EXCEPTIONS = ['lib/config.ts imports lib/localvault/address.ts', 'lib/config.ts imports lib/vault/connection.ts'];

test('each lib room imports only the rooms its row of the map names', () => {
  const found: string[] = [];
  for (const i of all) {
    const from = libRoom(i.file);
    const to = libRoom(i.target);
    if (!from || !to || from === to) continue;
    const may = LIB_MAY_IMPORT[from];
    assert.ok(may, `${from} is a room the map does not list (add it to docs/CONTRIBUTING.md and LIB_MAY_IMPORT)`);
    const line = `${i.file} imports ${i.target}`;
    if (!may.includes(to) && !ROOT_EXCEPTIONS.includes(line)) found.push(line);
  }
  assert.equal(found, []);
});

test('a Docker SDK (dockerode) only in lib/docker, should one come back', () => {
  assert.equal(breaks((f) => !under(f, 'lib/docker'), pkg('dockerode')), []);
});

test('fuse-native only in the FUSE adapter (lib/fs/fuse-binding.ts, handlers.ts, mount.ts), the bench floor of raw fuse-native, and test types', () => {
  const adapter = ['lib/fs/fuse-binding.ts', 'lib/fs/handlers.ts', 'lib/fs/mount.ts', 'bench/node-floor-child.ts'];
  assert.equal(breaks((f) => !under(f, 'test'), pkg('fuse-native'), (f) => adapter.includes(f)), []);
});

test('node-vault only in test/: lib/vault speaks HTTP itself, node-vault is the tests\' independent client', () => {
  assert.equal(breaks((f) => !under(f, 'test'), pkg('node-vault')), []);
});

test('commander, chalk and @inquirer/prompts only in cli/: lib/ never prints, prompts or parses argv', () => {
  for (const name of ['commander', 'chalk', '@inquirer/prompts']) assert.equal(breaks((f) => under(f, 'lib', 'bench', 'harness'), pkg(name)), [], name);
});

test.run();
