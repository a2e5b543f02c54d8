#!/usr/bin/env node
/**
 * Entry point of `docker-secretfs`. The metadata subcommand answers before anything heavy is
 * loaded (it runs on every `docker --help`); everything else builds the context from the process
 * (the streams, the environment, the TTY) and goes through run-program.ts, which renders every
 * error and maps it to the exit-code contract.
 */
import { renderPluginMetadata } from './metadata.js';
import { parsePluginArgs } from './plugin-args.js';

// Set by scripts/bundle.mjs: the commands (and '' for none: --help) built again into a bundle of
// their own, dist/cli/one/NAME.js, which this same entry point runs with only that command in it.
// Undefined when the sources run through tsx; [] in those bundles.
declare const SECRETFS_ONE_FILE_COMMANDS: string[] | undefined;

const argv = process.argv.slice(2);
if (argv[0] === 'docker-cli-plugin-metadata') {
  process.stdout.write(renderPluginMetadata());
} else {
  const own = oneFileBundle(argv);
  // One file of its own loads ~20 ms faster than the same modules from the shared chunks (bench: commands).
  if (own) await import(own);
  else process.exitCode = await runCli(argv);
}

/** The bundle of its own for the command an argv names (program.ts commandNamed's rule), if it has one. */
function oneFileBundle(rawArgv: string[]): string | undefined {
  if (typeof SECRETFS_ONE_FILE_COMMANDS === 'undefined') return undefined;
  const name = parsePluginArgs(rawArgv).args.find((a) => !a.startsWith('-')) ?? '';
  return SECRETFS_ONE_FILE_COMMANDS.includes(name) ? new URL(`./one/${name || '_root'}.js`, import.meta.url).href : undefined;
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
  const [{ runProgram }, { createOutput, shouldUseColor }, { resolvePaths }, { createDockerClient, dockerHostFrom }, { isatty }] = await Promise.all([
    import('./run-program.js'),
    import('./output.js'),
    import('../lib/paths.js'),
    import('../lib/docker/client.js'),
    import('node:tty'),
  ]);
  const { args, dockerGlobalFlags } = parsePluginArgs(rawArgv);
  const env = process.env;
  const debug = Boolean(env.SECRETFS_DEBUG) || dockerGlobalFlags.includes('-D') || dockerGlobalFlags.includes('--debug');
  const out = await createOutput({ stdout: process.stdout, stderr: process.stderr, color: shouldUseColor(process.stderr, env) });
  let docker: import('../lib/docker/client.js').DockerClient | undefined;
  const ctx = {
    env,
    paths: resolvePaths(env),
    out,
    // Opened when a command reads it (put, prompts): a stream on stdin costs every other command.
    get stdin() {
      return process.stdin;
    },
    stderr: process.stderr,
    docker: () => (docker ??= createDockerClient(dockerHostFrom(dockerGlobalFlags, env))),
    isInteractive: isatty(0) && Boolean(process.stderr.isTTY),
    dockerGlobalFlags,
    dockerCli: env.DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND || 'docker',
    termination,
    exitCode: undefined as number | undefined,
  };
  return runProgram(ctx, args, { stdout: process.stdout, stderr: process.stderr }, debug);
}
