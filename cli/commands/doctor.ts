import { Command } from 'commander';
import { formatOption } from '../options.js';
import { readConfigFile, loadConfig } from '../../lib/config.js';
import type { CliContext } from '../context.js';

/** `doctor`: checks everything secretfs depends on and says how to fix what fails. */
export function doctorCommand(ctx: CliContext): Command {
  return new Command('doctor')
    .description('check Docker, FUSE, the driver, Vault, the token and the default path; exit 0 only when all pass')
    .addOption(formatOption())
    .action(async (opts: { format: string }) => {
      const hasConfig = Boolean(await readConfigFile(ctx.paths)) || Boolean(ctx.env.VAULT_ADDR);
      const config = hasConfig ? await loadConfig(ctx.paths, ctx.env) : undefined;
      const { runDoctor } = await import('../../lib/app/doctor.js');
      const results = await runDoctor({ paths: ctx.paths, config, docker: ctx.docker() });
      const ok = results.every((r) => r.ok);
      if (opts.format === 'json') ctx.out.json({ ok, checks: results });
      else {
        const c = ctx.out.color;
        for (const r of results) {
          ctx.out.info(`${!r.ok ? c.red('✖') : r.warn ? c.yellow('!') : c.green('✔')} ${r.name.padEnd(14)} ${r.detail}`);
          if (!r.ok && r.hint) ctx.out.info(`  ${c.dim('fix:')} ${r.hint}`);
        }
      }
      if (!ok) ctx.exitCode = 1;
    });
}
