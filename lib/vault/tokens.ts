import { VaultError } from '../errors.js';
import type { VaultAuth, VaultClient, WrapInfo } from './client.js';

/** What a new token should be. Durations are Vault duration strings ("1h", "30m") or seconds. */
export interface TokenRequest {
  policies?: string[];
  ttl?: string;
  explicitMaxTtl?: string;
  displayName?: string;
  meta?: Record<string, string>;
  numUses?: number;
  renewable?: boolean;
  noDefaultPolicy?: boolean;
  /** Mint through this token role (auth/token/create/<role>). */
  role?: string;
  /** Mint an orphan (auth/token/create-orphan), which outlives its creator. */
  orphan?: boolean;
}

/** A minted token. `token` must only ever travel wrapped or through a 0600 file. */
export interface MintedToken {
  token: string;
  accessor: string;
  policies: string[];
  ttlSeconds: number;
  renewable: boolean;
}

/** What token lookups return. */
export interface TokenInfo {
  accessor: string;
  displayName: string;
  policies: string[];
  ttlSeconds: number;
  expireTime: string | null;
  renewable: boolean;
  numUses: number;
  orphan: boolean;
  meta: Record<string, string> | null;
  path: string;
}

function createPath(req: TokenRequest): string {
  if (req.role) return `auth/token/create/${encodeURIComponent(req.role)}`;
  return req.orphan ? 'auth/token/create-orphan' : 'auth/token/create';
}

function createBody(req: TokenRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (req.policies) body.policies = req.policies;
  if (req.ttl) body.ttl = req.ttl;
  if (req.explicitMaxTtl) body.explicit_max_ttl = req.explicitMaxTtl;
  if (req.displayName) body.display_name = req.displayName;
  if (req.meta) body.meta = req.meta;
  if (req.numUses !== undefined) body.num_uses = req.numUses;
  if (req.renewable !== undefined) body.renewable = req.renewable;
  if (req.noDefaultPolicy !== undefined) body.no_default_policy = req.noDefaultPolicy;
  return body;
}

/** Mints a token with the client's token as parent (or through a role). */
export async function createToken(vault: VaultClient, req: TokenRequest): Promise<MintedToken> {
  // A plain write, not node-vault's tokenCreate: that one replaces the client's token (protocols.md §6.3).
  const res = await vault.request('POST', createPath(req), { body: createBody(req) });
  return toMintedToken(res.auth, new VaultError('Vault returned no token', 'server'));
}

/** The token in an `auth` block, or `missing` thrown when there is none. */
function toMintedToken(auth: VaultAuth | null | undefined, missing: VaultError): MintedToken {
  if (!auth?.client_token) throw missing;
  return {
    token: auth.client_token,
    accessor: auth.accessor,
    policies: auth.policies ?? [],
    ttlSeconds: auth.lease_duration,
    renewable: auth.renewable,
  };
}

/** Mints a token and returns only the single-use wrapping token that holds it. */
export async function createWrappedToken(vault: VaultClient, req: TokenRequest, wrapTtl: string): Promise<WrapInfo> {
  const res = await vault.request('POST', createPath(req), { body: createBody(req), wrapTtl });
  if (!res.wrap_info?.token) throw new VaultError('Vault did not wrap the response', 'server');
  return res.wrap_info;
}

/** Unwraps a wrapping token (single use) and returns the token it held. */
export async function unwrapToken(vault: VaultClient, wrappingToken: string): Promise<MintedToken> {
  // The wrapping token goes as X-Vault-Token with no body: sending both burns it (protocols.md §5.8).
  const res = await vault.request('POST', 'sys/wrapping/unwrap', { token: wrappingToken });
  return toMintedToken(res.auth, new VaultError('the wrapped response holds no token', 'bad_request', 400));
}

/** Looks up a wrapping token without using it (unauthenticated). */
export async function lookupWrappingToken(vault: VaultClient, wrappingToken: string): Promise<{ creationPath: string; creationTtl: number; creationTime: string }> {
  const res = await vault.request('POST', 'sys/wrapping/lookup', { body: { token: wrappingToken }, token: null });
  return { creationPath: res.data?.creation_path, creationTtl: res.data?.creation_ttl, creationTime: res.data?.creation_time };
}

function toTokenInfo(data: any): TokenInfo {
  return {
    accessor: data.accessor,
    displayName: data.display_name,
    policies: data.policies ?? [],
    ttlSeconds: data.ttl,
    expireTime: data.expire_time ?? null,
    renewable: Boolean(data.renewable),
    numUses: data.num_uses ?? 0,
    orphan: Boolean(data.orphan),
    meta: data.meta ?? null,
    path: data.path,
  };
}

/** Looks up the client's own token. */
export async function lookupSelf(vault: VaultClient): Promise<TokenInfo> {
  return toTokenInfo((await vault.request('GET', 'auth/token/lookup-self')).data);
}

/** Looks up another token by value. */
export async function lookupToken(vault: VaultClient, token: string): Promise<TokenInfo> {
  return toTokenInfo((await vault.request('POST', 'auth/token/lookup', { body: { token } })).data);
}

/** Looks up a token by accessor. */
export async function lookupAccessor(vault: VaultClient, accessor: string): Promise<TokenInfo> {
  return toTokenInfo((await vault.request('POST', 'auth/token/lookup-accessor', { body: { accessor } })).data);
}

/** Renews the client's own token; returns the new TTL in seconds. */
export async function renewSelf(vault: VaultClient, increment?: string): Promise<number> {
  const res = await vault.request('POST', 'auth/token/renew-self', { body: increment ? { increment } : {} });
  return res.auth?.lease_duration ?? 0;
}

/** Revokes a token (and its children) by accessor. */
export async function revokeAccessor(vault: VaultClient, accessor: string): Promise<void> {
  await vault.request('POST', 'auth/token/revoke-accessor', { body: { accessor } });
}

/** Revokes a token (and its children) by value. */
export async function revokeToken(vault: VaultClient, token: string): Promise<void> {
  await vault.request('POST', 'auth/token/revoke', { body: { token } });
}

/** Revokes the client's own token. */
export async function revokeSelf(vault: VaultClient): Promise<void> {
  await vault.request('POST', 'auth/token/revoke-self');
}

/** Creates or updates a token role. */
export async function writeTokenRole(vault: VaultClient, name: string, role: Record<string, unknown>): Promise<void> {
  await vault.request('POST', `auth/token/roles/${encodeURIComponent(name)}`, { body: role });
}

/** Reads a token role, or undefined when there is none. */
export async function readTokenRole(vault: VaultClient, name: string): Promise<Record<string, unknown> | undefined> {
  try {
    return (await vault.request('GET', `auth/token/roles/${encodeURIComponent(name)}`)).data ?? undefined;
  } catch (err) {
    if (err instanceof VaultError && err.failure === 'not_found') return undefined;
    throw err;
  }
}
