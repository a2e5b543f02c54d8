import { Command } from 'commander';
import { resolve } from 'node:path';
import { UsageError } from '../../lib/errors.js';
import { formatOption } from '../options.js';
import { DEFAULT_STORE_ADDR } from '../../lib/config.js';
import type { CliContext } from '../context.js';
import { whenAborted } from '../termination.js';

/** The store's process control, loaded only when a server command runs (it pulls in the whole server). */
const storeProcess = () => import('../../lib/localvault/process.js');

/** `--tls-cert/--tls-key/--tls-client-ca` as the store's listener files (both cert and key, or neither). */
function tlsFiles(opts: { tlsCert?: string; tlsKey?: string; tlsClientCa?: string }) {
  if (!opts.tlsCert && !opts.tlsKey) {
    if (opts.tlsClientCa) throw new UsageError('--tls-client-ca needs --tls-cert and --tls-key');
    return undefined;
  }
  if (!opts.tlsCert || !opts.tlsKey) throw new UsageError('--tls-cert and --tls-key go together');
  return { certFile: resolve(opts.tlsCert), keyFile: resolve(opts.tlsKey), ...(opts.tlsClientCa ? { clientCaFile: resolve(opts.tlsClientCa) } : {}) };
}

type TlsOpts = { tlsCert?: string; tlsKey?: string; tlsClientCa?: string };

function withTlsOptions(cmd: Command): Command {
  return cmd
    .option('--tls-cert <file>', "serve HTTPS with this PEM certificate (Vault's tls_cert_file)")
    .option('--tls-key <file>', "the certificate's PEM private key (Vault's tls_key_file)")
    .option('--tls-client-ca <file>', "require client certificates signed by this PEM CA (Vault's tls_client_ca_file with tls_require_and_verify_client_cert)");
}

const addrHelp = `listen address (default ${DEFAULT_STORE_ADDR}; 127.0.0.1 only unless told otherwise; port 0 picks a free one)`;

/** `server start|stop|status|compact|env|serve`: the embedded Vault-compatible store. */
export function serverCommand(ctx: CliContext): Command {
  const server = new Command('server').description('run the embedded Vault-compatible store (where there is no Vault)');
  withTlsOptions(server.command('start').description('start the store in the background and print its address').option('--addr <url>', addrHelp))
    .action(async (opts: { addr?: string } & TlsOpts) => {
      const tls = tlsFiles(opts);
      const { startStoreInBackground } = await storeProcess();
      const started = await ctx.out.step('starting the embedded store', () => startStoreInBackground(ctx.paths, { addr: opts.addr, env: ctx.env, tls }), (s) =>
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
    .command('compact')
    .description('compacting copy of the store database: removes the pages deleted or destroyed values leave behind (the store keeps serving)')
    .addOption(formatOption())
    .action(async (opts: { format: string }) => {
      const { compactStore } = await storeProcess();
      const r = await ctx.out.step('compacting the store database', () => compactStore(ctx.paths), (c) => `compacted the store database in ${c.ms} ms`);
      if (opts.format === 'json') ctx.out.json(r);
      else ctx.out.data(`${r.records} records; ${(r.bytesBefore / 1048576).toFixed(1)} MiB -> ${(r.bytesAfter / 1048576).toFixed(1)} MiB${r.online ? ' (the running store compacted itself)' : ''}\n`);
    });
  server
    .command('env')
    .description('print `export VAULT_ADDR=... VAULT_TOKEN=...` for the store: eval "$(docker secretfs server env)"')
    .action(async () => {
      const { renderStoreEnv } = await storeProcess();
      ctx.out.data(await renderStoreEnv(ctx.paths));
    });
  withTlsOptions(server.command('serve').description('run the store in the foreground (SIGTERM or Ctrl-C stops it)').option('--addr <url>', addrHelp))
    .action(async (opts: { addr?: string } & TlsOpts) => {
      const tls = tlsFiles(opts);
      const { serveStore } = await storeProcess();
      const stop = ctx.termination.handle();
      const served = await serveStore(ctx.paths, { addr: opts.addr, tls });
      ctx.out.info(`embedded store listening on ${served.address} (pid ${served.pid})`);
      const reason = await whenAborted(stop);
      await served.stop();
      ctx.out.info(`embedded store stopped (${reason})`);
    });
  return server;
}
