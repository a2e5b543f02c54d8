import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import type { DriverCredential } from '../driver/credential.js';
import type { Paths } from '../paths.js';

/** The driver's home inside the plugin (SECRETFS_HOME in the template). */
export const PLUGIN_HOME = '/secretfs';
/** Where the Docker engine's socket is mounted in the plugin (on_change signals and restarts containers through it). */
export const PLUGIN_DOCKER_SOCKET = '/run/secretfs/docker.sock';

/** One mount of a plugin's config.json (Docker's plugin config v1 of plugin v2). */
export interface PluginMount {
  name: string;
  description: string;
  settable: string[];
  source: string;
  destination: string;
  type: 'bind';
  options: string[];
}

/** The parts of config.json that the build reads or fills in; the rest comes from the template as is. */
export interface PluginConfig {
  entrypoint: string[];
  interface: { socket: string; types: string[] };
  propagatedMount: string;
  mounts: PluginMount[];
  [field: string]: unknown;
}

/** The template in plugin-metadata/ of the install. */
export async function readPluginTemplate(packageRoot: string): Promise<PluginConfig> {
  const file = join(packageRoot, 'plugin-metadata', 'managed-plugin.json');
  return JSON.parse(await readFile(file, 'utf8')) as PluginConfig;
}

/** The files a credential names (TLS), each with the mount name it gets. */
function credentialFiles(credential: DriverCredential): { name: string; path: string; what: string }[] {
  const tls = credential.tls ?? {};
  const named = [
    { name: 'tls-ca-cert', path: tls.caCert, what: 'the CA certificate of the Vault (VAULT_CACERT)' },
    { name: 'tls-ca-path', path: tls.caPath, what: 'the CA directory of the Vault (VAULT_CAPATH)' },
    { name: 'tls-client-cert', path: tls.clientCert, what: 'the client certificate for the Vault (VAULT_CLIENT_CERT)' },
    { name: 'tls-client-key', path: tls.clientKey, what: 'the client key for the Vault (VAULT_CLIENT_KEY)' },
  ];
  return named.filter((n): n is { name: string; path: string; what: string } => typeof n.path === 'string' && n.path !== '');
}

/**
 * The plugin's config.json: the template with the mounts this install needs. The credential never
 * goes into it (Docker shows config and settings in `docker plugin inspect`): the driver's own
 * directory is bind-mounted instead (its credential.json is 0600, and the driver keeps its state
 * and AppRole login status there, as on the host), the log directory too (driver.log,
 * fs-audit.log), and each file the credential names (TLS) at its own path, read-only, so the
 * paths in the credential stay true inside the plugin. A namespace or an AppRole block lives in
 * the credential file itself and needs nothing more. With `dockerSocket` (the engine's unix socket
 * on the host) the plugin reaches the engine for on_change as the host driver does.
 */
export async function pluginConfig(template: PluginConfig, paths: Paths, credential: DriverCredential, options: { dockerSocket?: string } = {}): Promise<PluginConfig> {
  const mounts: PluginMount[] = [
    {
      name: 'driver',
      description: "the driver's directory: its Vault credential (0600), volume state and login status",
      settable: ['source'],
      source: paths.driverDir,
      destination: `${PLUGIN_HOME}/driver`,
      type: 'bind',
      options: ['rbind', 'rw'],
    },
    {
      name: 'log',
      description: "the driver's log and the audit log of secret file opens",
      settable: ['source'],
      source: paths.logDir,
      destination: `${PLUGIN_HOME}/log`,
      type: 'bind',
      options: ['rbind', 'rw'],
    },
  ];
  for (const file of credentialFiles(credential)) {
    try {
      await stat(file.path);
    } catch {
      throw new ConfigError(`the driver's credential names ${file.path} (${file.what}), which does not exist`, { hint: 'run `docker secretfs init --force` with the right TLS files' });
    }
    mounts.push({ name: file.name, description: file.what, settable: ['source'], source: file.path, destination: file.path, type: 'bind', options: ['rbind', 'ro'] });
  }
  // The engine's socket, for on_change (as the host driver reaches it): dockerd creates it before it starts plugins.
  const env = [...((template.env as object[] | undefined) ?? [])];
  if (options.dockerSocket) {
    mounts.push({ name: 'docker-socket', description: 'the Docker engine, for on_change (signal or restart the containers of a watched volume)', settable: ['source'], source: options.dockerSocket, destination: PLUGIN_DOCKER_SOCKET, type: 'bind', options: ['rbind', 'rw'] });
    env.push({ name: 'DOCKER_HOST', description: 'the engine on_change talks to', settable: [], value: `unix://${PLUGIN_DOCKER_SOCKET}` });
  }
  return { ...template, env, mounts: [...(template.mounts ?? []), ...mounts] };
}
