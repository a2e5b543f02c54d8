import { CommanderError, type Command } from 'commander';
import { SecretfsError, isVaultFailure } from '../lib/errors.js';
import type { CliContext } from './context.js';
import { createProgramFor } from './program.js';

/** Where commander writes help and usage errors (the process's stdout and stderr). */
export interface ProgramStreams {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/**
 * Parses and runs one command line and maps what happened to the exit-code contract:
 * 0 success, 1 usage or local error, 2 Vault or Docker failure, 130 cancelled, or what the
 * command set (run passes the container's status through, 125 when it failed first). Every
 * error is rendered here and only here. main.ts calls it with the process; tests with their own context.
 */
export async function runProgram(ctx: CliContext, args: string[], streams: ProgramStreams, debug = false): Promise<number> {
  const { out } = ctx;
  // `get ...` needs only get; a bare `--help` or a mistyped name only the commands' summaries; `help get` the whole tree.
  const program = await createProgramFor(ctx, args);
  // Every command reports usage errors as one line on stderr and lets us choose the exit code.
  const configure = (cmd: Command) => {
    cmd.exitOverride().configureOutput({
      writeOut: (s) => streams.stdout.write(s),
      writeErr: (s) => streams.stderr.write(s),
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
    // Nothing listens where the config's embedded store should: say whether it died, and how to start it again.
    if (isVaultFailure(err, 'unreachable')) err = await (await import('../lib/daemon/hints.js')).explainUnreachableStore(err, ctx.paths, ctx.env);
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
