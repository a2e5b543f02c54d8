#!/usr/bin/env node
// Runs the uvu suites (unit, then integration, then e2e) in one uvu process, streams its output,
// and ends with the plain `N passed, N failed, N skipped` line CI reads.
// Usage: node scripts/test.mjs [unit|integration|e2e ...]
//
// The exit status tells the truth (uvu's alone does not):
// - non-zero when any case fails, any before/after hook fails (scripts/uvu-truth-hooks.mjs makes
//   uvu report them), a suite runs fewer cases than it declares, or uvu's summary is missing;
// - a case or suite that cannot run prints `[secretfs-skip] suite|test: REASON`
//   (test/helpers/environment.ts): its cases are counted as skipped, not passed, and listed with
//   the reason; under CI=true any skip (also uvu's own test.skip) fails the run;
// - when the e2e layer ran, the run ends by timing `docker volume inspect <random name>` on the
//   user's Docker engine (scripts/user-engine-check.mjs) and fails if it takes more than 2 s.
// SECRETFS_TEST_DIR moves the test folder (the runner's own tests run fixture suites with it).
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const testDir = process.env.SECRETFS_TEST_DIR ? resolve(process.env.SECRETFS_TEST_DIR) : 'test';
const layers = process.argv.slice(2).length ? process.argv.slice(2) : ['unit', 'integration', 'e2e'];
const inCi = process.env.CI === 'true' || process.env.CI === '1';
const pattern = `^(${layers.join('|')})/.*\\.test\\.ts$`;
const SKIP = '[secretfs-skip]';

const checkEngine = layers.includes('e2e') && !process.env.SECRETFS_TEST_DIR;
const engineCheck = fileURLToPath(new URL('./user-engine-check.mjs', import.meta.url));
const baseline = join(tmpdir(), `secretfs-engine-baseline-${process.pid}.json`);
const runNode = (args) => new Promise((done) => spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] }).on('close', (rc) => done(rc)));
if (checkEngine) await runNode([engineCheck, '--before', baseline]);

const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--import', './scripts/uvu-truth.mjs', 'node_modules/uvu/bin.js', testDir, pattern, '--color', 'false'],
  { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FORCE_COLOR: '0' } },
);
let output = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  output += chunk;
});
// Stop the whole run (and the child's own cleanup handlers) if the suite is interrupted.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));

/** Per suite: its file, cases declared and passed (uvu's `(n / m)`), and the skips it printed. */
function suites(plain) {
  const found = [];
  let file = '';
  let skips = [];
  const re = /^((?:unit|integration|e2e|[\w.-]+)\/\S+\.test\.ts)$|\[secretfs-skip\] (suite|test): (.*)$|\((\d+) \/ (\d+)\)$/gm;
  for (const m of plain.matchAll(re)) {
    if (m[1]) file = m[1];
    else if (m[2]) skips.push({ scope: m[2], reason: m[3].trim() });
    else {
      found.push({ file, passed: Number(m[4]), total: Number(m[5]), skips });
      skips = [];
    }
  }
  return found;
}

child.on('close', async (code, signal) => {
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
  const num = (label) => Number((plain.match(new RegExp(`${label}:\\s+(\\d+)`)) ?? [])[1] ?? NaN);
  const problems = [];
  let passed = 0;
  let failed = 0;
  let skipped = Number.isNaN(num('Skipped')) ? 0 : num('Skipped');
  const skipReasons = [];
  if (skipped > 0) skipReasons.push(`${skipped} case(s) marked test.skip`);
  for (const s of suites(plain)) {
    const suiteSkip = s.skips.find((x) => x.scope === 'suite');
    const testSkips = s.skips.filter((x) => x.scope === 'test').length;
    // A skipped case returned early: uvu counted it as passed.
    const skippedHere = suiteSkip ? s.passed : Math.min(testSkips, s.passed);
    passed += s.passed - skippedHere;
    skipped += skippedHere;
    if (skippedHere) skipReasons.push(`${s.file}: ${skippedHere} case(s): ${(suiteSkip ?? s.skips[0]).reason}`);
    if (s.passed < s.total) {
      failed += s.total - s.passed;
      problems.push(`${s.file}: ran ${s.passed} of ${s.total} cases to success`);
    }
  }
  for (const m of plain.matchAll(/^\s+FAIL\s+(.*?)\s+"(.*)"$/gm)) problems.push(`${m[1]}: "${m[2]}" failed`);
  for (const m of plain.matchAll(/^\[uvu-truth\] not run: (.*)$/gm)) problems.push(m[1]);
  if (!plain.includes('[uvu-truth] patched')) problems.push('uvu ended before its summary (a crash, or the uvu-truth patch did not load)');
  if (Number.isNaN(num('Total'))) problems.push('no uvu summary (Total/Passed)');
  if (code !== 0) problems.push(`uvu exited ${code ?? signal}`);
  if (inCi && skipped > 0) problems.push(`CI=true: ${skipped} case(s) skipped, and in CI a skip is a failure`);

  if (checkEngine) {
    const rc = await runNode([engineCheck, '--after', baseline]);
    rmSync(baseline, { force: true });
    if (rc !== 0) problems.push("the user's Docker engine answers docker volume inspect in more than 2 s (see above)");
  }

  if (skipReasons.length) process.stdout.write(`\nskipped:\n${skipReasons.map((r) => `  - ${r}`).join('\n')}\n`);
  if (problems.length) process.stdout.write(`\nFAILED:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
  if (problems.length && failed === 0) failed = 1;
  process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  process.exit(problems.length ? 1 : 0);
});
