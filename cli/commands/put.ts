import { Command } from 'commander';
import { formatOption } from '../options.js';
import { readAll } from '../stdin.js';
import { previewChange, type ChangeNotice } from '../../lib/app/change-preview.js';
import { parseValueSources, readValues } from '../../lib/app/secret-input.js';
import { readSecretFile } from '../../lib/app/secret-file.js';
import { UsageError } from '../../lib/errors.js';
import { mergeIntoSecret, writeSecret } from '../../lib/vault/kv.js';
import { normalizeSecretPath } from '../../lib/vault/kv-path.js';
import { askSecretValue } from '../prompts.js';
import type { CliContext } from '../context.js';
import { openSecretPath } from '../vault-session.js';

interface PutOptions {
  replace?: boolean;
  base64?: boolean;
  fromFile?: string;
  format: 'text' | 'json';
}

/** `put PATH KEY...`: stores values read without echo, from stdin or from files; never from argv. */
export function putCommand(ctx: CliContext): Command {
  return new Command('put')
    .description('store secret values (asked for without echo on a TTY, else read from stdin)')
    .argument('<path>', 'Vault path, e.g. secret/app-1')
    .argument('[keys...]', 'KEY (ask or stdin), KEY=- (stdin) or KEY=@FILE')
    .option('--from-file <file>', 'every key of a property file: FILE.env (KEY=value lines, as `get --format env` prints) or FILE.json (one object)')
    .option('--replace', 'replace the whole secret instead of merging the keys into it')
    .option('--base64', 'store the values base64-encoded (for binary data; mount with -o encoding=base64)')
    .addOption(formatOption())
    .addHelpText('after', '\nExamples:\n  docker secretfs put secret/app-1 db-password\n  printf %s "$PW" | docker secretfs put secret/app-1 db-password\n  docker secretfs put secret/app-1 tls-key=@key.pem\n  docker secretfs put secret/my-service/prod --from-file my_service.env')
    .action(async (rawPath: string, keys: string[], opts: PutOptions) => {
      // The path is checked before any value is asked for.
      normalizeSecretPath(rawPath);
      let values: Record<string, unknown>;
      if (opts.fromFile !== undefined) {
        if (keys.length > 0) throw new UsageError('give either KEYs or --from-file, not both');
        if (opts.base64) throw new UsageError('--base64 applies to KEYs, not to --from-file');
        values = await readSecretFile(opts.fromFile);
      } else {
        values = await readValues(
          parseValueSources(keys),
          { readStdin: () => readAll(ctx.stdin), prompt: ctx.isInteractive ? (key) => askSecretValue(ctx, key) : undefined },
          opts.base64,
        );
      }
      const { path, config, vault, mount } = await openSecretPath(ctx, rawPath);
      // Which running containers the driver will tell (volumes with watch and on_change on this
      // path): asked of Docker while Vault writes, as neither answer depends on the other.
      // previewChange is bounded (5 s) when Docker does not answer; a DOCKER_HOST we cannot use
      // still fails put after the write, as before, and stays unobserved when the write fails.
      const previewing = Promise.resolve().then(() => previewChange(ctx.docker(), config.volumeDriver, path));
      previewing.catch(() => undefined);
      const result = opts.replace ? await writeSecret(vault, mount, path, values) : await mergeIntoSecret(vault, mount, path, values);
      const summary = { path, keys: Object.keys(values), version: result.version ?? null, replaced: Boolean(opts.replace) };
      const preview = await previewing;
      if (opts.format === 'json') {
        ctx.out.json({ ...summary, notify: preview.notices?.map((n) => ({ volume: n.volume, action: n.action, containers: n.containers, withinMs: n.watchMs + n.debounceMs })) ?? null });
        return;
      }
      ctx.out.success(`stored ${summary.keys.join(', ')} at ${path}${result.version ? ` (version ${result.version})` : ''}`);
      if (preview.error !== undefined) ctx.out.info(`cannot tell which containers will be signalled: ${preview.error}`);
      else for (const line of describeNotices(preview.notices)) ctx.out.info(line);
    });
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10}s`;
}

/** One line per watched volume with containers to act on, or one line saying none will be. */
function describeNotices(notices: ChangeNotice[]): string[] {
  const acting = notices.filter((n) => n.containers.length > 0);
  if (acting.length === 0) return ['no running container will be signalled or restarted'];
  return acting.map((n) => {
    const what = n.action === 'restart' ? 'restart' : `send SIG${n.action.slice('signal:'.length)} to`;
    const count = n.containers.length === 1 ? '1 running container' : `${n.containers.length} running containers`;
    return `the driver will ${what} ${count} of volume ${n.volume} within ${seconds(n.watchMs + n.debounceMs)}: ${n.containers.join(', ')}`;
  });
}
