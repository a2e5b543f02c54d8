import { Command } from 'commander';
import { readPackageVersion } from '../lib/version.js';
import type { CliContext } from './context.js';
import { versionCommand } from './commands/version.js';

/**
 * Builds the command tree. The only place commands are registered; each is a factory over the
 * context, so tests can build a program with their own streams and environment.
 */
export function createProgram(ctx: CliContext): Command {
  const program = new Command('docker secretfs')
    .description('HashiCorp Vault secrets as read-only files in containers.\n\nStart with `docker secretfs init`, then `docker secretfs put PATH KEY` and `docker secretfs run -- IMAGE`.')
    .version(readPackageVersion(), '-v, --version', 'show the version')
    .helpOption('-h, --help', 'show help')
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: false });
  for (const command of [versionCommand(ctx)]) program.addCommand(command);
  return program;
}
