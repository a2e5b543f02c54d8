import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchContext } from './context.js';
import { REPO_ROOT } from './native.js';
import { median, mustCmd, round, timeCommand } from './util.js';

/** CLI start-up times, medians in ms of interleaved runs. */
export interface CliStartResult {
  node_ms: number;
  metadata_ms: number;
  /** metadata_ms / node_ms (target <= 1.5). */
  metadata_vs_node: number;
  /** `docker secretfs --help` through the docker CLI, with the plugin installed in a temp DOCKER_CONFIG. */
  docker_secretfs_help_ms: number;
  /** `docker --help` with the same DOCKER_CONFIG (docker runs every plugin's metadata command for it). */
  docker_help_ms: number;
  /** `docker --help` with no plugin installed: what our plugin adds to it is docker_help_ms minus this. */
  docker_help_without_plugin_ms: number;
  runs: number;
}

/**
 * `docker-secretfs docker-cli-plugin-metadata` through the shim install.sh writes (answered without Node)
 * against `node -e 0`, and `docker secretfs --help`, each after two warm-up runs, interleaved so
 * drift of the machine hits both sides alike.
 */
export async function measureCliStart(ctx: BenchContext): Promise<CliStartResult> {
  const runs = ctx.quick ? 10 : 30;
  const node = process.execPath;
  // A DOCKER_CONFIG of our own with the same shim install.sh writes: the user's ~/.docker is never touched.
  const dockerConfig = join(ctx.dir, 'docker-config');
  const emptyConfig = join(ctx.dir, 'docker-config-empty');
  await mkdir(join(dockerConfig, 'cli-plugins'), { recursive: true });
  await mkdir(emptyConfig, { recursive: true });
  const shim = join(dockerConfig, 'cli-plugins', 'docker-secretfs');
  await mustCmd(node, [join(REPO_ROOT, 'scripts', 'plugin-shim.mjs'), shim]);
  const env = { ...process.env, DOCKER_CONFIG: dockerConfig, NO_COLOR: '1' };
  const emptyEnv = { ...process.env, DOCKER_CONFIG: emptyConfig, NO_COLOR: '1' };
  const ms = (file: string, args: string[], cmdEnv?: NodeJS.ProcessEnv) => timeCommand(file, args, { env: cmdEnv }).then((r) => r.ms);
  const cases: Record<string, () => Promise<number>> = {
    node: () => ms(node, ['-e', '0']),
    // What Docker runs before every plugin command: the installed shim, which answers it without Node.
    metadata: () => ms(shim, ['docker-cli-plugin-metadata']),
    help: () => ms('docker', ['secretfs', '--help'], env),
    dockerHelp: () => ms('docker', ['--help'], env),
    dockerHelpBare: () => ms('docker', ['--help'], emptyEnv),
  };
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (const run of Object.values(cases)) for (let i = 0; i < 2; i++) await run();
  for (let i = 0; i < runs; i++) {
    ctx.progress.step(`cli start: run ${i + 1}/${runs}`);
    for (const [k, run] of Object.entries(cases)) times[k].push(await run());
  }
  const m = (k: string) => median(times[k]);
  return {
    node_ms: round(m('node'), 2),
    metadata_ms: round(m('metadata'), 2),
    metadata_vs_node: round(m('metadata') / m('node'), 3),
    docker_secretfs_help_ms: round(m('help'), 1),
    docker_help_ms: round(m('dockerHelp'), 1),
    docker_help_without_plugin_ms: round(m('dockerHelpBare'), 1),
    runs,
  };
}
