import { spawn } from 'node:child_process';
import { DockerError } from '../errors.js';

/**
 * Runs the docker CLI with the terminal attached (so `-it` works) and resolves to its exit status.
 * SIGINT and SIGTERM reaching us are passed on to it instead of ending us, so the caller can
 * clean up after the container stops.
 */
export function runDockerCli(dockerCli: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number; signalled?: NodeJS.Signals }> {
  return new Promise((resolve, reject) => {
    // The plugin-only variables would make the child think it is a plugin too.
    const { DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND: _a, DOCKER_CLI_PLUGIN_SOCKET: _b, ...childEnv } = env;
    const child = spawn(dockerCli, args, { stdio: 'inherit', env: childEnv });
    let signalled: NodeJS.Signals | undefined;
    const forward = (signal: NodeJS.Signals) => {
      signalled = signal;
      // On a TTY the kernel already sent SIGINT to the whole foreground group; sending again is harmless.
      child.kill(signal);
    };
    const onInt = () => forward('SIGINT');
    const onTerm = () => forward('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    const done = () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    };
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
