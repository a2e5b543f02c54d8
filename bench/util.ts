import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The value at quantile q (0..1) of numbers, nearest-rank on a sorted copy (as readbench does: t[n*q]). */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
}

/** The median of numbers (upper median for even counts, like readbench). */
export function median(values: number[]): number {
  return quantile(values, 0.5);
}

/** Rounds to a given number of decimals (JSON stays readable). */
export function round(value: number, decimals = 1): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

/** Elapsed time since start (process.hrtime.bigint()) in microseconds. */
export function elapsedUs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1000;
}

/** Resolves after ms. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls check until it returns a value (not undefined/false), at most timeoutMs; throws with what on timeout. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 15_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(everyMs);
  }
}

/** The result of a finished command. */
export interface CmdResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command (no shell), bounded by timeoutMs; never rejects for a non-zero exit. */
export function cmd(file: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string; input?: string } = {}): Promise<CmdResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { env: options.env ?? process.env, timeout: options.timeoutMs ?? 60_000, cwd: options.cwd, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
        if (e && typeof e.code === 'string') return reject(new Error(`${file}: ${e.message}`));
        if (e && (e as { killed?: boolean }).killed) return reject(new Error(`${file} ${args.join(' ')}: timed out`));
        resolve({ code: e ? Number(e.code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (options.input !== undefined) {
      // A command that exits without reading its input (node -e 0) closes the pipe first: EPIPE is not its failure.
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(options.input);
    }
  });
}

/** Like cmd, but throws when the exit status is not 0 (with stderr in the message). */
export async function mustCmd(file: string, args: string[], options: Parameters<typeof cmd>[2] = {}): Promise<string> {
  const r = await cmd(file, args, options);
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim().slice(0, 2000)}`);
  return r.stdout;
}

/**
 * Wall-clock time of one run of a command in milliseconds (spawn to exit) and its stdout; stdin
 * gets `input` and is closed (empty without one). Throws on a non-zero exit, with its stderr.
 */
export async function timeCommand(
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<{ ms: number; stdout: string }> {
  const start = process.hrtime.bigint();
  const stdout = await mustCmd(file, args, { env: options.env, input: options.input ?? '', timeoutMs: options.timeoutMs ?? 120_000 });
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, stdout };
}

/**
 * Everything the bench must undo, in reverse order of creation, also on failure and on
 * SIGINT/SIGTERM: processes (by PID), FUSE mounts, Docker volumes, temp dirs.
 */
export class Cleanup {
  private readonly steps: { what: string; fn: () => Promise<void> | void }[] = [];
  private running: Promise<void> | undefined;

  /** Registers an undo step; returns a function that runs it now (and only once). */
  add(what: string, fn: () => Promise<void> | void): () => Promise<void> {
    const step = { what, fn };
    this.steps.push(step);
    return async () => {
      const i = this.steps.indexOf(step);
      if (i < 0) return;
      this.steps.splice(i, 1);
      await fn();
    };
  }

  /** Runs every registered step, newest first; failures are reported, not thrown. */
  run(report: (msg: string) => void = () => {}): Promise<void> {
    this.running ??= (async () => {
      while (this.steps.length > 0) {
        const step = this.steps.pop()!;
        try {
          await step.fn();
        } catch (err) {
          report(`cleanup: ${step.what}: ${(err as Error).message}`);
        }
      }
      this.running = undefined;
    })();
    return this.running;
  }
}

/** Creates a temp dir removed by cleanup. */
export async function tempDir(cleanup: Cleanup, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanup.add(`remove ${dir}`, () => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Sends SIGTERM to a child by PID and waits up to ms for it to exit, then SIGKILL. */
export async function stopChild(child: ChildProcess, ms = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {
    return;
  }
  // A timer that is cleared once the child exits: a pending one would keep the bench alive after its output.
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  const outcome = await Promise.race([exited.then(() => 'exited' as const), timeout]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((resolve) => (grace = setTimeout(resolve, 2000)))]);
    clearTimeout(grace);
  }
}

/** Unmounts a FUSE mount at dir if it is still mounted (lazily, so a busy mount cannot block cleanup). */
export async function unmountIfMounted(dir: string): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  const mounted = mounts.split('\n').some((l) => l.split(' ')[1] === dir);
  if (!mounted) return;
  const r = await cmd('fusermount', ['-u', '-z', dir], { timeoutMs: 10_000 });
  if (r.code !== 0) await cmd('umount', ['-l', dir], { timeoutMs: 10_000 });
}

/** Progress lines for people: on stderr only, so `--json` keeps stdout to one JSON object. */
export interface Progress {
  step(msg: string): void;
  note(msg: string): void;
}

/** A progress reporter: a rewritten status line on a TTY, plain lines otherwise. */
export function createProgress(stream: NodeJS.WriteStream = process.stderr, quiet = false): Progress {
  const tty = Boolean(stream.isTTY);
  const started = Date.now();
  const stamp = () => `[${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s]`;
  let pending = false;
  return {
    step(msg) {
      if (quiet) return;
      if (tty) {
        const line = `${stamp()} ${msg}`.slice(0, (stream.columns || 100) - 1);
        stream.write(`\r\x1b[K${line}`);
        pending = true;
      } else stream.write(`${stamp()} ${msg}\n`);
    },
    note(msg) {
      if (tty && pending) stream.write('\r\x1b[K');
      pending = false;
      stream.write(`${msg}\n`);
    },
  };
}
