import { dockerHostFrom } from '../lib/docker/client.js';
import { captureDockerCli } from '../lib/docker/run-cli.js';
import type { PluginDeps } from '../lib/plugin/managed-plugin.js';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../lib/version.js';
import type { CliContext } from './context.js';

/** What lib/plugin needs from a command: this install, the docker CLI with our global flags, progress. */
export function pluginDeps(ctx: CliContext): PluginDeps {
  const host = dockerHostFrom(ctx.dockerGlobalFlags, ctx.env) ?? 'unix:///var/run/docker.sock';
  return {
    dockerSocket: host.startsWith('unix://') ? host.slice('unix://'.length) : undefined,
    paths: ctx.paths,
    packageRoot: fileURLToPath(packageRoot()),
    docker: (args, options) => captureDockerCli(ctx.dockerCli, [...ctx.dockerGlobalFlags, ...args], ctx.env, options),
    step: (title, work, done) => ctx.out.step(title, work, done),
  };
}
