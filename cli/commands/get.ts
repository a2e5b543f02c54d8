import { Command } from 'commander';
import { formatOption } from '../options.js';
import { NotFoundError, UsageError } from '../../lib/errors.js';
import { renderSecret, valueBytes } from '../../lib/render/secret.js';
import { readSecret } from '../../lib/vault/kv.js';
import { renderTable } from '../output.js';
import type { CliContext } from '../context.js';
import { openSecretPath } from '../vault-session.js';

interface GetOptions {
  format: 'table' | 'json' | 'env' | 'yaml';
  version?: number;
}

function parseVersion(value: string): number {
  if (!/^[1-9][0-9]*$/.test(value)) throw new UsageError(`--version must be a positive integer, not ${value}`);
  return Number(value);
}

/** `get PATH [KEY]`: one value's exact bytes, or the whole secret in a format. */
export function getCommand(ctx: CliContext): Command {
  return new Command('get')
    .description("print a secret: with KEY exactly the value's bytes, without it every key")
    .argument('<path>', 'Vault path, e.g. secret/app-1')
    .argument('[key]', 'one key')
    .addOption(formatOption(['table', 'json', 'env', 'yaml'], 'table', 'output format without KEY'))
    .option('--version <n>', 'a KV v2 version', parseVersion)
    .action(async (rawPath: string, key: string | undefined, opts: GetOptions) => {
      const { path, vault, mount } = await openSecretPath(ctx, rawPath);
      if (opts.version && mount.version !== 2) throw new UsageError(`--version needs KV v2; ${mount.mount} is KV v1`);
      const secret = await readSecret(vault, mount, path, opts.version);
      if (key !== undefined) {
        if (!(key in secret.data)) throw new NotFoundError(`no key ${key} in ${path}`, { hint: `keys: ${Object.keys(secret.data).join(', ') || '(none)'}` });
        ctx.out.data(valueBytes(secret.data[key], 'utf8'));
        return;
      }
      if (opts.format === 'table') ctx.out.data(renderTable(['KEY', 'VALUE'], Object.keys(secret.data).sort().map((k) => [k, valueBytes(secret.data[k], 'utf8').toString('utf8')])));
      else ctx.out.data(renderSecret(secret.data, opts.format));
    });
}
