#!/usr/bin/env node
// Proves the tests or the benchmark left the user's Docker engine as they found it: times
// `docker volume inspect <random name>` on the engine this environment points at (the user's,
// not a private test dockerd) and fails if it takes more than 2 s. dockerd asks every volume
// driver it has activated about an unknown name, retrying a dead one for ~30 s, so a test driver
// left registered with the user's engine shows up here. No engine answering: the check is
// skipped (exit 0), except under CI=true, where a skip is a failure.
//
//   node scripts/user-engine-check.mjs --before FILE   at the start of a run: records a baseline in FILE
//   node scripts/user-engine-check.mjs [--after FILE]  at the end: exit 1 if slower than 2 s
//
// With a baseline that was already over 2 s, the slowness is not this run's doing: the end check
// says so and passes, except under CI=true (a fresh CI engine is never slow before the run).
// Each probe is cut off at 5 s (enough to know it is over the limit). Used by scripts/test.mjs
// (with the e2e layer) and bench/run.ts.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

const LIMIT_MS = 2000;
const CUTOFF_MS = 5000;
const inCi = process.env.CI === 'true' || process.env.CI === '1';
const [mode, file] = process.argv.slice(2);

const run = (args, timeout) =>
  new Promise((resolve) => {
    const start = process.hrtime.bigint();
    execFile('docker', args, { timeout, env: process.env }, (err, _stdout, stderr) => {
      resolve({ ms: Number(process.hrtime.bigint() - start) / 1e6, ok: !err, stderr: String(stderr).trim(), killed: !!err?.killed });
    });
  });

/** One probe: { ms, ok } where ok means dockerd answered "no such volume" within the limit. */
async function probe() {
  const info = await run(['info', '--format', '{{.ServerVersion}}'], 20_000);
  if (!info.ok) return undefined;
  const name = `secretfs-probe-${randomBytes(6).toString('hex')}`;
  const r = await run(['volume', 'inspect', name], CUTOFF_MS);
  return { name, ms: Math.round(r.ms), ok: r.ms <= LIMIT_MS && /no such volume/i.test(r.stderr), detail: r.killed ? `cut off after ${CUTOFF_MS} ms` : r.stderr };
}

const p = await probe();
if (mode === '--before') {
  writeFileSync(file, JSON.stringify(p ?? null));
  if (p && !p.ok) process.stdout.write(`user's Docker engine: ALREADY SLOW before this run: docker volume inspect took ${p.ms} ms (${p.detail}); a dockerd restart clears dead plugins\n`);
  process.exit(0);
}
if (!p) {
  // A check that cannot run is a skip, and under CI a skip is a failure (CI's quick start starts an engine).
  process.stdout.write(`user's Docker engine: none answers here, check skipped${inCi ? ': FAILED, CI=true and a skip is a failure' : ''}\n`);
  process.exit(inCi ? 1 : 0);
}
let before;
try {
  before = file ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
} catch {
  before = undefined;
}
const line = `user's Docker engine: docker volume inspect ${p.name} took ${p.ms} ms (limit ${LIMIT_MS} ms)`;
if (p.ok) {
  process.stdout.write(`${line}: ok\n`);
  process.exit(0);
}
if (before && !before.ok && !inCi) {
  process.stdout.write(`${line}: slow, but it was already ${before.ms} ms before this run started, so not this run's doing (restart dockerd to clear it)\n`);
  process.exit(0);
}
process.stdout.write(`${line}: FAILED (${p.detail})\n`);
process.exit(1);
