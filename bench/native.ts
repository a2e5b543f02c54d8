import { existsSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cmd, mustCmd } from './util.js';

/** The repository root (bench/ sources compile to dist/bench/, two levels below it). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the C floor (memfs, readbench) and our probe are built; git-ignored. */
export const BUILD_DIR = join(REPO_ROOT, 'bench', '.build');

/** The shared FUSE floor sources (libfuse 2 memfs and readbench); overridable for other checkouts. */
export const FUSE_FLOOR_DIR = process.env.SECRETFS_FUSE_FLOOR_DIR || '/work/shared/tools/fuse-floor';

/** Paths of the native tools the bench runs. */
export interface NativeTools {
  memfs: string;
  readbench: string;
  probe: string;
}

async function newer(target: string, ...sources: string[]): Promise<boolean> {
  if (!existsSync(target)) return false;
  const t = (await stat(target)).mtimeMs;
  for (const s of sources) if ((await stat(s)).mtimeMs > t) return false;
  return true;
}

/**
 * The Debian packages the C floor needs to build and that are missing here (gcc, pkg-config,
 * libfuse-dev for fuse.pc); ./install.sh installs them. Empty when the build can run.
 */
export async function missingBuildPackages(): Promise<string[]> {
  const has = async (c: string) => (await cmd('sh', ['-c', `command -v ${c}`])).code === 0;
  const missing: string[] = [];
  if (!(await has('gcc'))) missing.push('gcc');
  if (!(await has('pkg-config'))) missing.push('pkg-config');
  if (!(await has('pkg-config')) || (await cmd('pkg-config', ['--exists', 'fuse'])).code !== 0) missing.push('libfuse-dev');
  return missing;
}

/**
 * Builds memfs and readbench with the shared build.sh, and bench/probe.c (whole-file reads,
 * readdir, concurrent loops and bursts), into bench/.build; rebuilt only when a source changed.
 */
export async function buildNativeTools(): Promise<NativeTools> {
  await mkdir(BUILD_DIR, { recursive: true });
  const tools: NativeTools = { memfs: join(BUILD_DIR, 'memfs'), readbench: join(BUILD_DIR, 'readbench'), probe: join(BUILD_DIR, 'probe') };
  const floorSources = [join(FUSE_FLOOR_DIR, 'memfs.c'), join(FUSE_FLOOR_DIR, 'readbench.c')];
  for (const s of floorSources) if (!existsSync(s)) throw new Error(`the FUSE floor sources are missing: ${s} (set SECRETFS_FUSE_FLOOR_DIR)`);
  if (!(await newer(tools.memfs, ...floorSources)) || !(await newer(tools.readbench, ...floorSources))) {
    await mustCmd('bash', [join(FUSE_FLOOR_DIR, 'build.sh'), BUILD_DIR], { timeoutMs: 120_000 });
  }
  const probeSource = join(REPO_ROOT, 'bench', 'probe.c');
  if (!(await newer(tools.probe, probeSource))) {
    await mustCmd('gcc', ['-O2', '-pthread', '-o', tools.probe, probeSource], { timeoutMs: 120_000 });
  }
  return tools;
}

/** p50/p99 of one readbench run (open + read 4 KiB + close, in a loop), in microseconds. */
export interface ReadbenchResult {
  p50_us: number;
  p99_us: number;
  n: number;
}

/** Runs readbench on file for n iterations. */
export async function readbench(tools: NativeTools, file: string, n: number): Promise<ReadbenchResult> {
  const out = await mustCmd(tools.readbench, [file, String(n)], { timeoutMs: 300_000 });
  const m = /p50=([\d.]+)us p99=([\d.]+)us n=(\d+)/.exec(out);
  if (!m) throw new Error(`readbench printed ${JSON.stringify(out.trim())}`);
  return { p50_us: Number(m[1]), p99_us: Number(m[2]), n: Number(m[3]) };
}

/** Runs the probe and parses its one JSON line. */
export async function probe<T = Record<string, number>>(tools: NativeTools, args: string[], timeoutMs = 300_000): Promise<T> {
  const r = await cmd(tools.probe, args, { timeoutMs });
  if (r.code !== 0) throw new Error(`probe ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as T;
}
