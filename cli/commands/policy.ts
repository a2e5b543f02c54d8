import { Command } from 'commander';
import { collect, formatOption } from '../options.js';
import { deletePolicy, listPolicies, normalizePolicyName, readPolicy, renderPolicy, writePolicy } from '../../lib/vault/policy.js';
import { resolveKvMount } from '../../lib/vault/kv.js';
import { normalizeSecretPath, type KvMount } from '../../lib/vault/kv-path.js';
import type { CliContext } from '../context.js';
import { openVault } from '../vault-session.js';

interface CreateOptions {
  read: string[];
  write: string[];
  list?: boolean;
  dryRun?: boolean;
}

/** `policy create|ls|show|rm`: least-privilege ACL policies for KV paths. */
export function policyCommand(ctx: CliContext): Command {
  const policy = new Command('policy').description('write and manage least-privilege Vault policies');
  policy
    .command('create')
    .description('render and write a policy granting exactly the given paths (PATH/* for a subtree)')
    .argument('<name>', 'policy name')
    .option('--read <path>', 'grant reading this path (repeatable)', collect, [])
    .option('--write <path>', 'grant reading and writing this path (repeatable)', collect, [])
    .option('--list', 'also grant listing the paths')
    .option('--dry-run', 'print the policy instead of writing it')
    .action(async (rawName: string, opts: CreateOptions) => {
      const name = normalizePolicyName(rawName);
      // Every path is checked before Vault is asked anything: a refused path changes nothing.
      const bases = [...opts.read, ...opts.write].map((p) => normalizeSecretPath(p.replace(/\/\*$/, '')));
      const { vault } = await openVault(ctx);
      const mounts = new Map<string, KvMount>();
      for (const base of bases) mounts.set(base, await resolveKvMount(vault, base));
      const hcl = renderPolicy({ read: opts.read, write: opts.write, list: opts.list }, (p) => mounts.get(p)!, `docker secretfs policy ${name}`);
      if (opts.dryRun) {
        ctx.out.data(hcl);
        return;
      }
      await writePolicy(vault, name, hcl);
      ctx.out.success(`wrote policy ${name}`);
    });
  policy
    .command('ls')
    .description('list the policies')
    .addOption(formatOption())
    .action(async (opts: { format: string }) => {
      const { vault } = await openVault(ctx);
      const names = await listPolicies(vault);
      if (opts.format === 'json') ctx.out.json(names);
      else ctx.out.data(names.join('\n') + '\n');
    });
  policy
    .command('show')
    .description("print a policy's HCL")
    .argument('<name>', 'policy name')
    .action(async (name: string) => {
      const { vault } = await openVault(ctx);
      ctx.out.data(await readPolicy(vault, name));
    });
  policy
    .command('rm')
    .description('delete a policy')
    .argument('<name>', 'policy name')
    .action(async (name: string) => {
      const { vault } = await openVault(ctx);
      await deletePolicy(vault, name);
      ctx.out.success(`deleted policy ${normalizePolicyName(name)}`);
    });
  return policy;
}
