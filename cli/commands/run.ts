import { Command } from 'commander';
import { UsageError } from '../../lib/errors.js';
import { collect, volumeOptOption } from '../options.js';
import { runWithSecrets } from '../../lib/app/run-container.js';
import { parseVolumeOpts } from '../../lib/app/secret-volume.js';
import { DEFAULT_RUN_TARGET } from '../../lib/app/run-plan.js';
import type { CliContext } from '../context.js';
import { exitCodeFor } from '../termination.js';
import { openVault } from '../vault-session.js';
import { readPolicyScope } from '../../lib/access/policy-scope.js';
import { assertDriverNotDead } from '../../lib/daemon/hints.js';
import { recordRunLane } from '../../lib/app/run-lane.js';

interface RunOptions {
  path: string[];
  target: string;
  opt: string[];
  onChange?: string;
  keys?: string;
  envFiles?: boolean;
  envPrefix: string;
}

/** `run [--path P...] [--target DIR] -- [docker run args] IMAGE [CMD...]`: a container with its secrets as files. */
export function runCommand(ctx: CliContext): Command {
  return new Command('run')
    .description('run a container with the secrets of a path as files (default: the config\'s default path at /run/secrets)')
    .argument('<docker-run-args...>', '[docker run options] IMAGE [COMMAND...], after --')
    .option('--path <path>', 'a Vault path to mount (repeatable; several go under the target by their last segment)', collect, [])
    .option('--target <dir>', 'where the secrets appear in the container', DEFAULT_RUN_TARGET)
    .addOption(volumeOptOption())
    .option('--on-change <signal>', 'send this signal (HUP, USR1, ...) to the container when the secret changes (watched every 30s unless -o watch=...)')
    .option('--keys <list>', 'only these keys, renamed and with their own mode: KEY[:NAME[:MODE]],... (one --path only)')
    .option('--env-files', 'set <KEY>_FILE=<target>/<key> for each file (paths, never values)')
    .option('--env-prefix <prefix>', 'prefix of the --env-files variables, e.g. APP_', '')
    .addHelpText('after', '\nThe container\'s exit status is ours; 125 when secretfs or Docker failed first.\n\nExamples:\n  docker secretfs run -- alpine ash\n  docker secretfs run --path secret/app-1 --path secret/db -- -it alpine sh\n  docker secretfs run -o uid=1000 -o mode=0400 -- myimage\n  docker secretfs run --on-change HUP -- myimage    (SIGHUP when the secret changes)\n  docker secretfs run --path secret/db --keys password:pass:0400 --env-files --env-prefix PG_ -- postgres')
    .action(async (dockerArgs: string[], opts: RunOptions) => {
      // Until the container runs, any failure is secretfs's or Docker's: 125, as `docker run` uses.
      ctx.exitCode = 125;
      const fsOptions = parseVolumeOpts([...opts.opt, ...runVolumeOpts(opts)]);
      const { config, vault } = await openVault(ctx);
      await assertDriverNotDead(ctx.paths, config.volumeDriver);
      // From here a stop request stops the container and cleans up; a second one, later, leaves at once and says what stays.
      let volumes: readonly string[] = [];
      let stopping: readonly string[] = [];
      ctx.termination.onForcedExit(() => {
        if (volumes.length) ctx.out.warn(`left behind: volume ${volumes.join(', ')} (remove with: docker secretfs volume rm NAME)`);
        if (stopping.length) ctx.out.warn(`left behind: container ${stopping.map((id) => id.slice(0, 12)).join(', ')}, still stopping (docker then removes it, and the driver its secrets volume and token)`);
      });
      const result = await runWithSecrets(
        {
          vault,
          docker: ctx.docker(),
          driverName: config.volumeDriver,
          policyScope: await readPolicyScope(ctx.paths),
          dockerCli: ctx.dockerCli,
          dockerGlobalFlags: ctx.dockerGlobalFlags,
          env: ctx.env,
          step: (title, work) => ctx.out.step(title, work),
          warn: (m) => ctx.out.warn(m),
          stop: ctx.termination.handle(),
          onVolumes: (names) => (volumes = [...names]),
          onStopping: (ids) => (stopping = [...ids]),
          runRecordsDir: ctx.paths.runRecordsDir,
          onDriverMints: (paths) =>
            recordRunLane(ctx.paths, {
              volumeDriver: config.volumeDriver,
              target: DEFAULT_RUN_TARGET,
              paths: paths.map((path, i) => ({ typed: opts.path[i], path })),
              env: ctx.env,
            }),
        },
        { paths: opts.path.length ? opts.path : [config.defaultPath], target: opts.target, fsOptions, dockerArgs, envFiles: opts.envFiles ? { prefix: opts.envPrefix } : undefined },
      );
      ctx.exitCode = result.signalled ? exitCodeFor(result.signalled) : result.status;
    });
}

/** The -o options that run's own flags stand for. */
function runVolumeOpts(opts: RunOptions): string[] {
  const out: string[] = [];
  if (opts.keys !== undefined) {
    if (opts.path.length > 1) throw new UsageError('--keys selects keys of one secret: give one --path');
    out.push(`keys=${opts.keys}`);
  }
  if (opts.onChange !== undefined) {
    const v = opts.onChange.trim();
    out.push(`on_change=${v === 'restart' || v === 'none' ? v : `signal:${v}`}`);
    if (!opts.opt.some((o) => o.startsWith('watch='))) out.push('watch=30s');
  }
  if (opts.envPrefix !== '' && !opts.envFiles) throw new UsageError('--env-prefix is the prefix of the --env-files variables: add --env-files');
  return out;
}
