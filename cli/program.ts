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

/** What the root's help and a mistyped name's suggestions show of a command, without loading it. */
export interface CommandSummary {
  name: string;
  aliases: string[];
  description: string;
  summary: string;
  /** Its arguments as help writes them: `<path>`, `[key]`, `<docker-run-args...>`. */
  args: string[];
  hasOptions: boolean;
  helpGroup?: string;
}

/**
 * The summaries of every command, from the built tree. scripts/bundle.mjs writes them into the
 * bundle (SECRETFS_COMMAND_INDEX), so `docker secretfs --help` loads no command.
 */
export function summarizeCommands(program: Command): CommandSummary[] {
  return program.commands.map((c) => ({
    name: c.name(),
    aliases: c.aliases(),
    description: c.description(),
    summary: c.summary(),
    args: c.registeredArguments.map((a) => (a.required ? `<${a.name()}${a.variadic ? '...' : ''}>` : `[${a.name()}${a.variadic ? '...' : ''}]`)),
    hasOptions: c.options.length > 0,
    helpGroup: c.helpGroup() || undefined,
  }));
}

/** A command that stands in for one in the root's help: the same line, no action. */
function stubCommand(s: CommandSummary): Command {
  const c = new Command(s.name).description(s.description).summary(s.summary);
  for (const alias of s.aliases) c.alias(alias);
  for (const arg of s.args) c.argument(arg);
  if (s.hasOptions) c.option('--stub', 'stands in for the options of the real command');
  if (s.helpGroup) c.helpGroup(s.helpGroup);
  return c;
}

// Set by scripts/bundle.mjs (esbuild define); undefined when the sources run through tsx.
declare const SECRETFS_COMMAND_INDEX: CommandSummary[] | undefined;
const BUILT_INDEX: CommandSummary[] | undefined = typeof SECRETFS_COMMAND_INDEX === 'undefined' ? undefined : SECRETFS_COMMAND_INDEX;

/**
 * Whether an argv needs only the root and the commands' summaries: root options alone (`--help`,
 * `--version`, nothing), or a first word that names no command (its error suggests names).
 * `help X` needs the real tree.
 */
export function needsOnlySummaries(args: string[]): boolean {
  const first = args.find((a) => !a.startsWith('-'));
  return first === undefined || (first !== 'help' && !Object.hasOwn(COMMANDS, first));
}

/**
 * Builds the command tree: with `only`, the root and that one command (what a run of it needs);
 * with `summaries` (and no `only`), the root and a stand-in per command, for the root's help and
 * a mistyped name; else every command (`help X`). Each command is a factory over the context, so
 * tests can build a program with their own streams and environment.
 */
export async function createProgram(ctx: CliContext, only?: string, summaries: CommandSummary[] | undefined = undefined): Promise<Command> {
  const program = new Command('docker secretfs')
    .description('HashiCorp Vault secrets as read-only files in containers.\n\nStart with `docker secretfs init`, then `docker secretfs put PATH KEY` and `docker secretfs run -- IMAGE`.')
    .version(readPackageVersion(), '-v, --version', 'show the version')
    .helpOption('-h, --help', 'show help')
    // Our -v/--version only before a command: `get --version 3` and `secret create --version 3` are theirs.
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: false });
  if (only === undefined && summaries) {
    for (const s of summaries) program.addCommand(stubCommand(s));
    return program;
  }
  const names = only !== undefined && Object.hasOwn(COMMANDS, only) ? [only] : Object.keys(COMMANDS);
  const factories = await Promise.all(names.map((name) => COMMANDS[name]()));
  for (const command of factories.map((make) => make(ctx))) program.addCommand(command);
  return program;
}

/** The program for one argv: only the command it names, or the summaries when that is all it needs (in the bundle). */
export function createProgramFor(ctx: CliContext, args: string[]): Promise<Command> {
  return createProgram(ctx, commandNamed(args), needsOnlySummaries(args) ? BUILT_INDEX : undefined);
}
