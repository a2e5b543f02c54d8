import { readDriverAuthStatus, type DriverAuthStatus } from './approle-login.js';
import { builtCliEntry } from '../version.js';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { readFile, unlink } from 'node:fs/promises';
import { ConfigError } from '../errors.js';
import type { Paths } from '../paths.js';
import { ensurePrivateDir, readOptionalFile, writePrivateFile } from '../private-files.js';
import { callDriver } from './client.js';
import { resolveDriverCredential } from './credential.js';
import { STATUS_ROUTE, type DriverStatusReport, type VolumeStatus } from './protocol.js';
import { socketAnswers } from './server.js';
import { needsNewToken } from './volume-tokens.js';
import { DriverStateStore } from './state.js';
import { silentLogger } from '../log.js';
import { join } from 'node:path';
import { volumeDirName } from './volume-name.js';
import { loadFuseBinding } from '../fs/fuse-binding.js';
import { daemonEnv } from '../daemon-env.js';

/** What `driver status` reports. */
export interface DriverStatus {
  running: boolean;
  pid?: number;
  name: string;
  socket: string;
  logFile: string;
  volumes: VolumeStatus[];
  /** The AppRole login state when the driver logs in with AppRole. */
  auth?: DriverAuthStatus;
}

export interface BackgroundStartOptions {
  /** The command that runs `driver serve` (default: node <root>/dist/cli/main.js driver serve). */
  command?: string[];
  /** How long to wait for the socket to answer Plugin.Activate (default 20 s). */
  timeoutMs?: number;
}

/** `node <root>/dist/cli/main.js driver serve`, the command the background driver runs. */
export function defaultServeCommand(): string[] {
  return [process.execPath, builtCliEntry(), 'driver', 'serve'];
}

/** True when a process with this pid exists. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in the pid file, when there is one and that process is alive. */
export async function readDriverPid(paths: Paths): Promise<number | undefined> {
  const text = await readOptionalFile(paths.driverPidFile);
  const pid = Number(text?.trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return isProcessAlive(pid) ? pid : undefined;
}

/** Guards against a reused pid: the process must look like a secretfs driver. */
async function looksLikeDriver(pid: number): Promise<boolean> {
  try {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
    return /driver/.test(cmdline);
  } catch {
    return false;
  }
}

async function tail(file: string, lines = 15): Promise<string> {
  const text = (await readOptionalFile(file)) ?? '';
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Starts `driver serve` in the background, detached so it outlives the CLI, with stdout and
 * stderr appended to the log file and its pid in the pid file. VAULT_TOKEN is copied into the
 * driver's 0600 credential file first and is not passed on in the environment. Resolves once the
 * socket answers Plugin.Activate; when a driver already answers, returns it.
 */
export async function startDriverInBackground(
  paths: Paths,
  env: NodeJS.ProcessEnv,
  options: BackgroundStartOptions = {},
): Promise<{ pid: number; socket: string; logFile: string; alreadyRunning: boolean }> {
  const existing = await readDriverPid(paths);
  if (existing && (await socketAnswers(paths.driverSocket))) {
    return { pid: existing, socket: paths.driverSocket, logFile: paths.driverLogFile, alreadyRunning: true };
  }
  // A driver without a working FUSE binding would start and then fail every Mount: say so now.
  loadFuseBinding();
  await resolveDriverCredential(paths, env);
  await ensurePrivateDir(paths.runDir);
  await ensurePrivateDir(paths.logDir);
  const childEnv = daemonEnv(env, ['VAULT_TOKEN']);
  const [command, ...args] = options.command ?? defaultServeCommand();
  if (!options.command && !existsSync(args[0])) throw new ConfigError(`the CLI is not built: ${args[0]} is missing`, { hint: 'run `npm run build`' });
  const fd = openSync(paths.driverLogFile, 'a', 0o600);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let child;
  try {
    child = spawn(command, args, { detached: true, stdio: ['ignore', fd, fd], env: childEnv, cwd: '/' });
  } finally {
    closeSync(fd);
  }
  child.on('exit', (code, signal) => (exited = { code, signal }));
  child.unref();
  const pid = child.pid;
  if (!pid) throw new ConfigError('could not start the driver process');
  await writePrivateFile(paths.driverPidFile, `${pid}\n`);

  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  while (Date.now() < deadline) {
    if (exited) {
      throw new ConfigError(`the driver exited during start-up (${exited.signal ?? `code ${exited.code}`}); last log lines:\n${await tail(paths.driverLogFile)}`);
    }
    try {
      await callDriver(paths.driverSocket, '/Plugin.Activate', undefined, 1000);
      return { pid, socket: paths.driverSocket, logFile: paths.driverLogFile, alreadyRunning: false };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new ConfigError(`the driver did not answer on ${paths.driverSocket} within ${options.timeoutMs ?? 20_000} ms; see ${paths.driverLogFile}`);
}

/**
 * Stops the background driver by the pid in its pid file: SIGTERM (it unmounts and removes its
 * socket), then waits; SIGKILL only when it has not exited after `timeoutMs`.
 */
export async function stopDriver(paths: Paths, options: { timeoutMs?: number } = {}): Promise<{ stopped: boolean; pid?: number; killed?: boolean }> {
  const pid = await readDriverPid(paths);
  if (!pid || !(await looksLikeDriver(pid))) {
    await unlink(paths.driverPidFile).catch(() => {});
    if (existsSync(paths.driverSocket) && !(await socketAnswers(paths.driverSocket))) await unlink(paths.driverSocket).catch(() => {});
    return { stopped: false };
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  while (Date.now() < deadline) {
    if (!isProcessAlive(pid)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  let killed = false;
  if (isProcessAlive(pid)) {
    process.kill(pid, 'SIGKILL');
    killed = true;
  }
  await unlink(paths.driverPidFile).catch(() => {});
  // A killed driver leaves its socket file, and dockerd retries a dead socket for 30 s on every
  // volume call; remove it when nothing answers there.
  if (existsSync(paths.driverSocket) && !(await socketAnswers(paths.driverSocket))) await unlink(paths.driverSocket).catch(() => {});
  return { stopped: true, pid, killed };
}

/** The driver's pid, socket and volumes (asked from the running driver; from the state file when it is down). */
export async function driverStatus(paths: Paths): Promise<DriverStatus> {
  const base = { name: paths.driverName, socket: paths.driverSocket, logFile: paths.driverLogFile };
  const pid = await readDriverPid(paths);
  const auth = await readDriverAuthStatus(paths);
  try {
    const report = await callDriver<DriverStatusReport>(paths.driverSocket, STATUS_ROUTE, {}, 3000);
    return { ...base, running: true, pid: report.pid ?? pid, volumes: report.volumes, ...(auth ? { auth } : {}) };
  } catch {
    const defs = await new DriverStateStore(paths.driverStateFile, silentLogger).load().catch(() => new Map());
    const volumes: VolumeStatus[] = [...defs.values()].map((d) => ({
      name: d.name,
      path: d.path,
      mounted: false,
      refCount: 0,
      mountIds: 0,
      mountpoint: join(paths.mountRoot, volumeDirName(d.name)),
      tokenSource: d.tokenSource,
      policies: d.policies,
      ...(needsNewToken(d) ? { needsToken: needsNewToken(d) } : {}),
      createdAt: d.createdAt,
    }));
    return { ...base, running: false, pid, volumes, ...(auth ? { auth } : {}) };
  }
}
