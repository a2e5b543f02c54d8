import { spawn, type ChildProcess } from 'node:child_process';

/** A command running in the background, its stdout and stderr collected together. */
export interface BackgroundProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves once the output holds `text`; throws after `ms` or when the process exits first. */
  waitFor(text: string, ms?: number): Promise<void>;
  /** The exit code (-1 when a signal ended it); throws when it still runs after `ms`. */
  exited(ms?: number): Promise<number | null>;
}

/** Starts `command` with `env` over the test's own environment (NO_COLOR set), and adds it to `children`. */
export function startBackground(command: string, args: string[], env: NodeJS.ProcessEnv, children: ChildProcess[]): BackgroundProcess {
  const child = spawn(command, args, { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  return {
    child,
    output: () => out,
    async waitFor(text, ms = 20_000) {
      const deadline = Date.now() + ms;
      while (!out.includes(text)) {
        if (Date.now() > deadline) throw new Error(`no "${text}" within ${ms} ms; output:\n${out}`);
        if (child.exitCode !== null) throw new Error(`exited ${child.exitCode} before "${text}"; output:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    exited: (ms = 30_000) =>
      Promise.race([exit, new Promise<number | null>((_, reject) => setTimeout(() => reject(new Error(`still running after ${ms} ms; output:\n${out}`)), ms))]),
  };
}

/**
 * Stops the child processes a test started that still run, by their handles (so by pid): SIGTERM,
 * up to timeoutMs for each to exit, then SIGKILL. Returns the pids that needed SIGKILL (a
 * process of ours that ignores SIGTERM is a failure to report, and may leave a mount behind).
 */
export async function stopChildren(children: ChildProcess[], timeoutMs = 10_000): Promise<number[]> {
  const running = children.filter((c) => c.exitCode === null && c.signalCode === null && c.pid !== undefined);
  const killed: number[] = [];
  await Promise.all(
    running.map(async (child) => {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const late = await Promise.race([exited.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)))]);
      clearTimeout(timer);
      if (late) {
        killed.push(child.pid!);
        child.kill('SIGKILL');
        await exited;
      }
    }),
  );
  return killed;
}
