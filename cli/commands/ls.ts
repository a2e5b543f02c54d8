import { Command } from 'commander';
import { formatOption } from '../options.js';
import { listSecrets } from '../../lib/vault/kv.js';
import type { CliContext } from '../context.js';
import { openSecretPath } from '../vault-session.js';

/** `ls PATH`: the secrets and folders below a path (folders end in `/`). */
export function lsCommand(ctx: CliContext): Command {
  return new Command('ls')
    .description('list the secrets and folders below a path')
    .argument('<path>', 'Vault path, e.g. secret/ or secret/team')
    .addOption(formatOption())
    .action(async (rawPath: string, opts: { format: 'text' | 'json' }) => {
      const { path, vault, mount } = await openSecretPath(ctx, rawPath);
      const keys = await listSecrets(vault, mount, path);
      if (opts.format === 'json') ctx.out.json({ path, keys });
      else if (keys.length) ctx.out.data(keys.join('\n') + '\n');
      else ctx.out.info(`nothing below ${path}`);
    });
}
