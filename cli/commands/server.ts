import { Command } from 'commander';
import { DEFAULT_STORE_ADDR } from '../../lib/config.js';
import { formatOption } from '../format-option.js';
import type { CliContext } from '../context.js';

/** The store's process control, loaded only when a server command runs (it pulls in the whole server). */
const storeProcess = () => import('../../lib/localvault/process.js');

const addrHelp = `listen address (default ${DEFAULT_STORE_ADDR}; 127.0.0.1 only unless told otherwise; port 0 picks a free one)`;

/** `server start|stop|status|env|serve`: the embedded Vault-compatible store. */
export function serverCommand(ctx: CliContext): Command {
  const server = new Command('server').description('run the embedded Vault-compatible store (where there is no Vault)');
  server
    .command('start')
    .description('start the store in the background and print its address')
    .option('--addr <url>', addrHelp)
    .action(async (opts: { addr?: string }) => {
      const { startStoreInBackground } = await storeProcess();
      const started = await ctx.out.step('starting the embedded store', () => startStoreInBackground(ctx.paths, { addr: opts.addr, env: ctx.env }), (s) =>
        s.alreadyRunning ? `the embedded store is already running (pid ${s.pid})` : `started the embedded store (pid ${s.pid})`,
      );
      ctx.out.data(started.address + '\n');
    });
  server
    .command('stop')
    .description('stop the background store')
    .action(async () => {
      const { stopStore } = await storeProcess();
      const result = await stopStore(ctx.paths);
      ctx.out.info(result.stopped ? `stopped the embedded store (pid ${result.pid})` : 'the embedded store is not running');
    });
  server
    .command('status')
    .description('address, pid, health and where the root token file is')
    .addOption(formatOption())
    .action(async (opts: { format: string }) => {
      const { storeStatus } = await storeProcess();
      const status = await storeStatus(ctx.paths);
      if (opts.format === 'json') ctx.out.json(status);
      else if (!status.running) ctx.out.data(`not running (root token file: ${status.rootTokenFile})\n`);
      else {
        const health = status.health ? `${status.health.sealed ? 'sealed' : 'unsealed'}, version ${status.health.version}` : 'not answering';
        ctx.out.data(`running: pid ${status.pid}, ${status.address}, ${health}\nroot token file: ${status.rootTokenFile}\n`);
      }
      if (!status.running || !status.health) ctx.exitCode = 1;
    });
  server
    .command('env')
    .description('print `export VAULT_ADDR=... VAULT_TOKEN=...` for the store: eval "$(docker secretfs server env)"')
    .action(async () => {
      const { renderStoreEnv } = await storeProcess();
      ctx.out.data(await renderStoreEnv(ctx.paths));
    });
  server
    .command('serve')
    .description('run the store in the foreground (SIGTERM or Ctrl-C stops it)')
    .option('--addr <url>', addrHelp)
    .action(async (opts: { addr?: string }) => {
      const { serveStore } = await storeProcess();
      const served = await serveStore(ctx.paths, { addr: opts.addr });
      ctx.out.info(`embedded store listening on ${served.address} (pid ${served.pid})`);
      await served.stopped;
    });
  return server;
}
