import type { Readable } from 'node:stream';
import type { DockerClient } from '../lib/docker/client.js';
import type { Paths } from '../lib/paths.js';
import type { Output } from './output.js';
import type { Termination } from './termination.js';

/** Everything a command may touch. Tests build their own; nothing reads process globals deeper down. */
export interface CliContext {
  env: NodeJS.ProcessEnv;
  paths: Paths;
  out: Output;
  stdin: Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  /** Where prompts draw and a foreground mount's log lines go (the process's stderr). */
  stderr: NodeJS.WritableStream;
  /** Prompts are allowed: stdin and stderr are terminals. */
  isInteractive: boolean;
  /** Docker's global flags that came before `secretfs`, to pass on when we run docker. */
  dockerGlobalFlags: string[];
  /** The docker CLI that invoked us (DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND), else `docker`. */
  dockerCli: string;
  /** The Docker engine (Docker's -H/--host, else DOCKER_HOST, else the local socket), built on first use. */
  docker(): DockerClient;
  /** SIGINT, SIGTERM and the docker CLI's plugin socket: commands that stop cleanly take them over with `handle()`. */
  termination: Termination;
  /** Set by commands whose exit status is not 0-on-success (run passes the container's through). */
  exitCode?: number;
}
