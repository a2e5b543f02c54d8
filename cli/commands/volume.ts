import { Command } from 'commander';
import { formatOption, volumeOptOption } from '../options.js';
import { NotFoundError } from '../../lib/errors.js';
import { createSecretVolume, explainDriverError, LABEL_PATH, listSecretVolumes, parseVolumeOpts, removeSecretVolume } from '../../lib/app/secret-volume.js';
import { renderTable } from '../output.js';
import type { CliContext } from '../context.js';
import { openVault } from '../vault-session.js';
import { assertDriverNotDead } from '../../lib/daemon/hints.js';
import { requireConfig } from '../../lib/config.js';
import { readPolicyScope } from '../../lib/access/policy-scope.js';

/** `volume create|ls|inspect|rm`: Docker volumes that read one Vault path with their own token. */
export function volumeCommand(ctx: CliContext): Command {
  const volume = new Command('volume').description('create and manage secrets volumes');
  volume
    .command('create')
    .description('create a volume that reads PATH and the sub-paths below it, with its own policy and token (handed to Docker only wrapped)')
    .argument('<name>', 'volume name')
    .requiredOption('--path <path>', 'the Vault path the volume serves')
    .addOption(volumeOptOption())
    .addOption(formatOption())
    .action(async (name: string, opts: { path: string; opt: string[]; format: string }) => {
      const fsOptions = parseVolumeOpts(opts.opt);
      const { config, vault } = await openVault(ctx);
      await assertDriverNotDead(ctx.paths, config.volumeDriver);
      const deps = { vault, docker: ctx.docker(), driverName: config.volumeDriver, policyScope: await readPolicyScope(ctx.paths) };
      const info = await createSecretVolume(deps, { name, path: opts.path, fsOptions }).catch((err) => {
        throw explainDriverError(err, config.volumeDriver);
      });
      if (opts.format === 'json') ctx.out.json({ name: info.name, driver: info.driver, path: info.labels[LABEL_PATH] });
      else {
        ctx.out.data(info.name + '\n');
        ctx.out.success(`volume ${info.name} serves ${opts.path}: docker run -v ${info.name}:/run/secrets:ro IMAGE`);
      }
    });
  volume
    .command('ls')
    .description('list the secrets volumes')
    .addOption(formatOption())
    .action(async (opts: { format: string }) => {
      // Not set up yet is said as such, rather than as an empty list.
      const config = await requireConfig(ctx.paths, ctx.env);
      const volumes = await listSecretVolumes({ docker: ctx.docker(), driverName: config.volumeDriver });
      const rows = volumes.map((v) => ({ name: v.name, path: v.labels[LABEL_PATH] ?? v.options.path ?? v.name, mounted: Boolean(v.mountpoint), mountpoint: v.mountpoint || null }));
      if (opts.format === 'json') ctx.out.json(rows);
      else ctx.out.data(renderTable(['NAME', 'PATH', 'MOUNTED'], rows.map((r) => [r.name, r.path, r.mounted ? 'yes' : 'no'])));
    });
  volume
    .command('inspect')
    .description('show one secrets volume (never a token)')
    .argument('<name>', 'volume name')
    .action(async (name: string) => {
      const info = await ctx.docker().inspectVolume(name);
      if (!info) throw new NotFoundError(`no volume named ${name}`);
      // The wrapping token Docker keeps was spent at Create, but it is still not shown.
      const { token: _spent, ...options } = info.options;
      ctx.out.json({ ...info, options });
    });
  volume
    .command('rm')
    .description('remove a volume, revoke its token and delete its policy')
    .argument('<names...>', 'volume names')
    .action(async (names: string[]) => {
      const { config, vault } = await openVault(ctx);
      await assertDriverNotDead(ctx.paths, config.volumeDriver);
      for (const name of names) {
        await removeSecretVolume({ vault, docker: ctx.docker(), driverName: config.volumeDriver }, name);
        ctx.out.success(`removed ${name}`);
      }
    });
  return volume;
}
