import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import { runCommand, type CliResult } from '../../../harness/run-cli.js';

/**
 * scripts/test.mjs, the real runner, on the fixture suites of test/fixtures/runner (a folder the
 * real run never matches), each in a child process: its exit status and summary must say what
 * really happened, where uvu 0.5.6 alone exits 0 for a throwing before hook and for declared
 * cases that never ran.
 */
const test = suite('test runner (scripts/test.mjs) tells the truth');
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../../fixtures/runner', import.meta.url));

function runner(layer: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runCommand(process.execPath, [`${ROOT}scripts/test.mjs`, layer], { env: { SECRETFS_TEST_DIR: FIXTURES, CI: '', ...env }, timeoutMs: 60_000 });
}

test('all green: exit 0, "2 passed, 0 failed, 0 skipped"', async () => {
  const r = await runner('green');
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /\n2 passed, 0 failed, 0 skipped\n$/);
});

test('a before hook that throws: exit 1, its error printed, its cases not counted, later files still run', async () => {
  const r = await runner('before-throws');
  assert.is(r.code, 1, r.stdout);
  assert.match(r.stdout, /FAIL\s+before throws\s+"\(before hook\)"\n\s+boom-in-before/);
  assert.match(r.stdout, /before-throws\/a\.test\.ts: ran 0 of 2 cases to success/);
  assert.match(r.stdout, /after the failing file\s+•\s+\(1 \/ 1\)/);
  assert.match(r.stdout, /\n1 passed, 2 failed, 0 skipped\n$/);
});

test('an after hook that throws: exit 1 with its error, and the next file still runs', async () => {
  const r = await runner('after-throws');
  assert.is(r.code, 1, r.stdout);
  assert.match(r.stdout, /FAIL\s+after throws\s+"\(after hook\)"\n\s+boom-in-after/);
  assert.match(r.stdout, /after the failing file\s+•\s+\(1 \/ 1\)/);
});

test('a suite that declares cases and never runs them: exit 1, named with its count', async () => {
  const r = await runner('not-run');
  assert.is(r.code, 1, r.stdout);
  assert.match(r.stdout, /suite "forgotten": 2 case\(s\) declared but never run/);
});

test('skips are reported as skipped with their reason, not passed; exit 0 outside CI, 1 under CI=true', async () => {
  const r = await runner('skips');
  assert.is(r.code, 0, r.stdout);
  assert.match(r.stdout, /skips\/a\.test\.ts: 2 case\(s\): needs the moon/);
  assert.match(r.stdout, /skips\/a\.test\.ts: 1 case\(s\): needs a unicorn/);
  assert.match(r.stdout, /\n1 passed, 0 failed, 3 skipped\n$/);
  const ci = await runner('skips', { CI: 'true' });
  assert.is(ci.code, 1, ci.stdout);
  assert.match(ci.stdout, /CI=true: 3 case\(s\) skipped, and in CI a skip is a failure/);
});

test.run();
