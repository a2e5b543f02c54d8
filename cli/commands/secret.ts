import { Command, Option } from 'commander';
import { createSwarmSecret, listSwarmSecrets, planRotation } from '../../lib/app/swarm-secrets.js';
import { dockerHostFrom } from '../../lib/docker/client.js';
import { createSwarmClient, forceUpdateService } from '../../lib/docker/swarm.js';
import { UsageError } from '../../lib/errors.js';
import { parseKeyValues } from '../../lib/key-values.js';
import { allowSwarmPath } from '../../lib/swarm/access.js';
import { SWARM_SECRET_FORMATS, parseSecretLabels, type SwarmSecretSpec } from '../../lib/swarm/secret-spec.js';
import { normalizeSecretPath } from '../../lib/vault/kv-path.js';
import { collect, formatOption } from '../options.js';
import { renderTable } from '../output.js';
import type { CliContext } from '../context.js';
import { openVault } from '../vault-session.js';
import { requireConfig } from '../../lib/config.js';

/** `secret create|allow|ls|rotate`: Swarm secrets whose value is read from Vault when a task starts. */
export function secretCommand(ctx: CliContext): Command {
  const swarm = () => createSwarmClient(dockerHostFrom(ctx.dockerGlobalFlags, ctx.env));
  const secret = new Command('secret').description('Swarm secrets read from Vault at task start (docker secret create --driver secretfs)');
  secret
    .command('create')
    .description('create a Swarm secret that reads PATH (one KEY, or the whole secret) when a task starts; allows PATH for Swarm')
    .argument('<name>', 'the Swarm secret name (as in docker service create --secret NAME)')
    .requiredOption('--path <path>', 'the Vault path, e.g. secret/app-1')
    .option('--key <key>', "one key: the task gets exactly the value's bytes")
    .addOption(new Option('--format <format>', 'without --key: the whole secret as json, env or yaml').choices([...SWARM_SECRET_FORMATS]))
    .option('--version <n>', 'pin a KV v2 version (default: the latest when the task starts)')
    .option('-l, --label <key=value>', 'a label of your own on the Swarm secret', collect, [])
    .addOption(new Option('--output <format>', 'output format').choices(['text', 'json']).default('text'))
    .addHelpText('after', '\nExamples:\n  docker secretfs secret create db_pwd --path secret/app-1 --key db-password\n  docker service create --secret db_pwd alpine cat /run/secrets/db_pwd')
    .action(async (name: string, opts: { path: string; key?: string; format?: string; version?: string; label: string[]; output: string }) => {
      const own = parseKeyValues(opts.label);
      if (Object.keys(own).some((k) => k.startsWith('secretfs.'))) throw new UsageError('secretfs.* labels come from --path, --key, --format and --version');
      // The labels are the spec: parse them as the provider will, so both refuse the same input.
      const spec: SwarmSecretSpec = parseSecretLabels({
        'secretfs.path': opts.path,
        ...(opts.key !== undefined ? { 'secretfs.key': opts.key } : {}),
        ...(opts.format !== undefined ? { 'secretfs.format': opts.format } : {}),
        ...(opts.version !== undefined ? { 'secretfs.version': opts.version } : {}),
      });
      const { config, vault } = await openVault(ctx);
      const created = await createSwarmSecret({ vault, swarm: swarm(), driverName: config.volumeDriver, name, spec, labels: own });
      if (opts.output === 'json') ctx.out.json({ ...created, driver: config.volumeDriver });
      else {
        ctx.out.data(created.id + '\n');
        const what = spec.key !== undefined ? `key ${spec.key} of ${spec.path}` : `${spec.path} as ${spec.format}`;
        ctx.out.success(`Swarm secret ${name} reads ${what}${spec.version ? ` version ${spec.version}` : ''} when a task starts: docker service create --secret ${name} ...`);
      }
    });
  secret
    .command('allow')
    .description('allow Swarm secrets to read PATH (needed before `docker secret create --driver` or a stack uses it; `secret create` does it itself)')
    .argument('<paths...>', 'Vault paths')
    .addOption(formatOption())
    .action(async (rawPaths: string[], opts: { format: string }) => {
      const paths = rawPaths.map((p) => normalizeSecretPath(p));
      const { vault } = await openVault(ctx);
      const allowed = [];
      for (const path of paths) allowed.push({ path, policy: await allowSwarmPath(vault, path) });
      if (opts.format === 'json') ctx.out.json(allowed);
      else for (const a of allowed) ctx.out.success(`Swarm secrets may read ${a.path} (policy ${a.policy})`);
    });
  secret
    .command('ls')
    .description('list the Swarm secrets backed by secretfs, with the Vault version a new task would get')
    .addOption(formatOption())
    .action(async (opts: { format: string }) => {
      const { config, vault } = await openVault(ctx);
      const rows = await listSwarmSecrets({ vault, swarm: swarm(), driverName: config.volumeDriver });
      if (opts.format === 'json') ctx.out.json(rows);
      else {
        ctx.out.data(
          renderTable(
            ['NAME', 'PATH', 'KEY', 'VERSION', 'SERVICES', 'PROBLEM'],
            rows.map((r) => [r.name, r.path ?? '-', r.key ?? `(${r.format ?? '-'})`, r.vaultVersion === null ? '-' : `${r.vaultVersion}${r.pinned ? ' (pinned)' : ''}`, r.services.join(',') || '-', r.problem ?? '']),
          ),
        );
      }
    });
  secret
    .command('rotate')
    .description('after a put: restart the services that use the secrets (docker service update --force), so their new tasks read the current value')
    .argument('<names...>', 'secretfs Swarm secrets')
    .option('--service <service>', 'only this service (repeatable)', collect, [])
    .option('--dry-run', 'say which services would be restarted, change nothing')
    .addOption(formatOption())
    .action(async (names: string[], opts: { service: string[]; dryRun?: boolean; format: string }) => {
      const { volumeDriver } = await requireConfig(ctx.paths, ctx.env);
      const plan = await planRotation({ swarm: swarm(), driverName: volumeDriver, names, onlyServices: opts.service });
      if (!opts.dryRun) {
        // docker shows the progress of each update itself (on our stderr).
        for (const service of plan.services) {
          ctx.out.info(`restarting ${service}: docker service update --force ${service}`);
          await forceUpdateService(ctx.dockerCli, ctx.dockerGlobalFlags, ctx.env, service);
        }
      }
      if (opts.format === 'json') ctx.out.json({ ...plan, dryRun: Boolean(opts.dryRun) });
      else if (plan.services.length === 0) ctx.out.info(`no service uses ${plan.secrets.join(', ')}: nothing to restart`);
      else if (opts.dryRun) ctx.out.info(`would restart: ${plan.services.join(', ')} (docker service update --force)`);
      else ctx.out.success(`rotated ${plan.secrets.join(', ')}: ${plan.services.join(', ')} restarted`);
    });
  return secret;
}
