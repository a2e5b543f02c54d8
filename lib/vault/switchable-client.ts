import type { RequestOptions, VaultClient } from './client.js';

/** A client whose token can be replaced while a mounted filesystem keeps using it. */
export interface SwitchableVaultClient {
  readonly client: VaultClient;
  setToken(token: string): void;
}

/**
 * Creates a client that always sends the latest token given to `setToken`, with the address, TLS
 * settings and namespace of `base`.
 */
export function createSwitchableVaultClient(base: VaultClient, token: string): SwitchableVaultClient {
  let current = base.withToken(token);
  const client: VaultClient = {
    get addr() {
      return current.addr;
    },
    get token() {
      return current.token;
    },
    get connection() {
      return current.connection;
    },
    request<T = any>(method: string, path: string, options?: RequestOptions) {
      return current.request<T>(method, path, options);
    },
    withToken(t: string) {
      return current.withToken(t);
    },
  };
  return { client, setToken: (t) => (current = base.withToken(t)) };
}
