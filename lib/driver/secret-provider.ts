import { ErrorCode, SecretfsError, UsageError, VaultError, isVaultFailure } from '../errors.js';
import type { Logger } from '../log.js';
import { SECRET_LABELS, SecretLabelError, parseSecretLabels, renderSwarmSecret, type SwarmSecretSpec } from '../swarm/secret-spec.js';
import { SWARM_TOKEN_ROLE, SWARM_TOKEN_TTL, swarmPolicyName } from '../swarm/access.js';
import type { VaultClient } from '../vault/client.js';
import type { KvMount } from '../vault/kv-path.js';
import { findKvMount, readSecret } from '../vault/kv.js';
import { listMounts } from '../vault/sys.js';
import { createToken, lookupSelf } from '../vault/tokens.js';
import { ProtocolError } from './protocol.js';

/**
 * Swarm's secret-provider protocol on the driver's socket (protocols.md §4): the swarm manager
 * asks for a secret's value each time it assigns a task; the secret's labels say where it is in
 * Vault (lib/swarm/secret-spec.ts). Each service reads with a token of its own, minted through
 * the `secretfs-swarm` role with the policy an administrator wrote for the path
 * (lib/swarm/access.ts), and cached for a short while.
 */

/** The request, decoded from Swarm's `SecretsProviderRequest`. */
export interface SecretRequest {
  secretName: string;
  labels: Record<string, string>;
  serviceId?: string;
  serviceName?: string;
  taskId?: string;
  taskName?: string;
  nodeId?: string;
}

/** What the socket's `/SecretProvider.GetSecret` route calls. */
export interface SecretProvider {
  /** The value's bytes; a SecretProviderError (naming the secret, the label and the cause, never a value) otherwise. */
  getSecret(request: SecretRequest): Promise<Buffer>;
  close(): void;
}

/** A secret that cannot be served; the message is what Swarm logs and what `secret ls` shows. */
export class SecretProviderError extends SecretfsError {
  constructor(secretName: string, cause: string, details: { cause?: unknown } = {}) {
    super(`secret ${JSON.stringify(secretName)}: ${cause}`, ErrorCode.USAGE, 1, { cause: details.cause });
  }
}

/** The route swarmkit's secret driver POSTs to. */
export const SECRET_PROVIDER_ROUTE = '/SecretProvider.GetSecret';

/** The capability `Plugin.Activate` lists next to `VolumeDriver` (swarmkit's SecretsProviderCapability). */
export const SECRET_PROVIDER_CAPABILITY = 'secretprovider';

/** Swarm's answer: `Value` is []byte, so base64 in JSON. DoNotReuse: every task asks again. */
export interface WireSecretResponse {
  Value?: string;
  Err: string;
  DoNotReuse: boolean;
}

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const v = body[field];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new ProtocolError(`${field} must be a string`);
  return v;
}

function stringMap(body: Record<string, unknown>, field: string): Record<string, string> {
  const v = body[field];
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new ProtocolError(`${field} must be an object of strings`);
  const out: Record<string, string> = Object.create(null);
  for (const [k, value] of Object.entries(v)) {
    if (typeof value !== 'string') throw new ProtocolError(`${field}[${JSON.stringify(k)}] must be a string`);
    out[k] = value;
  }
  return out;
}

/** Decodes swarmkit's `SecretsProviderRequest` (every field omitempty; SecretName is always there). */
export function decodeSecretRequest(body: Record<string, unknown>): SecretRequest {
  const secretName = optionalString(body, 'SecretName');
  if (!secretName) throw new ProtocolError('missing SecretName: the request needs {"SecretName": "<swarm secret>", "SecretLabels": {...}}');
  return {
    secretName,
    labels: stringMap(body, 'SecretLabels'),
    serviceId: optionalString(body, 'ServiceID'),
    serviceName: optionalString(body, 'ServiceName'),
    taskId: optionalString(body, 'TaskID'),
    taskName: optionalString(body, 'TaskName'),
    nodeId: optionalString(body, 'NodeID'),
  };
}

/** Serves one GetSecret request: the value base64-encoded, always DoNotReuse (a new task reads the current value). */
export async function handleGetSecret(provider: SecretProvider, body: Record<string, unknown>): Promise<WireSecretResponse> {
  const value = await provider.getSecret(decodeSecretRequest(body));
  return { Value: value.toString('base64'), Err: '', DoNotReuse: true };
}

/** How long a service's token is reused; well under its TTL (SWARM_TOKEN_TTL). */
export const SERVICE_TOKEN_CACHE_MS = 60_000;
const MOUNTS_CACHE_MS = 30_000;

export interface VaultSecretProviderOptions {
  /** A client holding the driver's credential (it mints; it never reads a secret). */
  driverVault: VaultClient;
  log: Logger;
  driverName?: string;
  timeoutMs?: number;
  /** How long a service token is reused (default SERVICE_TOKEN_CACHE_MS). */
  tokenCacheMs?: number;
  now?: () => number;
}

interface CachedToken {
  client: Promise<VaultClient>;
  expiresAt: number;
}

/** The provider against Vault (or the embedded store). */
export class VaultSecretProvider implements SecretProvider {
  private readonly tokens = new Map<string, CachedToken>();
  private mounts?: { at: number; value: Promise<Record<string, { type: string; options?: { version?: string } | null }>> };
  private isRoot?: Promise<boolean>;
  private readonly now: () => number;

  constructor(private readonly opts: VaultSecretProviderOptions) {
    this.now = opts.now ?? Date.now;
  }

  async getSecret(request: SecretRequest): Promise<Buffer> {
    const fail = (cause: string, details?: { cause?: unknown }) => new SecretProviderError(request.secretName, cause, details);
    let spec: SwarmSecretSpec;
    try {
      spec = parseSecretLabels(request.labels);
    } catch (err) {
      throw fail((err as Error).message, { cause: err });
    }
    const mount = await this.kvMount(spec.path).catch((err) => {
      throw fail(`label ${SECRET_LABELS.path}: ${vaultCause(err)}`, { cause: err });
    });
    if (spec.version !== undefined && mount.version !== 2) {
      throw fail(`label ${SECRET_LABELS.version}: ${mount.mount} is KV v1, which keeps no versions`);
    }
    const client = await this.serviceClient(request, spec.path).catch((err) => {
      throw fail(mintCause(err, spec.path), { cause: err });
    });
    let data: Record<string, unknown>;
    try {
      data = (await readSecret(client, mount, spec.path, spec.version)).data;
    } catch (err) {
      if (isVaultFailure(err, 'forbidden')) {
        // The token stays cached: Vault resolves its policy by name on each request, so an allow takes effect at once.
        throw fail(
          `label ${SECRET_LABELS.path}: permission denied reading ${spec.path}: the path is not allowed for Swarm secrets (an administrator allows it with \`docker secretfs secret allow ${spec.path}\`)`,
          { cause: err },
        );
      }
      const label = spec.version !== undefined && isVaultFailure(err, 'not_found') ? SECRET_LABELS.version : SECRET_LABELS.path;
      throw fail(`label ${label}: ${vaultCause(err)}`, { cause: err });
    }
    try {
      return renderSwarmSecret(data, spec);
    } catch (err) {
      if (err instanceof SecretLabelError) throw fail(err.message, { cause: err });
      throw err;
    }
  }

  private kvMount(path: string): Promise<KvMount> {
    const at = this.now();
    if (!this.mounts || at - this.mounts.at > MOUNTS_CACHE_MS) {
      const value = listMounts(this.opts.driverVault);
      this.mounts = { at, value };
      value.catch(() => (this.mounts = undefined));
    }
    return this.mounts.value.then((m) => findKvMount(m, path));
  }

  /** A client with the service's token for `path`: reused while fresh, minted once for concurrent tasks. */
  private serviceClient(request: SecretRequest, path: string): Promise<VaultClient> {
    const key = tokenKey(request, path);
    const cached = this.tokens.get(key);
    const at = this.now();
    if (cached && cached.expiresAt > at) return cached.client;
    const client = this.mint(request, path);
    const entry = { client, expiresAt: at + (this.opts.tokenCacheMs ?? SERVICE_TOKEN_CACHE_MS) };
    this.tokens.set(key, entry);
    client.catch(() => {
      if (this.tokens.get(key) === entry) this.tokens.delete(key);
    });
    for (const [k, v] of this.tokens) if (v.expiresAt <= at) this.tokens.delete(k);
    return client;
  }

  private async mint(request: SecretRequest, path: string): Promise<VaultClient> {
    const vault = this.opts.driverVault;
    this.isRoot ??= lookupSelf(vault).then(
      (self) => self.policies.includes('root'),
      (err) => {
        this.isRoot = undefined;
        throw err;
      },
    );
    const root = await this.isRoot;
    const service = request.serviceName ?? request.serviceId ?? 'unknown';
    const minted = await createToken(vault, {
      role: root ? undefined : SWARM_TOKEN_ROLE,
      policies: [swarmPolicyName(path)],
      ttl: SWARM_TOKEN_TTL,
      renewable: false,
      noDefaultPolicy: true,
      displayName: `secretfs-swarm-${service}`.slice(0, 100),
      meta: {
        service,
        service_id: request.serviceId ?? '',
        path,
        driver: this.opts.driverName ?? 'secretfs',
      },
    });
    this.opts.log.info('minted a Swarm service token', { service, serviceId: request.serviceId, path, accessor: minted.accessor, ttl: minted.ttlSeconds });
    return vault.withToken(minted.token);
  }

  close(): void {
    this.tokens.clear();
  }
}

function tokenKey(request: SecretRequest, path: string): string {
  return `${request.serviceId ?? ''}\u0000${request.serviceName ?? ''}\u0000${path}`;
}

function vaultCause(err: unknown): string {
  if (err instanceof VaultError) return err.message;
  if (err instanceof UsageError) return err.message;
  return `internal error: ${(err as Error)?.message ?? String(err)}`;
}

function mintCause(err: unknown, path: string): string {
  if (isVaultFailure(err, 'forbidden')) {
    return `the driver's Vault credential may not mint Swarm service tokens (its policy predates Swarm secrets: run \`docker secretfs init --force\`): ${vaultCause(err)}`;
  }
  if (isVaultFailure(err, 'bad_request') && /role/i.test(err.message)) {
    return `label ${SECRET_LABELS.path}: no path is allowed for Swarm secrets yet, ${path} included (an administrator allows it with \`docker secretfs secret allow ${path}\`): ${err.message}`;
  }
  return `cannot get a Vault token for the service: ${vaultCause(err)}`;
}
