import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** An env's embedded store over HTTP with its root token (what `init` left in the home). */
export interface RootVault {
  /** The store's address, from the config. */
  address: string;
  request(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
  /** Whether the store still knows a token by its accessor (Vault: 400 "invalid accessor" once revoked). */
  tokenAlive(accessor: string): Promise<boolean>;
}

/** The store of the secretfs home `home` (its config's address, the root token init wrote). */
export async function rootVaultOf(home: string): Promise<RootVault> {
  const rootToken = (await readFile(join(home, 'store', 'root-token'), 'utf8')).trim();
  const vaultAddr = JSON.parse(await readFile(join(home, 'config.json'), 'utf8')).vaultAddr as string;
  const request = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${vaultAddr}/v1/${path}`, {
      method,
      headers: { 'X-Vault-Token': rootToken },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  };
  return {
    address: vaultAddr,
    request,
    async tokenAlive(accessor) {
      const r = await request('POST', 'auth/token/lookup-accessor', { accessor });
      if (r.status === 200) return true;
      if (r.status !== 400 || !JSON.stringify(r.json).includes('invalid accessor')) throw new Error(`lookup-accessor answered ${r.status}: ${JSON.stringify(r.json)}`);
      return false;
    },
  };
}

/** Polls `what` until `check` holds, at most `ms`; returns its last value. */
export async function until<T>(what: () => Promise<T>, check: (v: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  let v = await what();
  while (!check(v) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    v = await what();
  }
  return v;
}
