import { chmod, stat } from 'node:fs/promises';
import { ConfigError } from '../errors.js';
import { readConfigFile } from '../config.js';
import type { Paths } from '../paths.js';
import { connectionFromEnv, mergeConnections, type VaultConnection } from '../vault/connection.js';
import type { AppRoleCredential } from './approle-login.js';
import { readOptionalFile, writePrivateFile } from '../private-files.js';

/**
 * The driver's own Vault credential, kept in `paths.driverCredentialFile` (mode 0600) as
 * `{"addr": "http://127.0.0.1:8282", "token": "<driver token>"}`, or with `"approle": {"mount",
 * "roleId", "secretId"}` instead of a token (the driver logs in itself). The credential belongs to
 * that address, so they are always read and written together, with the TLS settings and namespace.
 */
export interface DriverCredential extends VaultConnection {
  addr: string;
  /** A token credential; absent for AppRole. */
  token?: string;
  approle?: AppRoleCredential;
}

/** Reads the credential file, or undefined when there is none. Re-tightens its mode to 0600. */
export async function readDriverCredential(paths: Paths): Promise<DriverCredential | undefined> {
  const text = await readOptionalFile(paths.driverCredentialFile);
  if (text === undefined) return undefined;
  let parsed: Partial<DriverCredential>;
  try {
    parsed = JSON.parse(text) as Partial<DriverCredential>;
  } catch (err) {
    throw new ConfigError(`driver credential ${paths.driverCredentialFile} is not valid JSON`, { cause: err, hint: 'run `docker secretfs init --force`' });
  }
  const approle = parsed.approle;
  const approleOk = approle && typeof approle.mount === 'string' && approle.mount && typeof approle.roleId === 'string' && approle.roleId;
  if (typeof parsed.addr !== 'string' || !parsed.addr || !((typeof parsed.token === 'string' && parsed.token) || approleOk)) {
    throw new ConfigError(`driver credential ${paths.driverCredentialFile} needs "addr" and "token" (or "approle")`, { hint: 'run `docker secretfs init --force`' });
  }
  const st = await stat(paths.driverCredentialFile);
  if ((st.mode & 0o077) !== 0) await chmod(paths.driverCredentialFile, 0o600);
  const connection = mergeConnections({ tls: parsed.tls, namespace: parsed.namespace });
  if (approleOk) return { addr: parsed.addr, approle: approle as AppRoleCredential, ...connection };
  return { addr: parsed.addr, token: parsed.token, ...connection };
}

/** Writes the credential file atomically with mode 0600 (init calls this; so does the first start). */
export async function writeDriverCredential(paths: Paths, credential: DriverCredential): Promise<void> {
  // The TLS settings (file paths) and namespace belong to the address, so they are kept with it.
  const connection = mergeConnections({ tls: credential.tls, namespace: credential.namespace });
  const secret = credential.approle ? { approle: credential.approle } : { token: credential.token };
  await writePrivateFile(paths.driverCredentialFile, JSON.stringify({ addr: credential.addr, ...secret, ...connection }, null, 2) + '\n');
}

/**
 * The driver's credential: the credential file when there is one (written by init). Otherwise
 * the address from VAULT_ADDR or the config file and the token from VAULT_TOKEN or the config's
 * token file, copied into the credential file so the daemon never needs VAULT_TOKEN in its
 * environment.
 */
export async function resolveDriverCredential(paths: Paths, env: NodeJS.ProcessEnv): Promise<DriverCredential> {
  const existing = await readDriverCredential(paths);
  if (existing) return existing;
  const config = await readConfigFile(paths);
  const addr = env.VAULT_ADDR || config?.vaultAddr;
  let token = env.VAULT_TOKEN;
  if (!token && config?.tokenFile) token = (await readOptionalFile(config.tokenFile))?.trim();
  if (!addr || !token) {
    throw new ConfigError('the driver has no Vault credential', {
      missing: true,
      hint: 'run `docker secretfs init`, or set VAULT_ADDR and VAULT_TOKEN for the first `driver start`',
    });
  }
  const connection = mergeConnections({ tls: config?.vaultTls, namespace: config?.vaultNamespace }, connectionFromEnv(env));
  const credential = { addr, token, ...connection };
  await writeDriverCredential(paths, credential);
  return credential;
}
