import { readDriverAuthStatus, type DriverAuthStatus } from './approle-login.js';
import { builtCliEntry } from '../version.js';
import { existsSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { ConfigError } from '../errors.js';
import type { Paths } from '../paths.js';
import { ensurePrivateDir } from '../private-files.js';
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
import { daemonEnv } from '../daemon/env.js';
import { startDetached, stopDaemon } from '../daemon/background.js';
import { logTail, runningPid } from '../daemon/process.js';
import { driverDaemon } from '../daemon/daemons.js';

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
  /**
   * Set when the driver is the managed plugin (init --managed): dockerd runs it, `running` is
   * whether the plugin is enabled, and the volumes are the state file's (mount states are the plugin's).
   */
  managedPlugin?: { name: string; installed: boolean; enabled: boolean };
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
export { isProcessAlive } from '../daemon/process.js';

/** The pid in the pid file, when that process is alive and is a driver (not a reused pid). */
export async function readDriverPid(paths: Paths): Promise<number | undefined> {
  return runningPid(driverDaemon(paths));
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
  const [command, ...args] = options.command ?? defaultServeCommand();
  if (!options.command && !existsSync(args[0])) throw new ConfigError(`the CLI is not built: ${args[0]} is missing`, { hint: 'run `npm run build`' });
  const timeoutMs = options.timeoutMs ?? 20_000;
  const started = await startDetached({
    spec: driverDaemon(paths),
    command,
    args,
    env: daemonEnv(env, ['VAULT_TOKEN']),
    ready: () => callDriver(paths.driverSocket, '/Plugin.Activate', undefined, 1000).then(() => true),
    timeoutMs,
  });
  if (started.outcome === 'ready') return { pid: started.pid, socket: paths.driverSocket, logFile: paths.driverLogFile, alreadyRunning: false };
  if (started.outcome === 'exited') {
    if (!started.pid) throw new ConfigError(`could not start the driver process${started.error ? `: ${started.error.message}` : ''}`);
    throw new ConfigError(`the driver exited during start-up (${started.signal ?? `code ${started.code}`}); last log lines:\n${await logTail(paths.driverLogFile)}`);
  }
  throw new ConfigError(`the driver did not answer on ${paths.driverSocket} within ${timeoutMs} ms (stopped it${started.killed ? ' with SIGKILL' : ''}); see ${paths.driverLogFile}`);
}

/**
 * Stops the background driver by the pid in its pid file: SIGTERM (it unmounts and removes its
 * socket), then waits; SIGKILL only when it has not exited after `timeoutMs`.
 */
export async function stopDriver(paths: Paths, options: { timeoutMs?: number } = {}): Promise<{ stopped: boolean; pid?: number; killed?: boolean; died?: number }> {
  const result = await stopDaemon(driverDaemon(paths), { graceMs: options.timeoutMs ?? 20_000 });
  // A killed driver leaves its socket file, and dockerd retries a dead socket for 30 s on every
  // volume call; remove it when nothing answers there.
  if (existsSync(paths.driverSocket) && !(await socketAnswers(paths.driverSocket))) await unlink(paths.driverSocket).catch(() => {});
  return result;
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
