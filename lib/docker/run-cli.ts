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
