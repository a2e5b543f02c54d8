import { Command } from 'commander';
import { collect, formatOption } from '../options.js';
import { DEFAULT_STORE_ADDR, DEFAULTS } from '../../lib/config.js';
import type { InitFlags } from '../../lib/app/init.js';
import { normalizeSecretPath } from '../../lib/vault/kv-path.js';
import { askInitAnswers } from '../prompts.js';
import type { CliContext } from '../context.js';
import { readFile } from 'node:fs/promises';
import { UsageError } from '../../lib/errors.js';
import { readAll } from '../stdin.js';
import { pluginDeps } from '../plugin-deps.js';

interface InitOptions extends InitFlags {
  yes?: boolean;
  format: 'text' | 'json';
}

/** A secret given as @FILE or - (stdin), trimmed; a plain value would sit in argv, so it is refused. */
async function readSecretSource(ctx: CliContext, source: string): Promise<string> {
  let text: string;
  if (source === '-') text = (await readAll(ctx.stdin)).toString('utf8');
  else if (source.startsWith('@')) {
    try {
      text = await readFile(source.slice(1), 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read the secret_id file ${source.slice(1)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  } else throw new UsageError('--secret-id takes @FILE or - (stdin), never the secret itself (it would show in the process list)');
  const value = text.trim();
  if (!value) throw new UsageError(`the secret_id from ${source === '-' ? 'stdin' : source.slice(1)} is empty`);
  return value;
}

/** `init`: sets up Vault (or the embedded store), the driver and the config. Safe to run again. */
export function initCommand(ctx: CliContext): Command {
  return new Command('init')
    .description('set up: Vault or the embedded store, a KV v2 mount, the volume driver and the config (safe to run again)')
    .option('-y, --yes', 'take every default without asking')
    .option('--force', 'redo every step: new driver credential, driver restarted, config rewritten')
    .option('--embedded', 'use the embedded store even when VAULT_ADDR is set')
    .option('--vault-addr <url>', 'use an existing Vault at this address (token from VAULT_TOKEN or ~/.vault-token)')
    .option('--store-addr <url>', `where the embedded store listens (default ${DEFAULT_STORE_ADDR})`)
    .option('--store-tls', 'the embedded store listens on https with a CA and certificate made for this home (default address https://127.0.0.1:8282); kept by later runs')
    .option('--kv-mount <path>', 'the KV v2 mount to use (default secret)')
    .option('--default-path <path>', `the path \`run\` mounts by default (default ${DEFAULTS.defaultPath})`)
    .option('--ca-cert <file>', "PEM CA that signed Vault's certificate (VAULT_CACERT)")
    .option('--ca-path <dir>', 'directory of PEM CA files (VAULT_CAPATH)')
    .option('--client-cert <file>', 'PEM client certificate for mutual TLS (VAULT_CLIENT_CERT)')
    .option('--client-key <file>', "the client certificate's PEM key (VAULT_CLIENT_KEY)")
    .option('--tls-server-name <name>', "name to check Vault's certificate against and send as SNI (VAULT_TLS_SERVER_NAME)")
    .option('--tls-skip-verify', "do not verify Vault's certificate (VAULT_SKIP_VERIFY): insecure, for tests only")
    .option('--namespace <ns>', 'Vault namespace sent as X-Vault-Namespace on every request (VAULT_NAMESPACE; HCP: admin)')
    .option('--auth <method>', 'how the driver authenticates: token (its own orphan token) or approle (logs in, renews, logs in again)')
    .option('--role-id <id>', 'AppRole: the role_id of an existing role (default: init makes a role secretfs-driver)')
    .option('--secret-id <source>', 'AppRole: the secret_id (or a wrapping token of it) from @FILE or - (stdin); never in argv')
    .option('--approle-mount <path>', 'AppRole: where the approle method is mounted (default approle)')
    .option('--managed [name]', 'run the driver as a managed Docker plugin that dockerd starts (default secretfs/secretfs:latest) instead of a host process; kept by later runs')
    .option('--no-managed', 'back to a host driver process (disable and remove the plugin first)')
    .option('--allow <path>', 'a path volumes created with `docker volume create -d secretfs` may serve (repeatable; default: the default path)', collect, [])
    .addOption(formatOption())
    .action(async (opts: InitOptions) => {
      // Loaded here, not at start-up: set-up pulls in the store, the driver and their dependencies.
      const { defaultInitChoices, initialize } = await import('../../lib/app/init.js');
      if (opts.auth !== undefined && opts.auth !== 'token' && opts.auth !== 'approle') throw new UsageError(`--auth must be token or approle, not ${JSON.stringify(opts.auth)}`);
      if ((opts.roleId || opts.secretId || opts.approleMount) && opts.auth !== 'approle') throw new UsageError('--role-id, --secret-id and --approle-mount go with --auth approle');
      if (opts.roleId && !opts.secretId) throw new UsageError('--role-id needs --secret-id @FILE or --secret-id - (stdin)');
      if (opts.secretId) opts.secretId = await readSecretSource(ctx, opts.secretId);
      let choices = await defaultInitChoices(ctx.paths, ctx.env, opts);
      if (choices.connection?.tls?.skipVerify) {
        ctx.out.warn("TLS VERIFICATION IS OFF (--tls-skip-verify / VAULT_SKIP_VERIFY): anyone between here and Vault can read every secret and token. Use --ca-cert instead; keep this for tests only.");
      }
      if (ctx.isInteractive && !opts.yes && opts.format !== 'json') {
        const validatePath = (p: string) => {
          try {
            normalizeSecretPath(p);
            return true;
          } catch (err) {
            return (err as Error).message;
          }
        };
        const given = { backend: Boolean(opts.embedded || opts.vaultAddr), vaultAddr: opts.vaultAddr !== undefined, defaultPath: opts.defaultPath !== undefined };
        const answers = await askInitAnswers(ctx, { ...choices, tokenTyped: false }, validatePath, given);
        choices = { ...choices, ...answers, saveToken: answers.tokenTyped };
      }
      const results = await initialize(
        { paths: ctx.paths, env: ctx.env, docker: ctx.docker(), step: (t, w, d) => ctx.out.step(t, w, d), ...(choices.managed ? { plugin: pluginDeps(ctx) } : {}) },
        choices,
      );
      const changed = results.some((r) => r.changed);
      if (opts.format !== 'json') for (const r of results) if (r.warn) ctx.out.warn(r.detail);
      if (opts.format === 'json') ctx.out.json({ changed, steps: results });
      else if (!changed) ctx.out.info('secretfs is already set up; nothing changed (use --force to redo it).');
      else ctx.out.info(`Ready. Next: docker secretfs put ${choices.defaultPath} db-password, then docker secretfs run -- IMAGE`);
    });
}
