import { execFile } from 'node:child_process';
import { chmod, copyFile, cp, mkdir, readFile, readdir, realpath, stat, symlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ConfigError } from '../errors.js';

const run = promisify(execFile);

/** Where the install lives inside the plugin's rootfs. */
export const PLUGIN_APP_DIR = '/opt/secretfs';
/** The node binary inside the rootfs. */
export const PLUGIN_NODE = '/usr/bin/node';

/** What went into a rootfs: its size, and the native files that needed shared libraries. */
export interface RootfsSummary {
  bytes: number;
  files: number;
  /** The shared libraries copied (host paths, as ldd named them). */
  libraries: string[];
  /** The production packages copied from node_modules. */
  packages: number;
}

export interface BuildRootfsOptions {
  /** The install to copy (the folder holding package.json, dist/ and node_modules/). */
  packageRoot: string;
  /** The node binary to ship (default: the one running us). */
  nodeBinary?: string;
}

/**
 * The shared libraries a binary or addon needs, as `ldd` resolves them on this host (the loader
 * included). A library ldd cannot find is an error naming it: the plugin would not start.
 */
export async function sharedLibraries(file: string): Promise<string[]> {
  let stdout: string;
  try {
    ({ stdout } = await run('ldd', [file], { encoding: 'utf8' }));
  } catch (err) {
    const out = String((err as { stdout?: string }).stdout ?? '');
    // A static binary: ldd says so and exits 1; it needs nothing.
    if (/not a dynamic executable|statically linked/.test(out + String((err as { stderr?: string }).stderr ?? ''))) return [];
    throw new ConfigError(`ldd ${file} failed: ${(err as Error).message}`, { cause: err, hint: 'install libc-bin (ldd)' });
  }
  const libs: string[] = [];
  for (const line of stdout.split('\n')) {
    const missing = /^\s*(\S+) => not found/.exec(line);
    if (missing) throw new ConfigError(`${file} needs ${missing[1]}, which is not installed`, { hint: missing[1].startsWith('libfuse') ? 'apt-get install -y libfuse2' : undefined });
    const m = /=>\s*(\/\S+)\s*\(/.exec(line) ?? /^\s*(\/\S+)\s*\(/.exec(line);
    if (m) libs.push(m[1]);
  }
  return libs;
}

/** Finds a program on PATH (absolute), or throws naming the package. */
async function onPath(program: string, pkg: string): Promise<string> {
  for (const dir of (process.env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const candidate = join(dir, program);
    try {
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      /* not here */
    }
  }
  throw new ConfigError(`${program} is not installed`, { hint: `apt-get install -y ${pkg}` });
}

/** Copies a host file to the same path below root, following symlinks (the rootfs holds real files). */
async function copyHostFile(root: string, hostPath: string, mode?: number): Promise<void> {
  const dest = join(root, hostPath);
  await mkdir(dirname(dest), { recursive: true });
  await copyFile(hostPath, dest);
  if (mode !== undefined) await chmod(dest, mode);
}

/** An entry of package-lock.json's `packages`. */
interface LockEntry {
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  link?: boolean;
}

/**
 * The production packages of the install, from package-lock.json (what `npm ci --omit=dev`
 * installs): every `node_modules/...` entry that is not dev-only. devOptional ones (type
 * declarations that an optional peer names) are left out too: nothing runs them.
 */
export async function productionPackages(packageRoot: string): Promise<string[]> {
  const lock = JSON.parse(await readFile(join(packageRoot, 'package-lock.json'), 'utf8')) as { packages?: Record<string, LockEntry> };
  if (!lock.packages) throw new ConfigError(`${packageRoot}/package-lock.json has no "packages" (lockfile v2 or later is needed)`);
  return Object.entries(lock.packages)
    .filter(([path, entry]) => path.startsWith('node_modules/') && !entry.dev && !entry.devOptional && !entry.link)
    .map(([path]) => path)
    .sort();
}

/** Build leftovers of native addons and sources nothing loads: copying them would only make the plugin bigger. */
const SKIPPED_DIRS = new Set(['obj', 'obj.target', '.deps', '.github', 'deps']);
const SKIPPED_FILE = /\.(a|o|c|cc|cpp|h|hh|hpp|gyp|gypi|mk|map|d\.ts|d\.mts|d\.cts|md|markdown)$/i;
const HOST_PREBUILD = `${process.platform}-${process.arch}`;

/** True for what a package copy keeps (its own nested node_modules are copied as packages of their own). */
function keep(source: string, packageDir: string, isDir: boolean): boolean {
  const rel = source.slice(packageDir.length + 1);
  if (rel === '') return true;
  const parts = rel.split('/');
  const name = parts[parts.length - 1];
  if (isDir) {
    if (name === 'node_modules' || SKIPPED_DIRS.has(name)) return false;
    // Prebuilt addons for other platforms (fuse-native ships darwin's too).
    if (parts.length === 2 && parts[0] === 'prebuilds' && name !== HOST_PREBUILD) return false;
    return true;
  }
  if (name === 'test_extension.node') return false;
  return !SKIPPED_FILE.test(name) || name === 'package.json';
}

async function packageCopy(packageRoot: string, root: string, pkg: string): Promise<void> {
  const from = join(packageRoot, pkg);
  const to = join(root, PLUGIN_APP_DIR, pkg);
  await cp(from, to, {
    recursive: true,
    dereference: true,
    filter: async (source) => keep(source, from, (await stat(source)).isDirectory()),
  });
}

/** Every regular file below dir, for ldd (native addons) and the size. */
async function walk(dir: string, out: { path: string; size: number }[] = []): Promise<{ path: string; size: number }[]> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) await walk(p, out);
    else if (entry.isFile()) out.push({ path: p, size: (await stat(p)).size });
  }
  return out;
}

/**
 * Builds the plugin's rootfs in `root` (an empty directory): node and the shared libraries it and
 * the native addons (fuse-native, better-sqlite3) need, libfuse2 among them; fusermount and /bin/sh; the built
 * dist/ (the CLI bundle and lib/), package.json, plugin-metadata/ and the production node_modules
 * copied from this install (no network: what runs is exactly what is installed here); the
 * directories the plugin's config mounts on.
 */
export async function buildRootfs(root: string, options: BuildRootfsOptions): Promise<RootfsSummary> {
  const { packageRoot } = options;
  const nodeBinary = await realpath(options.nodeBinary ?? process.execPath);
  for (const need of ['dist/cli/main.js', 'package.json', 'package-lock.json', 'node_modules']) {
    try {
      await stat(join(packageRoot, need));
    } catch {
      throw new ConfigError(`${join(packageRoot, need)} is missing: the plugin is built from a built install`, { hint: 'run `npm ci && npm run build` in the secretfs checkout' });
    }
  }
  const app = join(root, PLUGIN_APP_DIR);
  await mkdir(join(app, 'dist'), { recursive: true });
  for (const dir of ['tmp', 'etc', 'secretfs/driver', 'secretfs/log', 'secretfs/mnt', 'secretfs/run', 'run/docker/plugins']) await mkdir(join(root, dir), { recursive: true });
  await chmod(join(root, 'tmp'), 0o1777);
  await chmod(join(root, 'secretfs'), 0o700);

  await mkdir(join(root, dirname(PLUGIN_NODE)), { recursive: true });
  await copyFile(nodeBinary, join(root, PLUGIN_NODE));
  await chmod(join(root, PLUGIN_NODE), 0o755);

  // fusermount: libfuse2 runs it to unmount (and to mount when it cannot itself). Debian's is a link to fusermount3.
  const fusermount = await onPath('fusermount', 'fuse3');
  const fusermountReal = await realpath(fusermount);
  await copyHostFile(root, fusermountReal, 0o755);
  if (fusermountReal !== fusermount) await symlink(basename(fusermountReal), join(root, '/usr/bin/fusermount')).catch(() => undefined);

  // A POSIX shell at /bin/sh: fuse-native unmounts through child_process.exec (`fusermount -uz`), and
  // without one every unmount fails, the FUSE thread is never let go and the driver cannot exit on SIGTERM.
  const shell = await realpath('/bin/sh').catch(() => {
    throw new ConfigError('/bin/sh is missing', { hint: 'apt-get install -y dash' });
  });
  await copyHostFile(root, shell, 0o755);
  if (shell !== '/bin/sh') {
    await mkdir(join(root, 'bin'), { recursive: true });
    await symlink(shell, join(root, 'bin/sh'));
  }

  await cp(join(packageRoot, 'dist/cli'), join(app, 'dist/cli'), { recursive: true, filter: (s) => !s.endsWith('.map') });
  await cp(join(packageRoot, 'dist/lib'), join(app, 'dist/lib'), { recursive: true, filter: (s) => !s.endsWith('.map') }).catch((err) => {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  });
  await copyFile(join(packageRoot, 'package.json'), join(app, 'package.json'));
  await cp(join(packageRoot, 'plugin-metadata'), join(app, 'plugin-metadata'), { recursive: true });
  const packages = await productionPackages(packageRoot);
  for (const pkg of packages) await packageCopy(packageRoot, root, pkg);

  // Shared libraries of node, fusermount and every native addon copied.
  const files = await walk(root);
  const natives = [nodeBinary, fusermountReal, shell, ...files.filter((f) => f.path.endsWith('.node')).map((f) => f.path)];
  const libraries = new Set<string>();
  for (const file of natives) for (const lib of await sharedLibraries(file)) libraries.add(lib);
  for (const lib of libraries) await copyHostFile(root, lib);

  const all = await walk(root);
  return { bytes: all.reduce((n, f) => n + f.size, 0), files: all.length, libraries: [...libraries].sort(), packages: packages.length };
}
