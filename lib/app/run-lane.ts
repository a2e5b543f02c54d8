import { readFile, stat, truncate, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Paths } from '../paths.js';
import { readOptionalFile, writePrivateFile } from '../private-files.js';
import { daemonLiveness } from '../daemon/process.js';
import { driverDaemon } from '../daemon/daemons.js';
import { mountFlag } from './run-plan.js';

/**
 * The record `run`'s fast lane follows (scripts/plugin-shim.sh reads it, with shell builtins
 * only). When `docker secretfs run` finds that the driver mints for a path itself (an allowed
 * path covers it), all a later `run [--path P] -- ARGS` of that path needs is `docker run --rm`
 * with the `--mount` of the driver's anonymous volume: the launcher can start it without Node.
 * This module is the only writer; the format is line-based:
 *
 *   secretfs-run-lane 1
 *   boot <kernel boot id>                    the uptimes below are this boot's
 *   driver-env <SECRETFS_DRIVER_NAME or ->   made for this driver name
 *   default-env <SECRETFS_DEFAULT_PATH or -> and this default path from the environment
 *   pid <pid> <start time> | pid -           the host driver then running (- for the managed plugin)
 *   default <until> <mount>                  `run -- ARGS` (the config's default path)
 *   path <--path as typed> <until> <mount>   `run --path P -- ARGS`
 *
 * `until` is seconds of uptime. The launcher ignores a record not newer than config.json, and a new
 * record keeps an earlier one's lines only under the same rule, so a `default` line always names
 * the default path of the config it is newer than. It holds no secret (paths and the driver's
 * name); it lives in the 0600 run directory all the same.
 */
export const RUN_LANE_HEADER = 'secretfs-run-lane 1';

/** How long a path found allowed is taken as allowed without asking Vault again. */
export const RUN_LANE_TTL_S = 600;

/** At most this many paths are kept (the oldest go first). */
const MAX_ENTRIES = 32;

/** What the shell reads as one word: a `--path` as typed and a --mount value must be plain. */
const PLAIN_KEY = /^[A-Za-z0-9_.@+][A-Za-z0-9_.@+/-]*$/;
const PLAIN_WORD = /^[\x21-\x7e]+$/;

/** The record's file. */
export function runLaneFile(paths: Paths): string {
  return join(paths.runDir, 'run-lane');
}

/** One run's paths the driver mints for: each `--path` as typed (undefined: the default path) and the path it names. */
export interface LanePath {
  typed?: string;
  path: string;
}

export interface RecordRunLaneInput {
  /** The driver the volume goes to (config.volumeDriver: ours or the managed plugin). */
  volumeDriver: string;
  /** The mount target of `run` without --target. */
  target: string;
  paths: LanePath[];
  env: NodeJS.ProcessEnv;
}

/**
 * Records the lane for `input.paths`, keeping the entries of a record still valid for the same
 * driver process. Nothing is recorded for a host driver that is not running, or for a path the
 * launcher could not read back as one word.
 */
export async function recordRunLane(paths: Paths, input: RecordRunLaneInput): Promise<void> {
  const managed = input.volumeDriver !== paths.driverName;
  let pid = '-';
  if (!managed) {
    const live = await daemonLiveness(driverDaemon(paths));
    if (live.state !== 'running') return;
    pid = `${live.pid} ${await startTime(live.pid)}`;
  }
  const [boot, now, previous] = await Promise.all([bootId(), uptimeSeconds(), linesNewerThanConfig(paths)]);
  const head = [RUN_LANE_HEADER, `boot ${boot}`, `driver-env ${input.env.SECRETFS_DRIVER_NAME || '-'}`, `default-env ${input.env.SECRETFS_DEFAULT_PATH || '-'}`, `pid ${pid}`];
  const entries = new Map<string, string>();
  const lines = previous ?? [];
  if (head.every((line, i) => lines[i] === line)) {
    for (const line of lines.slice(head.length)) {
      const [kind, key, until] = line.split(' ');
      if (kind === 'default' && Number(key) > now) entries.set('', line);
      else if (kind === 'path' && Number(until) > now) entries.set(key, line);
    }
  }
  const until = Math.floor(now) + RUN_LANE_TTL_S;
  for (const p of input.paths) {
    const mount = mountFlag({ target: input.target, driver: input.volumeDriver, options: { ephemeral: 'true', path: p.path } });
    if (!PLAIN_WORD.test(mount)) continue;
    if (p.typed === undefined) {
      entries.delete('');
      entries.set('', `default ${until} ${mount}`);
    } else if (PLAIN_KEY.test(p.typed)) {
      entries.delete(p.typed);
      entries.set(p.typed, `path ${p.typed} ${until} ${mount}`);
    }
  }
  const kept = [...entries.values()].slice(-MAX_ENTRIES);
  await writePrivateFile(runLaneFile(paths), [...head, ...kept, ''].join('\n'));
  await newerThanConfig(paths);
}

/**
 * The launcher follows the record only when it is strictly newer than config.json, and a file
 * written right after the config (init) may get the same coarse timestamp: then it is dated a
 * millisecond after the config.
 */
async function newerThanConfig(paths: Paths): Promise<void> {
  const [record, config] = await Promise.all([stat(runLaneFile(paths)), stat(paths.configFile).catch(() => undefined)]);
  if (config && record.mtimeMs <= config.mtimeMs) await utimes(runLaneFile(paths), record.atime, (config.mtimeMs + 1) / 1000);
}

/** The lines of the record, when it is newer than config.json (what the launcher follows); else undefined. */
async function linesNewerThanConfig(paths: Paths): Promise<string[] | undefined> {
  const [record, config] = await Promise.all([stat(runLaneFile(paths)).catch(() => undefined), stat(paths.configFile).catch(() => undefined)]);
  if (!record || !config || record.mtimeMs <= config.mtimeMs) return undefined;
  return (await readOptionalFile(runLaneFile(paths)).catch(() => undefined))?.split('\n');
}

/** Empties the record (e.g. when a path may no longer be allowed): the next run asks again. */
export async function clearRunLane(paths: Paths): Promise<void> {
  await truncate(runLaneFile(paths)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/** A process's start time in clock ticks since boot (/proc/PID/stat's 22nd field): with the pid, one process. */
async function startTime(pid: number): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: count from its closing one.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

async function bootId(): Promise<string> {
  return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
}

async function uptimeSeconds(): Promise<number> {
  return Number((await readFile('/proc/uptime', 'utf8')).split(' ')[0]);
}
