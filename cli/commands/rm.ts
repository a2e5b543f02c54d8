import { Command } from 'commander';
import { NotFoundError, UsageError } from '../../lib/errors.js';
import { deleteSecret, destroySecret, readSecret, updateSecret } from '../../lib/vault/kv.js';
import { normalizeSecretPath, validateKeyName } from '../../lib/vault/kv-path.js';
import { confirmOrFlag } from '../prompts.js';
import type { CliContext } from '../context.js';
import { openSecretPath } from '../vault-session.js';

interface RmOptions {
  destroy?: boolean;
  yes?: boolean;
}

/** `rm PATH [KEY...]`: removes keys (keeping the others), the latest version, or with --destroy everything. */
export function rmCommand(ctx: CliContext): Command {
  return new Command('rm')
    .description('remove keys from a secret, delete its latest version, or --destroy all of it')
    .argument('<path>', 'Vault path')
    .argument('[keys...]', 'keys to remove; the other keys stay')
    .option('--destroy', 'remove every version and the metadata, for good (asks on a TTY)')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (rawPath: string, keys: string[], opts: RmOptions) => {
      // The path, the keys and the flags are checked before Vault is asked anything.
      normalizeSecretPath(rawPath);
      keys.forEach(validateKeyName);
      if (opts.destroy && keys.length) throw new UsageError('--destroy removes the whole secret; do not name keys with it');
      const { path, vault, mount } = await openSecretPath(ctx, rawPath);
      if (keys.length) {
        const current = (await readSecret(vault, mount, path)).data;
        const missing = keys.filter((k) => !(k in current));
        if (missing.length) throw new NotFoundError(`no key ${missing.join(', ')} in ${path}`);
        await updateSecret(vault, mount, path, (data) => {
          for (const k of keys) delete data[k];
          return data;
        });
        ctx.out.success(`removed ${keys.join(', ')} from ${path}`);
        return;
      }
      if (opts.destroy) {
        if (!(await confirmOrFlag(ctx, `Destroy every version of ${path}?`, opts.yes, '--yes'))) {
          ctx.out.info('Nothing removed.');
          return;
        }
        await destroySecret(vault, mount, path);
        ctx.out.success(`destroyed ${path}`);
        return;
      }
      await readSecret(vault, mount, path);
      await deleteSecret(vault, mount, path);
      ctx.out.success(mount.version === 2 ? `deleted the latest version of ${path} (recoverable: vault kv undelete)` : `deleted ${path}`);
    });
}
