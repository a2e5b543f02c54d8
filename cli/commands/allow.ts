import { Command } from 'commander';
import { UsageError } from '../../lib/errors.js';
import { normalizeSecretPath } from '../../lib/vault/kv-path.js';
import { formatOption } from '../options.js';
import { renderTable } from '../output.js';
import type { CliContext } from '../context.js';
import { openVault } from '../vault-session.js';
import { clearRunLane } from '../../lib/app/run-lane.js';

/** The trust boundary, loaded when an allow command runs. */
const boundary = () => import('../../lib/access/boundary.js');

/**
 * `allow PATH...`, `allow ls`, `allow rm PATH...`: the paths volumes created through the driver
 * (`docker volume create -d secretfs -o path=P`) may serve, written with the administrator's token.
 */
export function allowCommand(ctx: CliContext): Command {
  const allow = new Command('allow')
    .description('let volumes created with `docker volume create -d secretfs` serve PATH and below (run as the Vault administrator)')
    .argument('[paths...]', 'Vault paths, e.g. secret/app-1')
    .action(async (rawPaths: string[]) => {
      if (rawPaths.length === 0) throw new UsageError('name at least one path: docker secretfs allow secret/app-1 (or `allow ls`, `allow rm PATH`)');
      // Every path is checked before Vault is asked anything.
      const paths = rawPaths.map((p) => normalizeSecretPath(p));
      const { allowPath } = await boundary();
      const { vault } = await openVault(ctx);
      const results = [];
      for (const path of paths) results.push(await allowPath(vault, path));
      for (const r of results) ctx.out.success(`${r.changed ? 'allowed' : 'already allowed'} ${r.path} (policy ${r.policy})`);
    });
  allow
    .command('ls')
    .description('list the allowed paths')
    .addOption(formatOption())
    .action(async (opts: { format: string }) => {
      const { listAllowedPaths } = await boundary();
      const { vault } = await openVault(ctx);
      const allowed = await listAllowedPaths(vault);
      if (opts.format === 'json') ctx.out.json(allowed);
      else ctx.out.data(renderTable(['PATH', 'POLICY'], allowed.map((a) => [a.path, a.policy])));
    });
  allow
    .command('rm')
    .description('take allowed paths back (volumes minted from them lose access at once)')
    .argument('<paths...>', 'allowed paths')
    .action(async (rawPaths: string[]) => {
      const paths = rawPaths.map((p) => normalizeSecretPath(p));
      const { disallowPath } = await boundary();
      const { vault } = await openVault(ctx);
      // Runs started from the fast lane's record ask again (scripts/plugin-shim.sh).
      await clearRunLane(ctx.paths);
      for (const path of paths) {
        const r = await disallowPath(vault, path);
        if (r.removed) ctx.out.success(`${r.path} is no longer allowed`);
        else ctx.out.warn(`${r.path} was not allowed`);
      }
    });
  return allow;
}
