/** The embedded store listens here unless told otherwise (not 8200, where a real Vault may be). */
export const DEFAULT_STORE_ADDR = 'http://127.0.0.1:8282';
