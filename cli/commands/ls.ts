import { Command } from 'commander';
import { listSecrets, resolveKvMount } from '../../lib/vault/kv.js';
import { normalizeSecretPath } from '../../lib/vault/kv-path.js';
import { formatOption } from '../format-option.js';
import type { CliContext } from '../context.js';
import { openVault } from '../vault-session.js';

/** `ls PATH`: the secrets and folders below a path (folders end in `/`). */
export function lsCommand(ctx: CliContext): Command {
  return new Command('ls')
    .description('list the secrets and folders below a path')
    .argument('<path>', 'Vault path, e.g. secret/ or secret/team')
    .addOption(formatOption())
    .action(async (rawPath: string, opts: { format: 'text' | 'json' }) => {
      const path = normalizeSecretPath(rawPath);
      const { vault } = await openVault(ctx);
      const mount = await resolveKvMount(vault, path);
      const keys = await listSecrets(vault, mount, path);
      if (opts.format === 'json') ctx.out.json({ path, keys });
      else if (keys.length) ctx.out.data(keys.join('\n') + '\n');
      else ctx.out.info(`nothing below ${path}`);
    });
}
