import { Command } from 'commander';
import { readPackageVersion } from '../lib/version.js';
import type { CliContext } from './context.js';

/** A command's factory over the context. */
type CommandFactory = (ctx: CliContext) => Command;

/**
 * Every command, in the order help lists them, each loaded only when it is needed: a run of one
 * command imports that command's modules and no other's (bench: commands). The only place
 * commands are registered.
 */
const COMMANDS: Record<string, () => Promise<CommandFactory>> = {
  init: async () => (await import('./commands/init.js')).initCommand,
  put: async () => (await import('./commands/put.js')).putCommand,
  get: async () => (await import('./commands/get.js')).getCommand,
  ls: async () => (await import('./commands/ls.js')).lsCommand,
  rm: async () => (await import('./commands/rm.js')).rmCommand,
  history: async () => (await import('./commands/history.js')).historyCommand,
  run: async () => (await import('./commands/run.js')).runCommand,
  volume: async () => (await import('./commands/volume.js')).volumeCommand,
  secret: async () => (await import('./commands/secret.js')).secretCommand,
  allow: async () => (await import('./commands/allow.js')).allowCommand,
  mount: async () => (await import('./commands/mount.js')).mountCommand,
  policy: async () => (await import('./commands/policy.js')).policyCommand,
  token: async () => (await import('./commands/token.js')).tokenCommand,
  server: async () => (await import('./commands/server.js')).serverCommand,
  driver: async () => (await import('./commands/driver.js')).driverCommand,
  plugin: async () => (await import('./commands/plugin.js')).pluginCommand,
  doctor: async () => (await import('./commands/doctor.js')).doctorCommand,
  demo: async () => (await import('./commands/demo.js')).demoCommand,
  version: async () => (await import('./commands/version.js')).versionCommand,
};

/** The command an argv names (its first word that is not an option), when it is one of ours. */
export function commandNamed(args: string[]): string | undefined {
  const first = args.find((a) => !a.startsWith('-'));
  return first !== undefined && Object.hasOwn(COMMANDS, first) ? first : undefined;
}

/**
 * Builds the command tree: with `only`, the root and that one command (what a run of it needs);
 * without, every command (help, and suggestions for a mistyped name). Each command is a factory
 * over the context, so tests can build a program with their own streams and environment.
 */
export async function createProgram(ctx: CliContext, only?: string): Promise<Command> {
  const program = new Command('docker secretfs')
    .description('HashiCorp Vault secrets as read-only files in containers.\n\nStart with `docker secretfs init`, then `docker secretfs put PATH KEY` and `docker secretfs run -- IMAGE`.')
    .version(readPackageVersion(), '-v, --version', 'show the version')
    .helpOption('-h, --help', 'show help')
    // Our -v/--version only before a command: `get --version 3` and `secret create --version 3` are theirs.
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: false });
  const names = only !== undefined && Object.hasOwn(COMMANDS, only) ? [only] : Object.keys(COMMANDS);
  const factories = await Promise.all(names.map((name) => COMMANDS[name]()));
  for (const command of factories.map((make) => make(ctx))) program.addCommand(command);
  return program;
}
