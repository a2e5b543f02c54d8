#!/usr/bin/env node
/**
 * Entry point of `docker-secretfs`. The metadata subcommand answers before anything heavy is
 * loaded (it runs on every `docker --help`); everything else builds the context from the process
 * (the streams, the environment, the TTY) and goes through run-program.ts, which renders every
 * error and maps it to the exit-code contract.
 */
import { renderPluginMetadata } from './metadata.js';

const argv = process.argv.slice(2);
if (argv[0] === 'docker-cli-plugin-metadata') {
  process.stdout.write(renderPluginMetadata());
} else {
  process.exitCode = await runCli(argv);
}

async function runCli(rawArgv: string[]): Promise<number> {
  // Listening for SIGINT, SIGTERM and the docker CLI's plugin socket starts before anything else runs.
  const { watchTermination } = await import('./termination.js');
  const termination = watchTermination({ env: process.env, exit: (code) => process.exit(code) });
  try {
    return await runWith(rawArgv, termination);
  } finally {
    termination.dispose();
  }
}

async function runWith(rawArgv: string[], termination: import('./termination.js').Termination): Promise<number> {
  const [{ runProgram }, { parsePluginArgs }, { createOutput, shouldUseColor }, { resolvePaths }, { createDockerClient, dockerHostFrom }] = await Promise.all([
    import('./run-program.js'),
    import('./plugin-args.js'),
    import('./output.js'),
    import('../lib/paths.js'),
    import('../lib/docker/client.js'),
  ]);
  const { args, dockerGlobalFlags } = parsePluginArgs(rawArgv);
  const env = process.env;
  const debug = Boolean(env.SECRETFS_DEBUG) || dockerGlobalFlags.includes('-D') || dockerGlobalFlags.includes('--debug');
  const out = createOutput({ stdout: process.stdout, stderr: process.stderr, color: shouldUseColor(process.stderr, env) });
  let docker: import('../lib/docker/client.js').DockerClient | undefined;
  const ctx = {
    env,
    paths: resolvePaths(env),
    out,
    stdin: process.stdin,
    stderr: process.stderr,
    docker: () => (docker ??= createDockerClient(dockerHostFrom(dockerGlobalFlags, env))),
    isInteractive: Boolean(process.stdin.isTTY && process.stderr.isTTY),
    dockerGlobalFlags,
    dockerCli: env.DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND || 'docker',
    termination,
    exitCode: undefined as number | undefined,
  };
  return runProgram(ctx, args, { stdout: process.stdout, stderr: process.stderr }, debug);
}
