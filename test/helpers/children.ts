import type { ChildProcess } from 'node:child_process';

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
