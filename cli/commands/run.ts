import { Command } from 'commander';
import { collect, fsOptOption } from '../options.js';
import { runWithSecrets } from '../../lib/app/run-container.js';
import { parseVolumeOpts } from '../../lib/app/secret-volume.js';
import type { CliContext } from '../context.js';
import { exitCodeFor } from '../termination.js';
import { openVault } from '../vault-session.js';

interface RunOptions {
  path: string[];
  target: string;
  opt: string[];
}

/** `run [--path P...] [--target DIR] -- [docker run args] IMAGE [CMD...]`: a container with its secrets as files. */
export function runCommand(ctx: CliContext): Command {
  return new Command('run')
    .description('run a container with the secrets of a path as files (default: the config\'s default path at /run/secrets)')
    .argument('<docker-run-args...>', '[docker run options] IMAGE [COMMAND...], after --')
    .option('--path <path>', 'a Vault path to mount (repeatable; several go under the target by their last segment)', collect, [])
    .option('--target <dir>', 'where the secrets appear in the container', '/run/secrets')
    .addOption(fsOptOption())
    .addHelpText('after', '\nThe container\'s exit status is ours; 125 when secretfs or Docker failed first.\n\nExamples:\n  docker secretfs run -- alpine ash\n  docker secretfs run --path secret/app-1 --path secret/db -- -it alpine sh\n  docker secretfs run -o uid=1000 -o mode=0400 -- myimage')
    .action(async (dockerArgs: string[], opts: RunOptions) => {
      // Until the container runs, any failure is secretfs's or Docker's: 125, as `docker run` uses.
      ctx.exitCode = 125;
      const fsOptions = parseVolumeOpts(opts.opt);
      const { config, vault } = await openVault(ctx);
      // From here a stop request stops the container and cleans up; a second one, later, leaves at once and says what stays.
      let volumes: readonly string[] = [];
      ctx.termination.onForcedExit(() => {
        if (volumes.length) ctx.out.warn(`left behind: volume ${volumes.join(', ')} (remove with: docker secretfs volume rm NAME)`);
      });
      const result = await runWithSecrets(
        {
          vault,
          docker: ctx.docker(),
          driverName: ctx.paths.driverName,
          dockerCli: ctx.dockerCli,
          dockerGlobalFlags: ctx.dockerGlobalFlags,
          env: ctx.env,
          step: (title, work) => ctx.out.step(title, work),
          warn: (m) => ctx.out.warn(m),
          stop: ctx.termination.handle(),
          onVolumes: (names) => (volumes = [...names]),
        },
        { paths: opts.path.length ? opts.path : [config.defaultPath], target: opts.target, fsOptions, dockerArgs },
      );
      ctx.exitCode = result.signalled ? exitCodeFor(result.signalled) : result.status;
    });
}
