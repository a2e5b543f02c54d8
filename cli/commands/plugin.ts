import { Command } from 'commander';
import { formatOption } from '../options.js';
import type { CliContext } from '../context.js';
import { pluginDeps } from '../plugin-deps.js';

/** `plugin create [NAME]`: the managed Docker plugin, built from this install. */
export function pluginCommand(ctx: CliContext): Command {
  const plugin = new Command('plugin').description('the managed Docker plugin: the driver run by dockerd itself (no host process)');
  plugin
    .command('create')
    .description('build the managed plugin from this install (no registry) and enable it')
    .argument('[name]', 'the plugin name', 'secretfs/secretfs:latest')
    .addOption(formatOption())
    .action(async (name: string, opts: { format: string }) => {
      const { createManagedPlugin } = await import('../../lib/plugin/managed-plugin.js');
      const created = await createManagedPlugin(pluginDeps(ctx), name);
      if (opts.format === 'json') ctx.out.json(created);
      else {
        ctx.out.data(`${created.name} ${created.id.slice(0, 12)} enabled\n`);
        ctx.out.info(`volumes: docker volume create -d ${created.name} -o path=secret/app-1 app1; other hosts: docker plugin push ${created.name} (see README)`);
      }
    });
  return plugin;
}
