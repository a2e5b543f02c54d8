/** The name Docker knows us by: `docker secretfs`. */
export const PLUGIN_NAME = 'secretfs';

/** Docker's global flags that take a value (cli/flags/options.go). */
const GLOBAL_FLAGS_WITH_VALUE = new Set(['--config', '-c', '--context', '-H', '--host', '-l', '--log-level', '--tlscacert', '--tlscert', '--tlskey']);
/** Docker's boolean global flags. */
const GLOBAL_BOOLEAN_FLAGS = new Set(['-D', '--debug', '--tls', '--tlsverify']);

/** Our arguments and the docker global flags that came before `secretfs`. */
export interface PluginArgs {
  args: string[];
  /** Passed again to the docker CLI when we run it (e.g. `docker -H x secretfs run` runs `docker -H x run`). */
  dockerGlobalFlags: string[];
}

/**
 * Finds our arguments in argv as Docker passes them (protocols.md §1.3): docker's global flags,
 * then `secretfs`, then ours. `docker help secretfs X` arrives as `help secretfs X` and means `X --help`.
 * Run standalone (`docker-secretfs put ...`), argv is ours as is.
 */
export function parsePluginArgs(argv: string[]): PluginArgs {
  if (argv[0] === 'help' && argv[1] === PLUGIN_NAME) return { args: [...argv.slice(2), '--help'], dockerGlobalFlags: [] };
  const globals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === PLUGIN_NAME) return { args: argv.slice(i + 1), dockerGlobalFlags: globals };
    const flag = arg.split('=')[0];
    if (GLOBAL_FLAGS_WITH_VALUE.has(flag)) {
      globals.push(arg);
      if (!arg.includes('=') && i + 1 < argv.length) globals.push(argv[++i]);
    } else if (GLOBAL_BOOLEAN_FLAGS.has(flag)) {
      globals.push(arg);
    } else {
      break;
    }
  }
  return { args: argv, dockerGlobalFlags: [] };
}
