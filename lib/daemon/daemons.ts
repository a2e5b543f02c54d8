import { DEFAULT_STORE_ADDR } from '../config.js';
import type { Paths } from '../paths.js';
import { readOptionalFile } from '../private-files.js';
import type { DaemonSpec } from './process.js';

/**
 * The two daemons secretfs runs on a host, the volume driver and the embedded store, as the
 * background-process layer knows them: pid file, log, how to recognise their processes, and the
 * one command that starts each again.
 */

/** `… driver serve`: the CLI's (or a wrapper's) command line with `driver` right before `serve`. */
function isDriverArgv(argv: readonly string[]): boolean {
  return argv.some((a, i) => a === 'serve' && i > 0 && /driver/.test(argv[i - 1]));
}

/** The volume driver of these paths. */
export function driverDaemon(paths: Paths): DaemonSpec {
  return { label: 'volume driver', pidFile: paths.driverPidFile, logFile: paths.driverLogFile, isOurs: isDriverArgv };
}

/** The embedded store of these paths (`server serve`, or a test entry whose name says serve). */
export function storeDaemon(paths: Paths): DaemonSpec {
  return { label: 'embedded store', pidFile: paths.storePidFile, logFile: paths.storeLogFile, isOurs: (argv) => argv.some((a) => a.includes('serve')) && !isDriverArgv(argv) };
}

/** The command that starts the driver again (its name and home come from the caller's environment, as before). */
export const DRIVER_START_COMMAND = 'docker secretfs driver start';

/** A word as a POSIX shell reads it back (quoted only when it must be). */
function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The `server start` flags that start the store again as it last ran: those serveStore recorded
 * (the real address when it was given port 0, so the config stays right, and the TLS files),
 * else `--addr address`; `--addr` is left out when it is the default.
 */
export async function storeStartArgs(paths: Paths, address?: string): Promise<string[]> {
  let args: string[] | undefined;
  try {
    const record = JSON.parse((await readOptionalFile(paths.storeStartFile)) ?? 'null') as { args?: unknown } | null;
    if (Array.isArray(record?.args) && record.args.every((a) => typeof a === 'string')) args = record.args as string[];
  } catch {
    /* a damaged record: fall back to the address */
  }
  args ??= address ? ['--addr', address] : [];
  const i = args.indexOf('--addr');
  if (i >= 0 && args[i + 1] === DEFAULT_STORE_ADDR) args = [...args.slice(0, i), ...args.slice(i + 2)];
  return args;
}

/** The one command that starts the store again as it last ran (see storeStartArgs). */
export async function storeStartCommand(paths: Paths, address?: string): Promise<string> {
  return ['docker secretfs server start', ...(await storeStartArgs(paths, address)).map(shellWord)].join(' ');
}
