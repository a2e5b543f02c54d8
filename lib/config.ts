import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './errors.js';
import { readOptionalFile, writePrivateFile } from './private-files.js';
import type { Paths } from './paths.js';
import { DEFAULT_DRIVER_NAME, driverNameFrom } from './paths.js';
import { DEFAULT_STORE_ADDR } from './localvault/address.js';
import { connectionFromEnv, mergeConnections, type VaultTlsSettings } from './vault/connection.js';

/** Where the Vault that secretfs talks to comes from. */
export type Backend = 'embedded' | 'vault';

/** The resolved configuration. `vaultToken` is never written to the config file. */
export interface Config {
  backend: Backend;
  vaultAddr: string;
  /** A 0600 file holding the CLI's Vault token (for the embedded store: its root token file). */
  tokenFile?: string;
  /** The CLI's Vault token, resolved at run time from VAULT_TOKEN, tokenFile or ~/.vault-token. */
  vaultToken?: string;
  /** The path `run` mounts when no --path is given. */
  defaultPath: string;
  /** The KV mount `init` made sure of. */
  kvMount: string;
  /** The Docker volume driver name (and socket name): always paths.ts driverNameFrom(env), validated with the rest. */
  driverName: string;
  /** Timeout of one Vault request in milliseconds. */
  requestTimeoutMs: number;
  /** How Vault's TLS is checked (init's --ca-cert etc., overridden by VAULT_CACERT etc.). */
  vaultTls?: VaultTlsSettings;
  /** Vault namespace sent as X-Vault-Namespace (init's --namespace, overridden by VAULT_NAMESPACE). */
  vaultNamespace?: string;
  /** The managed plugin that runs the driver (`init --managed`), e.g. `secretfs/secretfs:latest`. */
  managedPlugin?: string;
  /** What Docker calls the volume driver (`docker volume create -d`): the managed plugin when there is one, else driverName. */
  volumeDriver: string;
}

/** The part of Config kept in the config file (not the token, not the driver name). */
export type ConfigFile = Partial<Omit<Config, 'vaultToken' | 'driverName' | 'volumeDriver'>>;

// The store's default address belongs to the store; the config defaults to it.
export { DEFAULT_STORE_ADDR };

export const DEFAULTS: Config = {
  backend: 'embedded',
  vaultAddr: DEFAULT_STORE_ADDR,
  defaultPath: 'secret/app-1',
  kvMount: 'secret/',
  driverName: DEFAULT_DRIVER_NAME,
  volumeDriver: DEFAULT_DRIVER_NAME,
  requestTimeoutMs: 5000,
};

export interface ConfigSources {
  file?: ConfigFile;
  env?: NodeJS.ProcessEnv;
  flags?: Partial<Config>;
}

function definedOnly<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined && v !== '')) as Partial<T>;
}

/** Config from the environment: VAULT_ADDR, VAULT_TOKEN, SECRETFS_DEFAULT_PATH. */
function fromEnv(env: NodeJS.ProcessEnv): Partial<Config> {
  return definedOnly({
    vaultAddr: env.VAULT_ADDR,
    vaultToken: env.VAULT_TOKEN,
    defaultPath: env.SECRETFS_DEFAULT_PATH,
  });
}

/**
 * Merges the sources with precedence defaults < file < environment < flags. Pure. The driver
 * name comes from the environment only (driverNameFrom); a config file of an older init that
 * holds one is not read for it.
 */
export function resolveConfig({ file = {}, env = {}, flags = {} }: ConfigSources): Config {
  const { driverName: _ignored, volumeDriver: _derived, ...fromFile } = definedOnly(file) as Partial<Config>;
  const driverName = driverNameFrom(env);
  const merged: Config = { ...DEFAULTS, ...fromFile, ...fromEnv(env), ...definedOnly(flags), driverName, volumeDriver: fromFile.managedPlugin ?? driverName };
  // TLS settings and the namespace merge field by field: VAULT_CACERT alone keeps a recorded client cert.
  const connection = mergeConnections(
    { tls: file.vaultTls, namespace: file.vaultNamespace },
    connectionFromEnv(env),
    { tls: flags.vaultTls, namespace: flags.vaultNamespace },
  );
  delete merged.vaultTls;
  delete merged.vaultNamespace;
  if (connection.tls) merged.vaultTls = connection.tls;
  if (connection.namespace) merged.vaultNamespace = connection.namespace;
  return merged;
}

/** Returns every problem with the config at once (empty when valid). Pure. */
export function validateConfig(cfg: Config): string[] {
  const problems: string[] = [];
  try {
    const url = new URL(cfg.vaultAddr);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') problems.push(`vaultAddr must be http(s): ${cfg.vaultAddr}`);
  } catch {
    problems.push(`vaultAddr is not a URL: ${cfg.vaultAddr}`);
  }
  if (cfg.backend !== 'embedded' && cfg.backend !== 'vault') problems.push(`backend must be "embedded" or "vault"`);
  if (!/^[a-z][a-z0-9]*$/.test(cfg.driverName)) problems.push(`driverName must match ^[a-z][a-z0-9]*$: ${cfg.driverName}`);
  if (cfg.managedPlugin !== undefined && !/^[a-z0-9][a-zA-Z0-9._/:-]*$/.test(cfg.managedPlugin)) problems.push(`managedPlugin is not a plugin name: ${cfg.managedPlugin}`);
  if (!cfg.defaultPath || cfg.defaultPath.includes('..') || cfg.defaultPath.startsWith('/')) {
    problems.push(`defaultPath must be a relative Vault path: ${cfg.defaultPath}`);
  }
  if (!Number.isInteger(cfg.requestTimeoutMs) || cfg.requestTimeoutMs <= 0) problems.push('requestTimeoutMs must be a positive integer');
  return problems;
}

/** Reads the config file, or undefined when `init` has not written one. */
export async function readConfigFile(paths: Paths): Promise<ConfigFile | undefined> {
  const text = await readOptionalFile(paths.configFile);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as ConfigFile;
  } catch (err) {
    throw new ConfigError(`config file ${paths.configFile} is not valid JSON`, { cause: err, hint: 'run `docker secretfs init --force`' });
  }
}

/** Writes the config file (0600). The token is never part of it. */
export async function writeConfigFile(paths: Paths, cfg: ConfigFile): Promise<void> {
  const { vaultToken: _dropped, ...rest } = cfg as Config;
  await writePrivateFile(paths.configFile, JSON.stringify(rest, null, 2) + '\n');
}

/**
 * Loads the config (defaults < file < env < flags), validates it and resolves the CLI's token:
 * VAULT_TOKEN, else the config's tokenFile, else ~/.vault-token (as the vault CLI does).
 */
export async function loadConfig(paths: Paths, env: NodeJS.ProcessEnv, flags: Partial<Config> = {}): Promise<Config> {
  const file = await readConfigFile(paths);
  const cfg = resolveConfig({ file, env, flags });
  const problems = validateConfig(cfg);
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  if (!cfg.vaultToken) cfg.vaultToken = await readTokenFile(cfg.tokenFile, env);
  return cfg;
}

async function readTokenFile(tokenFile: string | undefined, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const candidate of [tokenFile, join(env.HOME || homedir(), '.vault-token')]) {
    if (!candidate) continue;
    const text = await readOptionalFile(candidate);
    if (text && text.trim()) return text.trim();
  }
  return undefined;
}

/** The config, or a ConfigError telling the user to run init when there is none and no VAULT_ADDR. */
export async function requireConfig(paths: Paths, env: NodeJS.ProcessEnv, flags: Partial<Config> = {}): Promise<Config> {
  const file = await readConfigFile(paths);
  if (!file && !env.VAULT_ADDR) {
    throw new ConfigError('secretfs is not set up yet', { missing: true, hint: 'run `docker secretfs init`' });
  }
  return loadConfig(paths, env, flags);
}
