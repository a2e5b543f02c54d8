import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDetached, stopDaemon } from '../../../lib/daemon/background.js';
import { daemonEnv } from '../../../lib/daemon/env.js';
import { daemonLiveness, isProcessAlive, readPidFile, runningPid, type DaemonSpec } from '../../../lib/daemon/process.js';

/**
 * The background-process layer both daemons use, with real processes: detached start and
 * readiness, a stale pid file whose pid now belongs to another program, a daemon that never
 * becomes ready, and a stop that escalates to SIGKILL after the grace period.
 */
const test = suite('daemon/background processes');
let dir = '';
let spec: DaemonSpec;
let marker = '';
const others: ChildProcess[] = [];

/** A tiny daemon: writes `ready` into its dir once its handlers are set (or never), ignores SIGTERM when told. */
const DAEMON = `
const [dir, mode] = process.argv.slice(1, 3);
if (mode === 'ignore-term') process.on('SIGTERM', () => {});
if (mode === 'exit') process.exit(7);
if (mode !== 'never-ready') require('fs').writeFileSync(dir + '/ready', String(process.pid));
setInterval(() => {}, 1000);
`;
const daemonArgs = (mode: string) => ['-e', DAEMON, dir, mode, marker];
const ready = () => existsSync(join(dir, 'ready'));

test.before.each(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sfs-daemon-'));
  marker = `secretfs-test-daemon-${randomBytes(4).toString('hex')}`;
  spec = { label: 'test daemon', pidFile: join(dir, 'run', 'd.pid'), logFile: join(dir, 'log', 'd.log'), isOurs: (argv) => argv.includes(marker) };
});
test.after.each(async () => {
  const pid = await readPidFile(spec.pidFile);
  if (pid && (await runningPid(spec)) === pid) process.kill(pid, 'SIGKILL');
  for (const c of others.splice(0)) c.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

const start = (mode: string, extra: Partial<Parameters<typeof startDetached>[0]> = {}) =>
  startDetached({ spec, command: process.execPath, args: daemonArgs(mode), env: daemonEnv(process.env), ready: async () => ready(), timeoutMs: 10_000, ...extra });

test('a detached start: its own session, pid file 0600, ready once it says so, no docker CLI plugin variables', async () => {
  const env = { ...process.env, DOCKER_CLI_PLUGIN_SOCKET: '@docker_cli_test', DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND: '/usr/bin/docker' };
  const started = await start('serve', { env: daemonEnv(env) });
  assert.is(started.outcome, 'ready');
  const pid = (started as { pid: number }).pid;
  assert.is(await readPidFile(spec.pidFile), pid);
  assert.is((await readFile(join(dir, 'ready'), 'utf8')), String(pid));
  assert.equal(await daemonLiveness(spec), { state: 'running', pid });
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  assert.is(Number(stat[3]), pid, 'session leader: it outlives the CLI and its terminal');
  const environ = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
  assert.not.ok(environ.some((e) => e.startsWith('DOCKER_CLI_PLUGIN_')), environ.filter((e) => e.startsWith('DOCKER')).join(' '));
  const stopped = await stopDaemon(spec, { graceMs: 5000 });
  assert.equal(stopped, { stopped: true, pid, killed: false });
  assert.not.ok(isProcessAlive(pid));
  assert.not.ok(existsSync(spec.pidFile), 'pid file removed');
});

test('a stale pid file whose pid another program now has: seen as dead, never signalled, and a start replaces it', async () => {
  const other = spawn('sleep', ['60'], { stdio: 'ignore' });
  others.push(other);
  await new Promise((r) => other.once('spawn', r));
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(dir, 'run'), { recursive: true });
  await writeFile(spec.pidFile, `${other.pid}\n`);
  assert.equal(await daemonLiveness(spec), { state: 'dead', pid: other.pid! });
  assert.is(await runningPid(spec), undefined);
  assert.equal(await stopDaemon(spec, { graceMs: 1000, leftovers: [join(dir, 'run', 'addr')] }), { stopped: false, died: other.pid! });
  assert.ok(isProcessAlive(other.pid!), 'the other program was not signalled');
  assert.is(other.exitCode, null);
  assert.not.ok(existsSync(spec.pidFile), 'the stale pid file is removed');

  await writeFile(spec.pidFile, `${other.pid}\n`);
  const started = await start('serve');
  assert.is(started.outcome, 'ready');
  assert.is(await runningPid(spec), (started as { pid: number }).pid);
  assert.ok(isProcessAlive(other.pid!));
});

test('a pid file whose process is gone (a kill -9) reads as dead; no pid file as stopped', async () => {
  assert.equal(await daemonLiveness(spec), { state: 'stopped' });
  const started = await start('serve');
  const pid = (started as { pid: number }).pid;
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 100 && isProcessAlive(pid); i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await daemonLiveness(spec), { state: 'dead', pid });
});

test('a daemon that never becomes ready: a timeout, and it is stopped with its pid file removed', async () => {
  const started = await start('never-ready', { timeoutMs: 600, graceMs: 2000 });
  assert.is(started.outcome, 'timeout');
  const pid = (started as { pid: number }).pid;
  assert.is((started as { killed: boolean }).killed, false, 'it exited on SIGTERM');
  assert.not.ok(isProcessAlive(pid), 'nothing half-started is left running');
  assert.not.ok(existsSync(spec.pidFile));
});

test('a daemon that never becomes ready and ignores SIGTERM is killed after the grace period', async () => {
  const started = await start('ignore-term', { ready: async () => false, timeoutMs: 600, graceMs: 300 });
  assert.is(started.outcome, 'timeout');
  assert.is((started as { killed: boolean }).killed, true);
  assert.not.ok(isProcessAlive((started as { pid: number }).pid));
});

test('a daemon that exits during start: its exit code, no pid file', async () => {
  const started = await start('exit');
  assert.equal({ outcome: started.outcome, code: (started as { code: number }).code }, { outcome: 'exited', code: 7 });
  assert.not.ok(existsSync(spec.pidFile));
});

test('a stop escalates to SIGKILL after the grace period when SIGTERM is ignored', async () => {
  const started = await start('ignore-term');
  assert.is(started.outcome, 'ready');
  const pid = (started as { pid: number }).pid;
  const stopped = await stopDaemon(spec, { graceMs: 300 });
  assert.equal(stopped, { stopped: true, pid, killed: true });
  assert.not.ok(isProcessAlive(pid));
  assert.not.ok(existsSync(spec.pidFile));
});

test('a command that cannot be spawned: exited, with the error', async () => {
  const started = await startDetached({ spec, command: join(dir, 'no-such-program'), args: [], env: {}, ready: async () => true, timeoutMs: 2000 });
  assert.is(started.outcome, 'exited');
  assert.match(String((started as { error?: Error }).error?.message), /ENOENT/);
  assert.not.ok(existsSync(spec.pidFile));
});

test.run();
