import { Command } from 'commander';
import { formatOption } from '../options.js';
import { renderTable } from '../output.js';
import type { CliContext } from '../context.js';
import { whenAborted } from '../termination.js';

/** The driver's process control, loaded only when a driver command runs. */
const driverProcess = () => import('../../lib/driver/process.js');

/** `driver start|stop|status|serve`: the Docker volume driver. */
export function driverCommand(ctx: CliContext): Command {
  const driver = new Command('driver').description('run the Docker volume driver (socket /run/docker/plugins/<name>.sock)');
  driver
    .command('start')
    .description('start the driver in the background')
    .action(async () => {
      await (await import('../../lib/plugin/managed-plugin.js')).refuseHostDriverWhenManaged(ctx.paths);
      const { startDriverInBackground } = await driverProcess();
      const started = await ctx.out.step('starting the volume driver', () => startDriverInBackground(ctx.paths, ctx.env), (s) =>
        s.alreadyRunning ? `the volume driver is already running (pid ${s.pid})` : `started the volume driver (pid ${s.pid}, log ${s.logFile})`,
      );
      ctx.out.data(started.socket + '\n');
    });
  driver
    .command('stop')
    .description('stop the background driver (it unmounts its volumes)')
    .action(async () => {
      const { stopDriver } = await driverProcess();
      const result = await stopDriver(ctx.paths);
      ctx.out.info(
        result.stopped
          ? `stopped the volume driver (pid ${result.pid})${result.killed ? ' with SIGKILL' : ''}`
          : result.died
            ? `the volume driver was not running: it had died (pid ${result.died} is gone); removed its pid file and socket`
            : 'the volume driver is not running',
      );
      // dockerd keeps asking a legacy driver it has activated, dead or not, about every volume name it does not know.
      if (result.stopped || result.died) {
        ctx.out.warn(
          'until it runs again, dockerd waits ~30 s for it on every lookup of a volume name it does not know (docker volume inspect, docker run -v new:..., compose up of a new project); start it again with `docker secretfs driver start`, or restart dockerd to make it forget the driver; the managed plugin (init --managed) avoids this',
        );
      }
    });
  driver
    .command('status')
    .description('pid, socket and the volumes with their paths, mount state and reference counts')
    .addOption(formatOption())
    .action(async (opts: { format: string }) => {
      const plugin = await import('../../lib/plugin/managed-plugin.js');
      const managed = await plugin.recordedManagedPlugin(ctx.paths);
      const status = managed ? await plugin.managedDriverStatus(ctx.paths, ctx.docker(), managed) : await (await driverProcess()).driverStatus(ctx.paths);
      if (opts.format === 'json') ctx.out.json(status);
      else {
        const m = status.managedPlugin;
        if (m) {
          ctx.out.data(`managed plugin ${m.name}: ${m.enabled ? 'enabled (dockerd runs the driver)' : m.installed ? 'DISABLED' : 'NOT INSTALLED'}\n`);
          if (!m.enabled) ctx.out.info(m.installed ? `hint: docker plugin enable ${m.name}` : 'hint: docker secretfs init --managed (builds and enables it)');
        } else ctx.out.data(`${status.running ? `running: pid ${status.pid}` : 'not running'}, driver ${status.name}, socket ${status.socket}\n`);
        if (status.auth) {
          const a = status.auth;
          ctx.out.data(`auth: AppRole, ${a.state === 'ok' ? `logged in (${a.logins} login${a.logins === 1 ? '' : 's'}${a.tokenExpires ? `, token until ${a.tokenExpires}` : ''})` : `NOT LOGGED IN: ${a.message}`}\n`);
        }
        if (status.volumes.length && m) {
          ctx.out.data(renderTable(['VOLUME', 'PATH', 'TOKEN'], status.volumes.map((v) => [v.name, v.path, v.tokenSource])));
        } else if (status.volumes.length) {
          ctx.out.data(renderTable(['VOLUME', 'PATH', 'MOUNTED', 'REFS', 'TOKEN'], status.volumes.map((v) => [v.name, v.path, v.mounted ? 'yes' : 'no', v.refCount, v.tokenSource])));
        }
      }
      if (!status.running || (status.auth && status.auth.state !== 'ok')) ctx.exitCode = 1;
    });
  driver
    .command('serve')
    .description('run the driver in the foreground (SIGTERM or Ctrl-C stops it and unmounts)')
    .action(async () => {
      const { serveDriver } = await import('../../lib/driver/serve.js');
      const stop = ctx.termination.handle();
      const served = await serveDriver(ctx.paths, ctx.env);
      ctx.out.info(`volume driver listening on ${served.socket} (pid ${served.pid})`);
      const reason = await whenAborted(stop);
      await served.stop(reason);
      ctx.out.info(`volume driver stopped (${reason})`);
    });
  return driver;
}
