import { posix } from 'node:path';
import { UsageError } from '../errors.js';
import { normalizeSecretPath } from '../vault/kv-path.js';

/** Where `run` mounts the secrets without --target. */
export const DEFAULT_RUN_TARGET = '/run/secrets';

/** One secret path mounted into the container. */
export interface PlannedMount {
  path: string;
  /** Where it appears in the container. */
  target: string;
}

/**
 * Where each path goes: one path at the target itself (default /run/secrets); several paths
 * each under the target by their last segment (/run/secrets/app-1, /run/secrets/db). Pure.
 */
export function planMounts(paths: string[], target: string): PlannedMount[] {
  if (!target.startsWith('/') || target.split('/').includes('..')) throw new UsageError(`--target must be an absolute container path: ${target}`);
  const clean = paths.map((p) => normalizeSecretPath(p));
  if (clean.length === 1) return [{ path: clean[0], target: posix.normalize(target) }];
  const seen = new Map<string, string>();
  return clean.map((path) => {
    const leaf = path.split('/').pop()!;
    if (seen.has(leaf)) throw new UsageError(`${seen.get(leaf)} and ${path} would both be mounted at ${target}/${leaf}`);
    seen.set(leaf, path);
    return { path, target: posix.join(target, leaf) };
  });
}

/**
 * The `*_FILE` variables of `run --env-files`: for each file, `<PREFIX><NAME>_FILE=<target>/<file>`,
 * the name upper-cased with every character other than A-Z, 0-9 and _ (such as - and .) as `_`.
 * Paths only, never values. Two files giving one variable are refused, naming both. Pure.
 */
export function fileEnvVars(mounts: { target: string; files: string[] }[], prefix = ''): string[] {
  if (prefix !== '' && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(prefix)) throw new UsageError(`--env-prefix ${JSON.stringify(prefix)} is not the start of a variable name (letters, digits, _)`);
  const seen = new Map<string, string>();
  const out: string[] = [];
  for (const m of mounts) {
    for (const file of m.files) {
      let name = `${prefix}${file.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}_FILE`;
      if (/^[0-9]/.test(name)) name = `_${name}`;
      const path = posix.join(m.target, file);
      const other = seen.get(name);
      if (other !== undefined) throw new UsageError(`--env-files: ${other} and ${path} would both be ${name}`);
      seen.set(name, path);
      out.push(`${name}=${path}`);
    }
  }
  return out;
}

/** `docker run` short flags that take a value, and long flags that do not. */
const SHORT_WITH_VALUE = new Set(['a', 'c', 'e', 'h', 'l', 'm', 'p', 'u', 'v', 'w']);
const LONG_BOOLEAN = new Set(['--rm', '--init', '--privileged', '--read-only', '--interactive', '--tty', '--detach', '--publish-all', '--no-healthcheck', '--oom-kill-disable', '--sig-proxy', '--quiet', '--help', '--disable-content-trust']);
/** What Go's strconv.ParseBool reads as false (docker's flags are Go's): any other `--detach=` value detaches or fails. */
const GO_FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

/**
 * True when the options before the image ask for a detached container, read as docker's flag
 * parser reads them: `--detach`, `--detach=V` unless V is false, and `-d` anywhere in a cluster of
 * short flags before one that takes a value (`-itd`, `-de X=1`; in `-ed` the d is -e's value).
 */
export function asksForDetach(userArgs: string[]): boolean {
  for (let i = 0; i < userArgs.length; i++) {
    const arg = userArgs[i];
    if (!arg.startsWith('-') || arg === '--' || arg === '-') return false;
    if (arg.startsWith('--')) {
      if (arg === '--detach') return true;
      if (arg.startsWith('--detach=')) return !GO_FALSE.has(arg.slice('--detach='.length));
      if (!arg.includes('=') && !LONG_BOOLEAN.has(arg)) i++;
      continue;
    }
    for (let c = 1; c < arg.length; c++) {
      if (arg[c] === 'd') return true;
      if (SHORT_WITH_VALUE.has(arg[c])) {
        // The rest of the cluster is its value; none left: the next argument is.
        if (c === arg.length - 1) i++;
        break;
      }
    }
  }
  return false;
}

/** The label of a run's container, so a stop request finds it whatever its volumes are called. */
export const RUN_LABEL = 'io.secretfs.run';

/**
 * One `--mount` of a run: a named volume (created beforehand), or one that dockerd creates with
 * the container (anonymous, so `--rm` removes it with the container) from our driver and options.
 */
export type RunMount = { target: string; volume: string } | { target: string; driver: string; options: Record<string, string> };

/** A field of docker's `--mount` value (CSV, as Go's encoding/csv reads it): quoted when it holds a comma, quote or line break. */
function csvField(field: string): string {
  return /[",\r\n]/.test(field) ? `"${field.replaceAll('"', '""')}"` : field;
}

/**
 * The value of one `--mount` flag of our driver's volume. Pure. dockerd refuses `readonly` for an
 * anonymous volume; the filesystem is mounted read-only itself (lib/fs/mount.ts), so writes fail with EROFS.
 */
export function mountFlag(m: RunMount): string {
  const fields = ['type=volume'];
  if ('volume' in m) fields.push(`source=${m.volume}`, `target=${m.target}`, 'readonly');
  else {
    fields.push(`target=${m.target}`, `volume-driver=${m.driver}`);
    for (const [k, v] of Object.entries(m.options)) fields.push(`volume-opt=${k}=${v}`);
  }
  return fields.map(csvField).join(',');
}

/**
 * The docker CLI arguments: `[globals] run --rm --label io.secretfs.run=ID --mount ... [user's args]`. The container is always removed when it stops, since its secrets volume is;
 * detached runs are refused because nothing would remain to clean up after them.
 */
export function dockerRunArgs(globalFlags: string[], runId: string, mounts: RunMount[], userArgs: string[], env: string[] = []): string[] {
  if (userArgs.length === 0) throw new UsageError('name an image: docker secretfs run -- [docker run options] IMAGE [COMMAND...]');
  if (asksForDetach(userArgs)) {
    throw new UsageError('docker secretfs run cannot run detached: its secrets volume is removed when the command ends', {
      hint: 'for a long-running container, create a volume with `docker secretfs volume create` and use `docker run -d -v NAME:/run/secrets`',
    });
  }
  const mountFlags = mounts.flatMap((m) => ['--mount', mountFlag(m)]);
  // A second --rm from the user is harmless: docker takes a repeated boolean flag.
  const envFlags = env.flatMap((e) => ['--env', e]);
  return [...globalFlags, 'run', '--rm', '--label', `${RUN_LABEL}=${runId}`, ...mountFlags, ...envFlags, ...userArgs];
}
