import { isDeepStrictEqual } from 'node:util';
import { DEFAULT_STORE_ADDR, readConfigFile, writeConfigFile, type Backend, type ConfigFile } from '../config.js';
import type { DockerClient } from '../docker/client.js';
import { readDriverCredential } from '../driver/credential.js';
import { DRIVER_POLICY_NAME, VOLUME_TOKEN_ROLE, allowPath } from '../access/boundary.js';
import { ensureDriverBoundary, provisionDriverCredential } from '../driver/driver-policy.js';
import { provisionDriverAppRole } from '../driver/driver-approle.js';
import { startDriverInBackground, stopDriver } from '../driver/process.js';
import { ConfigError, UsageError, isVaultFailure } from '../errors.js';
import { parseStoreAddr, readStorePid, startStoreInBackground, storeRootTokenFile } from '../localvault/process.js';
import { makeOwnTls, ownTlsFiles, ownTlsUsable, type OwnTlsFiles } from '../localvault/own-tls.js';
import type { Paths } from '../paths.js';
import { readOptionalFile, writePrivateFile } from '../private-files.js';
import { createVaultClient, type VaultClient } from '../vault/client.js';
import { connectionFromEnv, mergeConnections, type VaultConnection } from '../vault/connection.js';
import { resolve as resolvePath } from 'node:path';
import { normalizeSecretPath } from '../vault/kv-path.js';
import { ensureKvV2Mount, readHealth } from '../vault/sys.js';
import { lookupSelf, revokeSelf } from '../vault/tokens.js';
import { DEFAULT_PLUGIN_NAME, ensureManagedPlugin, normalizePluginName, type PluginDeps } from '../plugin/managed-plugin.js';
import { builtCliEntry } from '../version.js';
import { keepUpAfterReboot } from '../daemon/boot.js';
import { storeStartArgs } from '../daemon/daemons.js';
import { systemdRuns } from '../daemon/systemd.js';
import { recordRunLane } from './run-lane.js';
import { DEFAULT_RUN_TARGET } from './run-plan.js';

/** What `init` sets up. */
export interface InitChoices {
  backend: Backend;
  /** An existing Vault's address (backend vault). */
  vaultAddr?: string;
  /** A token for an existing Vault; kept in a 0600 file only when `saveToken` is set. */
  vaultToken?: string;
  /** Write vaultToken to `<home>/vault-token` (0600): it was typed at the prompt, not taken from the environment. */
  saveToken?: boolean;
  /** Where the embedded store listens (backend embedded). */
  storeAddr?: string;
  /** The embedded store listens on https with a CA and certificate made for this home. */
  storeTls?: boolean;
  kvMount: string;
  defaultPath: string;
  /** Paths volumes created through the driver may serve (`allow`); default: the default path. */
  allow: string[];
  /** Redo every step even when it looks done. */
  force: boolean;
  /** TLS settings and namespace of the Vault (Vault's client settings); recorded in the config and the driver's credential. */
  connection?: VaultConnection;
  /** How the driver authenticates: its own token (default) or AppRole. */
  driverAuth?: 'token' | 'approle';
  /** AppRole: an existing role's role_id and secret_id (or a wrapping token of it); none = init makes the role. */
  approle?: { roleId?: string; secretId?: string; mount?: string };
  /** The managed plugin of this name runs the driver (dockerd starts it) instead of a host process. */
  managed?: string;
}

/** One step's outcome: whether it changed anything. */
export interface InitStepResult {
  step: string;
  changed: boolean;
  detail: string;
  /** Done, but something here does not last (without systemd, nothing brings the daemons back after a reboot). */
  warn?: boolean;
}

export interface InitDeps {
  paths: Paths;
  env: NodeJS.ProcessEnv;
  docker: DockerClient;
  /** Shows progress for one step (a spinner on a TTY). */
  step<T>(title: string, work: () => Promise<T>, done: (result: T) => string): Promise<T>;
  /** What the managed plugin needs (the install, the docker CLI); only with choices.managed. */
  plugin?: PluginDeps;
}

/**
 * Sets secretfs up: finds the Docker engine, the Vault (or starts the embedded store), makes
 * sure of a KV v2 mount, gives the driver its own credential, starts the driver and writes the
 * config. Every step is idempotent: a second run changes nothing and says so.
 */
export async function initialize(deps: InitDeps, choices: InitChoices): Promise<InitStepResult[]> {
  const { paths } = deps;
  const defaultPath = normalizeSecretPath(choices.defaultPath, 'default path');
  const kvMount = normalizeSecretPath(choices.kvMount, 'KV mount') + '/';
  if (!defaultPath.startsWith(kvMount)) throw new ConfigError(`the default path ${defaultPath} is not below the KV mount ${kvMount}`);
  const allow = (choices.allow.length > 0 ? choices.allow : [defaultPath]).map((p) => normalizeSecretPath(p, 'allowed path'));
  const results: InitStepResult[] = [];
  const record = (r: InitStepResult) => (results.push(r), r.detail);

  await deps.step('finding the Docker engine', () => deps.docker.serverVersion(), (v) => record({ step: 'docker', changed: false, detail: `Docker engine ${v}` }));

  const { admin, addr, tokenFile, tlsMade } = await deps.step('connecting to Vault', () => connectVault(paths, choices), (v) =>
    record({ step: 'vault', changed: v.changed, detail: v.detail }),
  );

  await deps.step(`making sure of a KV v2 mount at ${kvMount}`, async () => {
    const outcome = await ensureKvV2Mount(admin, kvMount);
    if (typeof outcome === 'object') throw new ConfigError(outcome.conflict, { hint: 'choose another mount with --kv-mount' });
    return outcome;
  }, (o) => record({ step: 'kv-mount', changed: o === 'created', detail: o === 'created' ? `enabled KV v2 at ${kvMount}` : `KV v2 at ${kvMount}` }));

  await deps.step('bounding the driver: its policy and token role', () => ensureDriverBoundary(admin, { orphanVolumeTokens: choices.driverAuth === 'approle' }), (c) =>
    record({ step: 'driver-boundary', changed: c, detail: c ? `wrote the driver policy ${DRIVER_POLICY_NAME} and token role ${VOLUME_TOKEN_ROLE}` : 'driver policy and token role up to date' }),
  );

  await deps.step(`allowing ${allow.join(', ')} for volumes the driver creates`, async () => {
    const done = [];
    for (const p of allow) done.push(await allowPath(admin, p));
    return done;
  }, (done) => {
    const changed = done.filter((d) => d.changed).map((d) => d.path);
    return record({ step: 'allow', changed: changed.length > 0, detail: changed.length > 0 ? `allowed ${changed.join(', ')}` : `already allowed: ${allow.join(', ')}` });
  });

  const credentialChanged = await deps.step('giving the driver its own credential', () => ensureDriverCredential(paths, admin, choices), (c) =>
    record({ step: 'driver-credential', changed: c, detail: c ? `driver credential written (${paths.driverCredentialFile}, 0600)` : 'driver credential valid' }),
  );

  if (choices.managed) record(await managedDriver(deps, choices.managed, credentialChanged));
  else {
    await deps.step('starting the volume driver', async () => {
      // A new store certificate (and CA) also needs a driver that has read the new CA.
      if (credentialChanged || tlsMade) await stopDriver(paths);
      return startDriverInBackground(paths, withoutToken(deps.env));
    }, (d) => record({ step: 'driver', changed: !d.alreadyRunning, detail: `${d.alreadyRunning ? 'volume driver running' : 'started the volume driver'} (pid ${d.pid}, ${d.socket})` }));
  }

  const config: ConfigFile = {
    backend: choices.backend,
    vaultAddr: addr,
    ...(tokenFile ? { tokenFile } : {}),
    kvMount,
    defaultPath,
    ...(admin.connection.tls ? { vaultTls: admin.connection.tls } : {}),
    ...(admin.connection.namespace ? { vaultNamespace: admin.connection.namespace } : {}),
    ...(choices.managed ? { managedPlugin: choices.managed } : {}),
  };
  await deps.step('writing the config', async () => {
    const existing = await readConfigFile(paths).catch(() => undefined);
    if (!choices.force && existing && isDeepStrictEqual(pick(existing), pick(config))) return false;
    const { vaultTls: _t, vaultNamespace: _n, managedPlugin: _m, ...kept } = existing ?? {};
    await writeConfigFile(paths, { ...kept, ...config });
    return true;
  }, (written) => record({ step: 'config', changed: written, detail: written ? `config written (${paths.configFile}, 0600)` : `config unchanged (${paths.configFile})` }));

  // The first `run` of the default path (or of an allowed path) may then take the launcher's fast lane.
  const lanePaths = [...(allow.some((a) => defaultPath === a || defaultPath.startsWith(`${a}/`)) ? [{ path: defaultPath }] : []), ...allow.map((a) => ({ typed: a, path: a }))];
  // A record that could not be written only costs the first run its shortcut.
  await recordRunLane(paths, { volumeDriver: choices.managed ?? paths.driverName, target: DEFAULT_RUN_TARGET, paths: lanePaths, env: deps.env }).catch(() => undefined);

  // After a reboot or a crash: systemd units where systemd runs; elsewhere, say what will not come back.
  const boot = { paths, env: deps.env, node: process.execPath, cliEntry: builtCliEntry(), storeAddress: addr, storeArgs: choices.backend === 'embedded' ? await storeStartArgs(paths, addr) : undefined, hostDriver: !choices.managed };
  // (With the managed plugin and an external Vault there is nothing of ours to bring back: dockerd starts the plugin.)
  if (boot.storeArgs || boot.hostDriver) {
    if (systemdRuns()) {
      await deps.step('keeping the store and the driver up across reboots (systemd units)', () => keepUpAfterReboot(boot), (b) => record({ step: 'boot', changed: b.changed, detail: b.detail }));
    } else results.push({ step: 'boot', changed: false, warn: true, detail: (await keepUpAfterReboot(boot)).detail });
  }

  return results;
}

/**
 * The driver as a managed plugin (init --managed): a host driver of this home is stopped first
 * (both would use one state file), then the plugin is created and enabled, or restarted when the
 * credential changed (lib/plugin/managed-plugin.ts).
 */
async function managedDriver(deps: InitDeps, name: string, credentialChanged: boolean): Promise<InitStepResult> {
  if (!deps.plugin) throw new ConfigError('init --managed needs the docker CLI and this install');
  const stopped = await stopDriver(deps.paths);
  const { plugin, changed, created } = await ensureManagedPlugin(deps.plugin, normalizePluginName(name), credentialChanged);
  const host = stopped.stopped ? `; stopped the host driver (pid ${stopped.pid}): dockerd waits ~30 s on it at each unknown volume name until dockerd restarts` : '';
  const what = created ? `created and enabled the managed plugin ${plugin.name}` : changed ? `restarted the managed plugin ${plugin.name}` : `managed plugin ${plugin.name} enabled`;
  return { step: 'driver', changed: changed || stopped.stopped, detail: `${what} (volumes: docker volume create -d ${plugin.name})${host}` };
}

function pick(c: ConfigFile): ConfigFile {
  return { backend: c.backend, vaultAddr: c.vaultAddr, tokenFile: c.tokenFile, kvMount: c.kvMount, defaultPath: c.defaultPath, vaultTls: c.vaultTls, vaultNamespace: c.vaultNamespace, managedPlugin: c.managedPlugin };
}

/** The driver gets its credential from the file written here, never from VAULT_TOKEN. */
function withoutToken(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { VAULT_TOKEN: _dropped, ...rest } = env;
  return rest;
}

/** The admin client for set-up: the embedded store's root token, or the user's token for their Vault. */
async function connectVault(paths: Paths, choices: InitChoices): Promise<{ admin: VaultClient; addr: string; tokenFile?: string; changed: boolean; detail: string; tlsMade?: boolean }> {
  if (choices.backend === 'embedded') {
    const { files, made } = choices.storeTls ? await storeTls(paths, choices.storeAddr) : { files: undefined, made: false };
    const started = await startStoreInBackground(paths, { addr: choices.storeAddr ?? (files ? DEFAULT_STORE_ADDR.replace(/^http:/, 'https:') : DEFAULT_STORE_ADDR), ...(files ? { tls: files } : {}) });
    const https = new URL(started.address).protocol === 'https:';
    if (files && !https) throw new ConfigError(`the embedded store is running without TLS at ${started.address}`, { hint: 'stop it with `docker secretfs server stop`, then run init --store-tls again' });
    if (!files && https) {
      throw new ConfigError(`the embedded store is running with TLS at ${started.address}`, {
        hint: `pass --store-tls when init made its certificate, or --vault-addr ${started.address} --ca-cert FILE for a certificate of your own`,
      });
    }
    const tokenFile = storeRootTokenFile(paths);
    const token = (await readOptionalFile(tokenFile))?.trim();
    if (!token) throw new ConfigError(`the embedded store has no root token file at ${tokenFile}`);
    // The CA is the client setting recorded in the config and the driver's credential.
    const admin = createVaultClient({ addr: started.address, token, ...(files ? { tls: { caCert: files.caFile } } : {}) });
    await lookupSelf(admin);
    const tlsNote = files ? `, TLS: ${made ? 'made a CA and certificate' : 'CA'} ${files.caFile}` : '';
    return {
      admin,
      addr: started.address,
      tokenFile,
      changed: !started.alreadyRunning || made,
      detail: `${started.alreadyRunning ? 'embedded store running' : 'started the embedded store'} at ${started.address} (pid ${started.pid}${tlsNote})`,
      tlsMade: made,
    };
  }
  if (!choices.vaultAddr) throw new ConfigError('no Vault address', { hint: 'pass --vault-addr or set VAULT_ADDR' });
  if (!choices.vaultToken) throw new ConfigError(`no token for ${choices.vaultAddr}`, { hint: 'set VAULT_TOKEN, log in with `vault login`, or run init on a TTY to be asked' });
  const admin = createVaultClient({ addr: choices.vaultAddr, token: choices.vaultToken, ...choices.connection });
  const health = await readHealth(admin);
  if (!health.initialized || health.sealed) throw new ConfigError(`the Vault at ${choices.vaultAddr} is ${health.sealed ? 'sealed' : 'not initialized'}`);
  const self = await lookupSelf(admin);
  let tokenFile: string | undefined;
  if (choices.saveToken) {
    tokenFile = `${paths.home}/vault-token`;
    await writePrivateFile(tokenFile, choices.vaultToken + '\n');
  }
  return { admin, addr: choices.vaultAddr, tokenFile, changed: false, detail: `Vault ${health.version} at ${choices.vaultAddr} (token ${self.displayName}, policies ${self.policies.join(',')})` };
}

/**
 * The TLS files of `init --store-tls`: kept while they are a CA and a certificate for the address
 * valid 30 days more, else made again; never made again under a running store (it keeps its own).
 */
async function storeTls(paths: Paths, storeAddr: string | undefined): Promise<{ files: OwnTlsFiles; made: boolean }> {
  const addr = storeAddr ?? DEFAULT_STORE_ADDR.replace(/^http:/, 'https:');
  if (!addr.startsWith('https://')) throw new UsageError(`--store-tls listens on an https:// address, not ${addr}`, { hint: 'use --store-addr https://127.0.0.1:8282' });
  const { host } = parseStoreAddr(addr, true);
  if ((await readStorePid(paths)) !== undefined || (await ownTlsUsable(paths, host))) return { files: ownTlsFiles(paths), made: false };
  return { files: await makeOwnTls(paths, host), made: true };
}

/** Keeps a valid driver credential for the same address; otherwise (or with force) mints a new one and revokes the old. */
async function ensureDriverCredential(paths: Paths, admin: VaultClient, choices: InitChoices): Promise<boolean> {
  const force = choices.force;
  const existing = await readDriverCredential(paths).catch(() => undefined);
  if (choices.driverAuth === 'approle') {
    // Kept when it is an AppRole credential for this Vault and no other role was asked for.
    const sameConnection = existing && isDeepStrictEqual(mergeConnections(existing), mergeConnections(admin.connection));
    const same = existing?.approle && existing.addr === admin.addr && sameConnection && (!choices.approle?.roleId || choices.approle.roleId === existing.approle.roleId);
    if (same && !force) return false;
    if (existing?.token && existing.addr === admin.addr) await revokeSelf(admin.withToken(existing.token)).catch(() => undefined);
    await provisionDriverAppRole(admin, paths, choices.approle ?? {});
    return true;
  }
  if (existing?.token && existing.addr === admin.addr) {
    const old = admin.withToken(existing.token);
    const valid = await lookupSelf(old).then(() => true, (err) => {
      if (isVaultFailure(err, 'forbidden', 'not_found')) return false;
      throw err;
    });
    // A credential recorded with other TLS settings or namespace is rewritten with the new ones.
    const sameConnection = isDeepStrictEqual(mergeConnections(existing), mergeConnections(admin.connection));
    if (valid && !force && sameConnection) return false;
    if (valid) await revokeSelf(old).catch(() => undefined);
  }
  await provisionDriverCredential(admin, paths);
  return true;
}

/**
 * Whether init sets up the managed plugin: `--managed [NAME]` yes, `--no-managed` no (back to a host
 * driver), neither: as the config says (so a second `init` keeps the mode the first chose).
 */
function managedChoice(flag: boolean | string | undefined, recorded: string | undefined): { managed?: string } {
  if (flag === false) return {};
  if (flag === undefined) return recorded ? { managed: normalizePluginName(recorded) } : {};
  return { managed: normalizePluginName(flag === true ? DEFAULT_PLUGIN_NAME : flag) };
}

/** Flags of `init` that shape the choices. */
export interface InitFlags {
  embedded?: boolean;
  vaultAddr?: string;
  storeAddr?: string;
  /** `--store-tls`: the embedded store on https with its own CA (kept by later runs, as the config's https address says). */
  storeTls?: boolean;
  kvMount?: string;
  defaultPath?: string;
  allow?: string[];
  force?: boolean;
  /** Vault's client settings as flags (VAULT_CACERT etc. fill in what is not given). */
  caCert?: string;
  caPath?: string;
  clientCert?: string;
  clientKey?: string;
  tlsServerName?: string;
  tlsSkipVerify?: boolean;
  namespace?: string;
  /** `--auth approle`; role_id and the secret_id (already read from its file or stdin by the CLI). */
  auth?: 'token' | 'approle';
  roleId?: string;
  secretId?: string;
  approleMount?: string;
  /** `--managed [NAME]`: the driver as a managed Docker plugin (true: the default name); false: `--no-managed`. */
  managed?: boolean | string;
}

/** The connection settings init records: flags over the environment, file paths made absolute. */
export function initConnection(env: NodeJS.ProcessEnv, flags: InitFlags): VaultConnection {
  const abs = (p?: string) => (p ? resolvePath(p) : undefined);
  const merged = mergeConnections(connectionFromEnv(env), {
    tls: { caCert: flags.caCert, caPath: flags.caPath, clientCert: flags.clientCert, clientKey: flags.clientKey, serverName: flags.tlsServerName, skipVerify: flags.tlsSkipVerify || undefined },
    namespace: flags.namespace,
  });
  if (merged.tls) {
    merged.tls = { ...merged.tls, caCert: abs(merged.tls.caCert), caPath: abs(merged.tls.caPath), clientCert: abs(merged.tls.clientCert), clientKey: abs(merged.tls.clientKey) };
  }
  return mergeConnections(merged);
}

/**
 * The choices `init --yes` makes: an existing Vault when --vault-addr or VAULT_ADDR names one
 * (token from VAULT_TOKEN or ~/.vault-token), otherwise the embedded store.
 */
export async function defaultInitChoices(paths: Paths, env: NodeJS.ProcessEnv, flags: InitFlags): Promise<InitChoices> {
  const existing = await readConfigFile(paths).catch(() => undefined);
  const vaultAddr = flags.embedded ? undefined : flags.vaultAddr ?? env.VAULT_ADDR;
  const home = env.HOME || (await import('node:os')).homedir();
  if (flags.storeTls && vaultAddr) throw new UsageError('--store-tls is for the embedded store, not an existing Vault', { hint: `pass --embedded, or --ca-cert FILE for the Vault at ${vaultAddr}` });
  const storeTls = flags.storeTls ?? (!vaultAddr && existing?.backend === 'embedded' && existing.vaultAddr?.startsWith('https:') === true);
  const token = vaultAddr ? env.VAULT_TOKEN || (await readOptionalFile(`${home}/.vault-token`))?.trim() : undefined;
  return {
    backend: vaultAddr ? 'vault' : 'embedded',
    vaultAddr,
    vaultToken: token,
    storeAddr: flags.storeAddr,
    ...(storeTls ? { storeTls: true } : {}),
    kvMount: flags.kvMount ?? 'secret',
    defaultPath: flags.defaultPath ?? existing?.defaultPath ?? 'secret/app-1',
    allow: flags.allow ?? [],
    force: Boolean(flags.force),
    connection: initConnection(env, flags),
    driverAuth: flags.auth ?? 'token',
    ...(flags.auth === 'approle' ? { approle: { roleId: flags.roleId, secretId: flags.secretId, mount: flags.approleMount } } : {}),
    ...managedChoice(flags.managed, existing?.managedPlugin),
  };
}
