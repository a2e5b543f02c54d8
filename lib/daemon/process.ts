import { readFile, rm } from 'node:fs/promises';
import { readOptionalFile, writePrivateFile } from '../private-files.js';

/**
 * A background daemon's process as this host sees it: its pid file, whether the pid in it is
 * alive, and whether that live process is the daemon (a pid file outlives a kill -9, and the
 * kernel reuses its pid for anything).
 */
export interface DaemonSpec {
  /** What messages call it: `volume driver`, `embedded store`. */
  label: string;
  pidFile: string;
  logFile: string;
  /** Whether a live process's command line (its arguments) is this daemon's. */
  isOurs(argv: readonly string[]): boolean;
}

/** True when a process with this pid exists (EPERM: it exists and belongs to someone else). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A live process's arguments from /proc; undefined when it is gone, null when /proc cannot say (not Linux, no access). */
export async function commandLine(pid: number): Promise<string[] | undefined | null> {
  try {
    const text = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return text.split('\0').filter((a) => a !== '');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : null;
  }
}

/** The pid a pid file names: undefined when the file is missing or holds no positive integer. */
export async function readPidFile(file: string): Promise<number | undefined> {
  const pid = Number((await readOptionalFile(file))?.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Writes `pid` to the pid file (0600, atomic). */
export async function writePidFile(file: string, pid: number): Promise<void> {
  await writePrivateFile(file, `${pid}\n`);
}

/** Removes the pid file (and `also`) only while it still names `pid`: a newer daemon may have replaced it. */
export async function releasePidFile(file: string, pid: number, also: readonly string[] = []): Promise<void> {
  if ((await readPidFile(file)) !== pid) return;
  await rm(file, { force: true });
  for (const f of also) await rm(f, { force: true });
}

/**
 * What the pid file says: `running` (its pid is alive and is the daemon, or is this very
 * process), `dead` (the file is there but its pid is gone or now another program: the daemon
 * died without cleaning up, e.g. kill -9 or a crash), or `stopped` (no pid file: never started,
 * or stopped cleanly).
 */
export type Liveness = { state: 'running'; pid: number } | { state: 'dead'; pid: number } | { state: 'stopped' };

/** Reads the daemon's liveness from its pid file and /proc. */
export async function daemonLiveness(spec: DaemonSpec): Promise<Liveness> {
  const pid = await readPidFile(spec.pidFile);
  if (pid === undefined) return { state: 'stopped' };
  if (pid === process.pid) return { state: 'running', pid };
  if (!isProcessAlive(pid)) return { state: 'dead', pid };
  const argv = await commandLine(pid);
  if (argv === undefined) return { state: 'dead', pid };
  // Where /proc cannot tell, a live pid has to do.
  return argv === null || spec.isOurs(argv) ? { state: 'running', pid } : { state: 'dead', pid };
}

/** The pid of the running daemon, else undefined. */
export async function runningPid(spec: DaemonSpec): Promise<number | undefined> {
  const live = await daemonLiveness(spec);
  return live.state === 'running' ? live.pid : undefined;
}

/** The last lines of a log file ('' when there is none). */
export async function logTail(file: string, lines = 15): Promise<string> {
  const text = (await readOptionalFile(file)) ?? '';
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
