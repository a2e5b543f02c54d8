#!/usr/bin/env node
/**
 * Entry point of `docker-secretfs`. The metadata subcommand answers before anything heavy is
 * loaded (it runs on every `docker --help`); everything else goes through commander, and every
 * error is rendered here and only here, with the exit-code contract:
 * 0 success, 1 usage or local error, 2 Vault or Docker failure, 130 cancelled
 * (`run` passes the container's status through, 125 when it failed before the container ran).
 */
import { renderPluginMetadata } from './metadata.js';

const argv = process.argv.slice(2);
if (argv[0] === 'docker-cli-plugin-metadata') {
  process.stdout.write(renderPluginMetadata());
} else {
  process.exitCode = await runCli(argv);
}

async function runCli(rawArgv: string[]): Promise<number> {
  const [{ CommanderError }, { createProgram }, { parsePluginArgs }, { createOutput, shouldUseColor }, { resolvePaths }, { SecretfsError }, { createDockerClient, dockerHostFrom }] =
    await Promise.all([
      import('commander'),
      import('./program.js'),
      import('./plugin-args.js'),
      import('./output.js'),
      import('../lib/paths.js'),
      import('../lib/errors.js'),
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
    exitCode: undefined as number | undefined,
  };
  const program = createProgram(ctx);
  // Every command reports usage errors as one line on stderr and lets us choose the exit code.
  const configure = (cmd: import('commander').Command) => {
    cmd.exitOverride().configureOutput({
      writeOut: (s) => process.stdout.write(s),
      writeErr: (s) => process.stderr.write(s),
      outputError: (s, write) => write(out.color.red(s.split('\n')[0].replace(/^error: /, 'error: ')) + '\n'),
    });
    cmd.commands.forEach(configure);
  };
  configure(program);
  try {
    await program.parseAsync(args, { from: 'user' });
    return ctx.exitCode ?? 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version') return 0;
      return 1;
    }
    if (err instanceof SecretfsError) {
      out.error(err.message);
      if (err.hint) out.info(`hint: ${err.hint}`);
      if (debug && err.cause) out.info(String((err.cause as Error).stack ?? err.cause));
      return ctx.exitCode ?? err.exitCode;
    }
    if (err instanceof Error && err.name === 'ExitPromptError') {
      out.info('Cancelled.');
      return 130;
    }
    out.error(`unexpected error, please report it: ${err instanceof Error ? err.message : String(err)}`);
    if (debug && err instanceof Error) out.info(err.stack ?? '');
    else out.info('run with SECRETFS_DEBUG=1 for details');
    return ctx.exitCode ?? 1;
  }
}
