import { requireConfig, type Config } from '../lib/config.js';
import { ConfigError } from '../lib/errors.js';
import { vaultClientFromConfig, type VaultClient } from '../lib/vault/client.js';
import type { CliContext } from './context.js';

/** The config and a Vault client with the CLI's token, or a ConfigError saying how to get one. */
export async function openVault(ctx: CliContext): Promise<{ config: Config; vault: VaultClient }> {
  const config = await requireConfig(ctx.paths, ctx.env);
  if (!config.vaultToken) {
    throw new ConfigError('no Vault token', { hint: 'run `docker secretfs init`, or set VAULT_TOKEN' });
  }
  return { config, vault: vaultClientFromConfig(config) };
}
