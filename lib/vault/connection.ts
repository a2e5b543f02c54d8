import { readdirSync, readFileSync, statSync } from 'node:fs';
import type https from 'node:https';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';

/**
 * How a Vault is reached beyond its address, with the meanings of Vault's own client settings:
 * VAULT_CACERT, VAULT_CAPATH, VAULT_CLIENT_CERT, VAULT_CLIENT_KEY, VAULT_TLS_SERVER_NAME,
 * VAULT_SKIP_VERIFY and VAULT_NAMESPACE. Only file paths are kept (never key material), so the
 * settings can be recorded in the config and the driver's credential file.
 */

/** TLS settings of a Vault client (file paths are absolute once recorded). */
export interface VaultTlsSettings {
  /** PEM file of the CA(s) that signed Vault's certificate (VAULT_CACERT). Replaces Node's built-in CAs, as in Vault. */
  caCert?: string;
  /** Directory of PEM CA files (VAULT_CAPATH). */
  caPath?: string;
  /** Client certificate and key for mutual TLS (VAULT_CLIENT_CERT, VAULT_CLIENT_KEY). */
  clientCert?: string;
  clientKey?: string;
  /** The name to verify the server's certificate against and send as SNI (VAULT_TLS_SERVER_NAME). */
  serverName?: string;
  /** Do not verify the server's certificate (VAULT_SKIP_VERIFY). Only for tests. */
  skipVerify?: boolean;
}

/** Everything but the address and token that a Vault client needs. */
export interface VaultConnection {
  tls?: VaultTlsSettings;
  /** Sent as X-Vault-Namespace on every request (VAULT_NAMESPACE). */
  namespace?: string;
}

/** Go's strconv.ParseBool, which the vault CLI applies to VAULT_SKIP_VERIFY. */
function parseGoBool(name: string, text: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  throw new ConfigError(`could not parse ${name}: ${JSON.stringify(text)} is not a boolean`, { hint: 'use true or false' });
}

function compact<T extends object>(obj: T): T | undefined {
  const out = Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined && v !== '')) as T;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Vault's client settings from the environment (only those that are set). */
export function connectionFromEnv(env: NodeJS.ProcessEnv): VaultConnection {
  const tls = compact<VaultTlsSettings>({
    caCert: env.VAULT_CACERT,
    caPath: env.VAULT_CAPATH,
    clientCert: env.VAULT_CLIENT_CERT,
    clientKey: env.VAULT_CLIENT_KEY,
    serverName: env.VAULT_TLS_SERVER_NAME,
    skipVerify: env.VAULT_SKIP_VERIFY ? parseGoBool('VAULT_SKIP_VERIFY', env.VAULT_SKIP_VERIFY) : undefined,
  });
  return compact<VaultConnection>({ tls, namespace: env.VAULT_NAMESPACE }) ?? {};
}

/** Merges connection settings field by field, later ones winning. */
export function mergeConnections(...layers: Array<VaultConnection | undefined>): VaultConnection {
  let tls: VaultTlsSettings = {};
  let namespace: string | undefined;
  for (const layer of layers) {
    if (!layer) continue;
    tls = { ...tls, ...compact(layer.tls ?? {}) };
    if (layer.namespace) namespace = layer.namespace;
  }
  return compact<VaultConnection>({ tls: compact(tls), namespace }) ?? {};
}

function readSetting(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      hint: `fix the path (${what === 'the CA certificate' ? '--ca-cert / VAULT_CACERT' : what === 'the client certificate' ? '--client-cert / VAULT_CLIENT_CERT' : '--client-key / VAULT_CLIENT_KEY'})`,
    });
  }
}

/** The CAs of VAULT_CAPATH: every regular file in the directory. */
function readCaPath(dir: string): Buffer[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new ConfigError(`cannot read the CA directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint: 'fix --ca-path / VAULT_CAPATH' });
  }
  const out: Buffer[] = [];
  for (const name of names.sort()) {
    const file = join(dir, name);
    if (statSync(file).isFile()) out.push(readFileSync(file));
  }
  return out;
}

/** https.Agent options for the settings (reads the files now, so a bad path fails early and clearly). */
export function tlsAgentOptions(tls: VaultTlsSettings): https.AgentOptions {
  const opts: https.AgentOptions = {};
  const cas: Buffer[] = [];
  if (tls.caCert) cas.push(readSetting(tls.caCert, 'the CA certificate'));
  if (tls.caPath) cas.push(...readCaPath(tls.caPath));
  if (cas.length > 0) opts.ca = cas;
  if (tls.clientCert || tls.clientKey) {
    if (!tls.clientCert || !tls.clientKey) throw new ConfigError('a client certificate needs both --client-cert and --client-key (VAULT_CLIENT_CERT, VAULT_CLIENT_KEY)');
    opts.cert = readSetting(tls.clientCert, 'the client certificate');
    opts.key = readSetting(tls.clientKey, 'the client key');
  }
  if (tls.serverName) opts.servername = tls.serverName;
  if (tls.skipVerify) opts.rejectUnauthorized = false;
  return opts;
}

let httpsModule: typeof https | undefined;

/**
 * node:https (and node:tls below it), loaded at the first https address: ~5 ms of every short
 * command's start against an http:// Vault (the embedded store), which never uses it.
 */
export function loadHttps(): typeof https {
  return (httpsModule ??= createRequire(import.meta.url)('node:https') as typeof https);
}

// One keep-alive agent per distinct TLS setting (connections are reused across clients).
const agents = new Map<string, https.Agent>();

/** The shared https.Agent for these settings. */
export function httpsAgentFor(tls: VaultTlsSettings | undefined): https.Agent {
  const key = JSON.stringify(tls ?? {});
  let agent = agents.get(key);
  if (!agent) {
    // `servername` is both the SNI name and the name Node checks the certificate against.
    agent = new (loadHttps().Agent)({ keepAlive: true, maxSockets: 64, ...(tls ? tlsAgentOptions(tls) : {}) });
    agents.set(key, agent);
  }
  return agent;
}

/** What a TLS failure means, and the setting that fixes it; undefined when the error is not about TLS. */
export function describeTlsFailure(code: string, message: string): { text: string; hint: string } | undefined {
  switch (code) {
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'CERT_UNTRUSTED':
    case 'CERT_SIGNATURE_FAILURE':
      return {
        text: "TLS: the server's certificate is signed by an unknown certificate authority",
        hint: "give the CA that signed it with --ca-cert FILE (VAULT_CACERT) or a directory of CAs with --ca-path DIR (VAULT_CAPATH)",
      };
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return {
        text: `TLS: the server's certificate does not match the name connected to (${message.replace(/^Hostname\/IP does not match certificate's altnames: /, '')})`,
        hint: 'connect with a name the certificate lists, or set the name to check with --tls-server-name NAME (VAULT_TLS_SERVER_NAME)',
      };
    case 'CERT_HAS_EXPIRED':
      return { text: "TLS: the server's certificate has expired", hint: "renew the server's certificate (--tls-skip-verify / VAULT_SKIP_VERIFY only for a test)" };
    case 'CERT_NOT_YET_VALID':
      return { text: "TLS: the server's certificate is not valid yet", hint: "check the clocks, or the certificate's start date" };
    case 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED':
    case 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE':
    case 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA':
    case 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE':
      return {
        text: 'TLS: the server requires a client certificate it accepts (mutual TLS)',
        hint: 'give one with --client-cert FILE --client-key FILE (VAULT_CLIENT_CERT, VAULT_CLIENT_KEY)',
      };
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
    case 'EPROTO':
      if (/wrong version number|packet length too long/i.test(message)) {
        return { text: 'TLS: the server did not answer with TLS', hint: 'use an http:// address for a plain HTTP server' };
      }
      return undefined;
    default:
      return undefined;
  }
}
