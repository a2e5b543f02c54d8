/**
 * The variables the docker CLI sets for a plugin it runs (docker/cli cli-plugins): a daemon that a
 * plugin command starts (the driver, the store) must outlive that docker CLI, and the closing of
 * its DOCKER_CLI_PLUGIN_SOCKET means "stop" to every secretfs command.
 */
const DOCKER_CLI_PLUGIN_VARIABLES = ['DOCKER_CLI_PLUGIN_SOCKET', 'DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND'];

/** A background daemon's environment: the caller's, less the docker CLI's plugin variables and `drop`. */
export function daemonEnv(env: NodeJS.ProcessEnv, drop: readonly string[] = []): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (DOCKER_CLI_PLUGIN_VARIABLES.includes(k) || drop.includes(k)) continue;
    out[k] = v;
  }
  return out;
}
