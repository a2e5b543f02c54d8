import { posix } from 'node:path';
import { UsageError } from '../errors.js';
import { normalizeSecretPath } from '../vault/kv-path.js';

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
const SHORT_WITH_VALUE = /^-[acehlmpuvw]$/;
const LONG_BOOLEAN = new Set(['--rm', '--init', '--privileged', '--read-only', '--interactive', '--tty', '--detach', '--publish-all', '--no-healthcheck', '--oom-kill-disable', '--sig-proxy', '--quiet', '--help', '--disable-content-trust']);

/** True when the options before the image ask for a detached container (-d, --detach, -itd...). */
export function asksForDetach(userArgs: string[]): boolean {
  for (let i = 0; i < userArgs.length; i++) {
    const arg = userArgs[i];
    if (!arg.startsWith('-') || arg === '--') return false;
    if (arg === '--detach' || arg === '--detach=true' || /^-[itPq]*d[itPq]*$/.test(arg)) return true;
    const takesValue = arg.startsWith('--') ? !arg.includes('=') && !LONG_BOOLEAN.has(arg) : SHORT_WITH_VALUE.test(arg);
    if (takesValue) i++;
  }
  return false;
}

/**
 * The docker CLI arguments: `[globals] run --rm --mount ...,readonly [user's args]`.
 * The container is always removed when it stops, since its secrets volume is; detached runs are
 * refused because nothing would remain to clean up after them.
 */
export function dockerRunArgs(globalFlags: string[], mounts: { volume: string; target: string }[], userArgs: string[], env: string[] = []): string[] {
  if (userArgs.length === 0) throw new UsageError('name an image: docker secretfs run -- [docker run options] IMAGE [COMMAND...]');
  if (asksForDetach(userArgs)) {
    throw new UsageError('docker secretfs run cannot run detached: its secrets volume is removed when the command ends', {
      hint: 'for a long-running container, create a volume with `docker secretfs volume create` and use `docker run -d -v NAME:/run/secrets`',
    });
  }
  const mountFlags = mounts.flatMap((m) => ['--mount', `type=volume,source=${m.volume},target=${m.target},readonly`]);
  // A second --rm from the user is harmless: docker takes a repeated boolean flag.
  const envFlags = env.flatMap((e) => ['--env', e]);
  return [...globalFlags, 'run', '--rm', ...mountFlags, ...envFlags, ...userArgs];
}
