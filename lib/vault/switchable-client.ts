import { createVaultClient, type RequestOptions, type VaultClient } from './client.js';

/** A client whose token can be replaced while a mounted filesystem keeps using it. */
export interface SwitchableVaultClient {
  readonly client: VaultClient;
  setToken(token: string): void;
}

/** Creates a client that always sends the latest token given to `setToken`. */
export function createSwitchableVaultClient(addr: string, token: string, timeoutMs?: number): SwitchableVaultClient {
  let current = createVaultClient({ addr, token, timeoutMs });
  const client: VaultClient = {
    get addr() {
      return current.addr;
    },
    get token() {
      return current.token;
    },
    request<T = any>(method: string, path: string, options?: RequestOptions) {
      return current.request<T>(method, path, options);
    },
    withToken(t: string) {
      return current.withToken(t);
    },
  };
  return { client, setToken: (t) => (current = createVaultClient({ addr, token: t, timeoutMs })) };
}
