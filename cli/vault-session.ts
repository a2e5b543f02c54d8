import { requireConfig, type Config } from '../lib/config.js';
import { ConfigError } from '../lib/errors.js';
import { vaultClientFromConfig, type VaultClient } from '../lib/vault/client.js';
import { resolveKvMountCached } from '../lib/vault/kv-mount-cache.js';
import { normalizeSecretPath, type KvMount } from '../lib/vault/kv-path.js';
import type { CliContext } from './context.js';

/** The config and a Vault client with the CLI's token, or a ConfigError saying how to get one. */
export async function openVault(ctx: CliContext): Promise<{ config: Config; vault: VaultClient }> {
  const config = await requireConfig(ctx.paths, ctx.env);
  if (!config.vaultToken) {
    throw new ConfigError('no Vault token', { hint: 'run `docker secretfs init`, or set VAULT_TOKEN' });
  }
  return { config, vault: vaultClientFromConfig(config) };
}

/**
 * The prelude of the commands on one secret path (put, get, ls, rm, history): the path checked
 * and normalised, Vault opened with the CLI's token, the path's KV mount found (or remembered
 * from a command a few seconds ago).
 */
export async function openSecretPath(ctx: CliContext, rawPath: string): Promise<{ path: string; config: Config; vault: VaultClient; mount: KvMount }> {
  const path = normalizeSecretPath(rawPath);
  const { config, vault } = await openVault(ctx);
  return { path, config, vault, mount: await resolveKvMountCached(vault, path, ctx.paths.kvMountCacheFile) };
}
