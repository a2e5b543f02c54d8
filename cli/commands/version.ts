import { Command } from 'commander';
import { formatOption } from '../options.js';
import { readPackageVersion } from '../../lib/version.js';
import type { CliContext } from '../context.js';

/** `version`: the version of secretfs and of the Node.js running it. */
export function versionCommand(ctx: CliContext): Command {
  return new Command('version')
    .description('show the version')
    .addOption(formatOption())
    .action((opts: { format: 'text' | 'json' }) => {
      const info = { version: readPackageVersion(), node: process.version, platform: `${process.platform}/${process.arch}` };
      if (opts.format === 'json') ctx.out.json(info);
      else ctx.out.data(`docker secretfs ${info.version} (node ${info.node}, ${info.platform})\n`);
    });
}
