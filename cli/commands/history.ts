import { Command } from 'commander';
import { formatOption } from '../options.js';
import { listVersions } from '../../lib/vault/kv.js';
import { renderTable } from '../output.js';
import type { CliContext } from '../context.js';
import { openSecretPath } from '../vault-session.js';

/** `history PATH`: the versions of a KV v2 secret, when they were made, deleted or destroyed. */
export function historyCommand(ctx: CliContext): Command {
  return new Command('history')
    .description('show the versions of a secret (KV v2)')
    .argument('<path>', 'Vault path')
    .addOption(formatOption())
    .action(async (rawPath: string, opts: { format: 'text' | 'json' }) => {
      const { path, vault, mount } = await openSecretPath(ctx, rawPath);
      const history = await listVersions(vault, mount, path);
      if (opts.format === 'json') {
        ctx.out.json({ path, ...history });
        return;
      }
      const rows = history.versions.map((v) => [
        v.version + (v.version === history.current ? ' (current)' : ''),
        v.createdTime,
        v.destroyed ? 'destroyed' : v.deletionTime ? `deleted ${v.deletionTime}` : 'live',
      ]);
      ctx.out.data(renderTable(['VERSION', 'CREATED', 'STATE'], rows));
    });
}
