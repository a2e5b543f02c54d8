import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ensurePrivateDir } from '../private-files.js';
import { daemonLiveness, isProcessAlive, releasePidFile, sleep, writePidFile, type DaemonSpec } from './process.js';

/** What startDetached runs and how it knows the daemon serves. */
export interface DetachedStart {
  spec: DaemonSpec;
  command: string;
  args: readonly string[];
  /** The daemon's whole environment (build it with daemonEnv: never the docker CLI's plugin variables). */
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** True once the daemon serves; asked every `pollMs` until `timeoutMs`. */
  ready(): Promise<boolean>;
  timeoutMs: number;
  pollMs?: number;
  /** How long a daemon that never became ready gets to exit on SIGTERM before SIGKILL (default 2 s). */
  graceMs?: number;
}

/** How a detached start ended: serving, exited before it was ready, or not ready in time (then stopped). */
export type StartOutcome =
  | { outcome: 'ready'; pid: number }
  | { outcome: 'exited'; pid?: number; code: number | null; signal: NodeJS.Signals | null; error?: Error }
  | { outcome: 'timeout'; pid: number; killed: boolean };

/**
 * Starts a daemon in its own session (detached, so it outlives the CLI that started it and the
 * terminal's signals), stdin closed, stdout and stderr appended to its log file (0600), its pid
 * written to the pid file at once. Then polls `ready` until it serves, exits, or the time is up;
 * a daemon that is not ready in time is stopped (SIGTERM, SIGKILL after the grace period) and
 * its pid file removed, so nothing half-started stays behind.
 */
export async function startDetached(start: DetachedStart): Promise<StartOutcome> {
  const { spec } = start;
  await ensurePrivateDir(dirname(spec.pidFile));
  await ensurePrivateDir(dirname(spec.logFile));
  const fd = openSync(spec.logFile, 'a', 0o600);
  let exited: { code: number | null; signal: NodeJS.Signals | null; error?: Error } | undefined;
  let child;
  try {
    child = spawn(start.command, [...start.args], { detached: true, stdio: ['ignore', fd, fd], env: start.env, cwd: start.cwd ?? '/' });
  } finally {
    closeSync(fd);
  }
  child.once('exit', (code, signal) => (exited = { code, signal }));
  child.once('error', (error) => (exited ??= { code: null, signal: null, error }));
  child.unref();
  const pid = child.pid;
  if (!pid) {
    await sleep(0); // the spawn error is reported on the next tick
    return { outcome: 'exited', code: null, signal: null, ...exited };
  }
  await writePidFile(spec.pidFile, pid);
  const deadline = Date.now() + start.timeoutMs;
  while (Date.now() < deadline) {
    if (exited) {
      await releasePidFile(spec.pidFile, pid);
      return { outcome: 'exited', pid, ...exited };
    }
    if (await start.ready().catch(() => false)) return { outcome: 'ready', pid };
    await sleep(start.pollMs ?? 100);
  }
  if (exited) {
    await releasePidFile(spec.pidFile, pid);
    return { outcome: 'exited', pid, ...exited };
  }
  const killed = await terminate(pid, start.graceMs ?? 2000);
  await releasePidFile(spec.pidFile, pid);
  return { outcome: 'timeout', pid, killed };
}

/**
 * SIGTERM, then SIGKILL when the process is still there after `graceMs`; resolves once it is
 * gone (true when it took SIGKILL). Bounded: a process that survives SIGKILL for 5 s (stuck in
 * the kernel, e.g. on a dead FUSE mount) is reported by the caller's next liveness check.
 */
export async function terminate(pid: number, graceMs: number): Promise<boolean> {
  if (!signal(pid, 'SIGTERM')) return false;
  if (await exitWithin(pid, graceMs)) return false;
  signal(pid, 'SIGKILL');
  await exitWithin(pid, 5000);
  return true;
}

function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

async function exitWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isProcessAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

/** What stopDaemon did. */
export interface StopOutcome {
  /** A running daemon was signalled (false: none ran; a stale pid file was only removed). */
  stopped: boolean;
  pid?: number;
  /** It did not exit within the grace period and got SIGKILL. */
  killed?: boolean;
  /** None ran, but its pid file named this pid: it had died without cleaning up (a crash, kill -9). */
  died?: number;
}

/**
 * Stops the daemon by the pid in its pid file: SIGTERM (it cleans up and exits), SIGKILL when it
 * is still there after `graceMs`. A pid file whose pid is gone or belongs to another program now
 * is only removed: that process is never signalled. `leftovers` (a socket, an address file) are
 * removed with the pid file.
 */
export async function stopDaemon(spec: DaemonSpec, opts: { graceMs: number; leftovers?: readonly string[] }): Promise<StopOutcome> {
  const live = await daemonLiveness(spec);
  // The daemon served in this very process is its command layer's to stop, never signalled from here.
  if (live.state === 'running' && live.pid === process.pid) return { stopped: false };
  if (live.state !== 'running') {
    await rm(spec.pidFile, { force: true });
    for (const f of opts.leftovers ?? []) await rm(f, { force: true });
    return live.state === 'dead' ? { stopped: false, died: live.pid } : { stopped: false };
  }
  const killed = await terminate(live.pid, opts.graceMs);
  await releasePidFile(spec.pidFile, live.pid, opts.leftovers);
  return { stopped: true, pid: live.pid, killed };
}
