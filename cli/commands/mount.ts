import { resolve } from 'node:path';
import { Command } from 'commander';
import { fsOptOption } from '../options.js';
import { parseFsOptions } from '../../lib/fs/options.js';
import { createLogger } from '../../lib/log.js';
import { parseKeyValues } from '../../lib/key-values.js';
import type { CliContext } from '../context.js';
import { openVault } from '../vault-session.js';

/** `mount PATH DIR`: serves a Vault path as a read-only directory on the host until Ctrl-C or SIGTERM. */
export function mountCommand(ctx: CliContext): Command {
  return new Command('mount')
    .description('mount a Vault path as a read-only directory on the host, in the foreground (Ctrl-C unmounts)')
    .argument('<path>', 'Vault path, e.g. secret/app-1')
    .argument('<dir>', 'an empty directory (created if missing)')
    .addOption(fsOptOption())
    .action(async (path: string, dir: string, opts: { opt: string[] }) => {
      const options = parseFsOptions(parseKeyValues(opts.opt));
      const { vault } = await openVault(ctx);
      const mountpoint = resolve(dir);
      const { runForegroundMount } = await import('../../lib/fs/foreground.js');
      const ended = await runForegroundMount({
        vault,
        path,
        mountpoint,
        options,
        log: createLogger({ level: ctx.env.SECRETFS_DEBUG ? 'debug' : 'warn', write: (line) => ctx.stderr.write(line) }),
        audit: { file: ctx.paths.fsAuditLog },
        // From here a stop request unmounts instead of ending the process.
        stop: ctx.termination.handle(),
        onReady: () => ctx.out.success(`mounted ${path} at ${mountpoint} (Ctrl-C or SIGTERM unmounts)`),
      });
      ctx.out.info(ended === 'outside' ? `${mountpoint} was unmounted from outside; exiting` : `unmounted ${mountpoint} (${ended})`);
    });
}
