import { Command } from 'commander';
import { collect, formatOption } from '../options.js';
import { UsageError } from '../../lib/errors.js';
import { parseDurationSeconds } from '../../lib/duration.js';
import { createToken, createWrappedToken, lookupAccessor, lookupSelf, lookupToken, revokeAccessor, revokeToken } from '../../lib/vault/tokens.js';
import { renderTable } from '../output.js';
import { readAll } from '../stdin.js';
import type { CliContext } from '../context.js';
import { openVault } from '../vault-session.js';

interface CreateOptions {
  policy: string[];
  ttl?: string;
  uses?: string;
  renewable: boolean;
  wrap?: string;
  displayName?: string;
  orphan?: boolean;
  format: 'text' | 'json';
}

/** Checks a Vault duration flag (30s, 15m, 1h30m) and passes it on as Vault will read it. */
const durationArg = (what: string) => (value: string) => {
  try {
    if (parseDurationSeconds(value) > 0) return value;
  } catch {
    // Reported below with the flag's name.
  }
  throw new UsageError(`invalid ${what} ${JSON.stringify(value)}: use e.g. 30s, 15m, 1h or 1h30m`);
};

/** A token piped on stdin (never taken from argv), or undefined when stdin is a TTY or empty. */
async function tokenFromStdin(ctx: CliContext): Promise<string | undefined> {
  if (ctx.stdin.isTTY) return undefined;
  const text = (await readAll(ctx.stdin)).toString('utf8').trim();
  return text || undefined;
}

/** `token create|lookup|revoke`. Tokens go to stdout only, and are read from stdin only. */
export function tokenCommand(ctx: CliContext): Command {
  const token = new Command('token').description('mint, inspect and revoke Vault tokens');
  token
    .command('create')
    .description('mint a token (printed on stdout only); with --wrap, a single-use wrapping token instead')
    .option('--policy <name>', 'a policy of the token (repeatable)', collect, [])
    .option('--ttl <duration>', 'time to live, e.g. 1h', durationArg('--ttl'))
    .option('--uses <n>', 'number of uses (0 = unlimited)')
    .option('--renewable', 'the token can be renewed (default)', true)
    .option('--no-renewable', 'the token cannot be renewed')
    .option('--wrap <duration>', 'print a response-wrapping token valid this long, not the token', durationArg('--wrap'))
    .option('--display-name <name>', 'a name shown in lookups and audit logs')
    .option('--orphan', 'a token that outlives its parent')
    .addOption(formatOption())
    .action(async (opts: CreateOptions) => {
      if (opts.uses !== undefined && !/^\d+$/.test(opts.uses)) throw new UsageError(`--uses must be a whole number, not ${opts.uses}`);
      const { vault } = await openVault(ctx);
      const request = {
        policies: opts.policy.length ? opts.policy : undefined,
        ttl: opts.ttl,
        numUses: opts.uses === undefined ? undefined : Number(opts.uses),
        renewable: opts.renewable,
        displayName: opts.displayName,
        orphan: opts.orphan,
      };
      if (opts.wrap) {
        const wrap = await createWrappedToken(vault, request, opts.wrap);
        if (opts.format === 'json') ctx.out.json({ wrapping_token: wrap.token, ttl: wrap.ttl, wrapped_accessor: wrap.wrapped_accessor ?? null, creation_path: wrap.creation_path });
        else ctx.out.data(wrap.token + '\n');
        ctx.out.info(`wrapping token: single use, valid for ${wrap.ttl}s; the token inside has accessor ${wrap.wrapped_accessor ?? '?'}`);
        return;
      }
      const minted = await createToken(vault, request);
      if (opts.format === 'json') ctx.out.json({ token: minted.token, accessor: minted.accessor, policies: minted.policies, ttl: minted.ttlSeconds, renewable: minted.renewable });
      else ctx.out.data(minted.token + '\n');
      ctx.out.info(`accessor ${minted.accessor}, policies ${minted.policies.join(', ')}, ttl ${minted.ttlSeconds}s`);
    });
  token
    .command('lookup')
    .description('show a token: piped on stdin, by --accessor, or the current one')
    .option('--accessor <accessor>', 'look up by accessor')
    .addOption(formatOption())
    .action(async (opts: { accessor?: string; format: 'text' | 'json' }) => {
      const { vault } = await openVault(ctx);
      const piped = opts.accessor ? undefined : await tokenFromStdin(ctx);
      const info = opts.accessor ? await lookupAccessor(vault, opts.accessor) : piped ? await lookupToken(vault, piped) : await lookupSelf(vault);
      if (opts.format === 'json') ctx.out.json(info);
      else
        ctx.out.data(
          renderTable(['FIELD', 'VALUE'], [
            ['accessor', info.accessor],
            ['display_name', info.displayName],
            ['policies', info.policies.join(',')],
            ['ttl', `${info.ttlSeconds}s`],
            ['expire_time', info.expireTime ?? 'never'],
            ['renewable', String(info.renewable)],
            ['num_uses', info.numUses],
          ]),
        );
    });
  token
    .command('revoke')
    .description('revoke a token (and its children): piped on stdin, or by --accessor')
    .option('--accessor <accessor>', 'revoke by accessor')
    .action(async (opts: { accessor?: string }) => {
      const piped = opts.accessor ? undefined : await tokenFromStdin(ctx);
      if (!opts.accessor && !piped) throw new UsageError('give the token on stdin or pass --accessor');
      const { vault } = await openVault(ctx);
      if (opts.accessor) await revokeAccessor(vault, opts.accessor);
      else await revokeToken(vault, piped!);
      ctx.out.success('revoked');
    });
  return token;
}
