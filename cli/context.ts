import type { Readable } from 'node:stream';
import type { Paths } from '../lib/paths.js';
import type { Output } from './output.js';

/** Everything a command may touch. Tests build their own; nothing reads process globals deeper down. */
export interface CliContext {
  env: NodeJS.ProcessEnv;
  paths: Paths;
  out: Output;
  stdin: Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  /** Prompts are allowed: stdin and stderr are terminals. */
  isInteractive: boolean;
  /** Docker's global flags that came before `secretfs`, to pass on when we run docker. */
  dockerGlobalFlags: string[];
  /** The docker CLI that invoked us (DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND), else `docker`. */
  dockerCli: string;
  /** Set by commands whose exit status is not 0-on-success (run passes the container's through). */
  exitCode?: number;
}
