import { readFileSync, readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

/**
 * Stop requests are the command layer's: cli/termination.ts is the one listener of SIGINT,
 * SIGTERM and the docker CLI's plugin socket, and lib/ (the daemons' serve functions included)
 * returns stop handles or takes an AbortSignal instead. A handler anywhere in lib/ breaks this.
 */
const test = suite('structure/signals');

const root = fileURLToPath(new URL('../../..', import.meta.url));
const HANDLER = /\bprocess\s*\.\s*(?:on|once|addListener|prependListener|prependOnceListener)\s*\(\s*['"`](SIG[A-Z]+)['"`]/g;

function files(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = posix.join(dir, e.name);
    return e.isDirectory() ? files(rel) : e.name.endsWith('.ts') ? [rel] : [];
  });
}

const handlers = (dirs: string[]) =>
  dirs.flatMap(files).flatMap((f) => [...readFileSync(join(root, f), 'utf8').matchAll(HANDLER)].map((m) => `${f}: ${m[1]}`));

test('the finder sees a handler (so an empty answer below means something)', () => {
  assert.equal([...`process.on('SIGTERM', f); process.once("SIGINT", g)`.matchAll(HANDLER)].map((m) => m[1]), ['SIGTERM', 'SIGINT']);
  assert.equal(handlers(['cli']), ['cli/termination.ts: SIGINT', 'cli/termination.ts: SIGTERM']);
});

test('lib/ installs no signal handler: serve functions return stop handles', () => {
  assert.equal(handlers(['lib']), []);
});

test.run();
