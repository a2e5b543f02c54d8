import { VaultError } from '../errors.js';
import type { VaultAuth, VaultClient } from './client.js';

/** Vault's approle auth method, as secretfs uses it: set-up by an admin, and the driver's login. */

/** Enables an auth method at `path` unless something is there already; true when it enabled it. */
export async function enableAuthMethod(admin: VaultClient, path: string, type: string): Promise<boolean> {
  const mounts = (await admin.request('GET', 'sys/auth')).data as Record<string, { type: string }> | undefined;
  const existing = mounts?.[`${path}/`];
  if (existing) {
    if (existing.type !== type) throw new VaultError(`auth/${path}/ is a ${existing.type} auth method, not ${type}`, 'bad_request');
    return false;
  }
  await admin.request('POST', `sys/auth/${path}`, { body: { type, description: 'docker secretfs' } });
  return true;
}

/** Writes an AppRole role (create or update). */
export async function writeAppRole(admin: VaultClient, mount: string, name: string, role: Record<string, unknown>): Promise<void> {
  await admin.request('POST', `auth/${mount}/role/${encodeURIComponent(name)}`, { body: role });
}

/** The role_id of a role. */
export async function readRoleId(admin: VaultClient, mount: string, name: string): Promise<string> {
  const r = await admin.request<{ role_id: string }>('GET', `auth/${mount}/role/${encodeURIComponent(name)}/role-id`);
  if (!r.data?.role_id) throw new VaultError(`auth/${mount}/role/${name} has no role_id`, 'server');
  return r.data.role_id;
}

/** Generates a secret_id for a role: the secret and its use limit. */
export async function generateSecretId(admin: VaultClient, mount: string, name: string): Promise<{ secretId: string; accessor: string; numUses: number }> {
  const r = await admin.request<{ secret_id: string; secret_id_accessor: string; secret_id_num_uses: number }>('POST', `auth/${mount}/role/${encodeURIComponent(name)}/secret-id`, { body: {} });
  if (!r.data?.secret_id) throw new VaultError(`auth/${mount}/role/${name}/secret-id returned no secret_id`, 'server');
  return { secretId: r.data.secret_id, accessor: r.data.secret_id_accessor, numUses: r.data.secret_id_num_uses ?? 0 };
}

/** Unwraps a response-wrapped secret_id (the wrapping token is the request's token). */
export async function unwrapSecretId(vault: VaultClient, wrappingToken: string): Promise<string> {
  const r = await vault.request<{ secret_id?: string }>('POST', 'sys/wrapping/unwrap', { token: wrappingToken, body: {} });
  const secretId = r.data?.secret_id;
  if (!secretId) throw new VaultError('the wrapped response holds no secret_id', 'bad_request', undefined, { hint: 'wrap the answer of auth/<mount>/role/<name>/secret-id' });
  return secretId;
}

/** Whether a secret given to init is a response-wrapping token rather than a secret_id (a UUID). */
export function looksLikeWrappingToken(value: string): boolean {
  return /^(hvs|s)\.[A-Za-z0-9._-]{16,}$/.test(value);
}

/** Logs in with a role_id and secret_id; the auth block (never logged). */
export async function approleLogin(vault: VaultClient, mount: string, roleId: string, secretId: string): Promise<VaultAuth> {
  const r = await vault.request('POST', `auth/${mount}/login`, { body: { role_id: roleId, secret_id: secretId }, token: null });
  if (!r.auth?.client_token) throw new VaultError(`the AppRole login at auth/${mount}/login returned no token`, 'server');
  return r.auth;
}
