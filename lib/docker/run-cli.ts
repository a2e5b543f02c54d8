import { spawn } from 'node:child_process';
import { DockerError } from '../errors.js';

/** A stop request as the command layer passes it on: its reason is the signal it stands for. */
export type StopSignalName = 'SIGINT' | 'SIGTERM';

export interface RunDockerCliOptions {
  /** Aborted when we are asked to stop; reason 'SIGINT' or 'SIGTERM'. */
  stop?: AbortSignal;
  /** What to do on a SIGTERM request while the docker CLI runs (e.g. stop the container). */
  onTerminate?(): void;
}

/**
 * Runs the docker CLI with the terminal attached (so `-it` works) and resolves to its exit status.
 * On a SIGINT request the docker CLI gets SIGINT (it passes it to the container, as Ctrl-C would);
 * on a SIGTERM request onTerminate runs. Either way we wait for the docker CLI to exit.
 */
export function runDockerCli(dockerCli: string, args: string[], env: NodeJS.ProcessEnv, options: RunDockerCliOptions = {}): Promise<{ status: number; signalled?: StopSignalName }> {
  return new Promise((resolve, reject) => {
    // The plugin-only variables would make the child think it is a plugin too.
    const { DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND: _a, DOCKER_CLI_PLUGIN_SOCKET: _b, ...childEnv } = env;
    const child = spawn(dockerCli, args, { stdio: 'inherit', env: childEnv });
    let signalled: StopSignalName | undefined;
    const onStop = () => {
      signalled = options.stop?.reason === 'SIGINT' ? 'SIGINT' : 'SIGTERM';
      // On a TTY the kernel already sent SIGINT to the whole foreground group; sending again is harmless.
      if (signalled === 'SIGINT') child.kill('SIGINT');
      else options.onTerminate?.();
    };
    if (options.stop?.aborted) onStop();
    else options.stop?.addEventListener('abort', onStop, { once: true });
    const done = () => options.stop?.removeEventListener('abort', onStop);
    child.on('error', (err) => {
      done();
      reject(new DockerError(`cannot run ${dockerCli}: ${err.message}`, { cause: err }));
    });
    child.on('exit', (code, signal) => {
      done();
      resolve({ status: code ?? (signal === 'SIGINT' ? 130 : 128 + 15), signalled });
    });
  });
}

/** What a captured docker CLI run printed. */
export interface CapturedDockerCli {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the docker CLI with its output captured (for `docker plugin create` and the like, which
 * the Engine API would need a tar stream for): bounded by timeoutMs (SIGKILL after it, and the
 * run is then a DockerError naming the command).
 */
export function captureDockerCli(dockerCli: string, args: string[], env: NodeJS.ProcessEnv, options: { timeoutMs?: number } = {}): Promise<CapturedDockerCli> {
  return new Promise((resolve, reject) => {
    const { DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND: _a, DOCKER_CLI_PLUGIN_SOCKET: _b, ...childEnv } = env;
    const child = spawn(dockerCli, args, { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer = options.timeoutMs ? setTimeout(() => ((timedOut = true), child.kill('SIGKILL')), options.timeoutMs) : undefined;
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new DockerError(`cannot run ${dockerCli}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) return reject(new DockerError(`\`docker ${args.slice(0, 2).join(' ')}\` did not finish within ${Math.round((options.timeoutMs ?? 0) / 1000)} s`));
      resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}
