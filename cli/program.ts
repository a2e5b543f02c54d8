import { Command } from 'commander';
import { readPackageVersion } from '../lib/version.js';
import type { CliContext } from './context.js';
import { demoCommand } from './commands/demo.js';
import { doctorCommand } from './commands/doctor.js';
import { driverCommand } from './commands/driver.js';
import { getCommand } from './commands/get.js';
import { historyCommand } from './commands/history.js';
import { initCommand } from './commands/init.js';
import { lsCommand } from './commands/ls.js';
import { mountCommand } from './commands/mount.js';
import { policyCommand } from './commands/policy.js';
import { putCommand } from './commands/put.js';
import { rmCommand } from './commands/rm.js';
import { runCommand } from './commands/run.js';
import { serverCommand } from './commands/server.js';
import { tokenCommand } from './commands/token.js';
import { versionCommand } from './commands/version.js';
import { volumeCommand } from './commands/volume.js';

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
  const commands = [
    initCommand,
    putCommand,
    getCommand,
    lsCommand,
    rmCommand,
    historyCommand,
    runCommand,
    volumeCommand,
    mountCommand,
    policyCommand,
    tokenCommand,
    serverCommand,
    driverCommand,
    doctorCommand,
    demoCommand,
    versionCommand,
  ];
  for (const command of commands.map((make) => make(ctx))) program.addCommand(command);
  return program;
}
