/** The Vault API version this store imitates, with build metadata saying what it really is. */
export const STORE_VERSION = '1.17.0+secretfs';
/** Build date reported by sys/seal-status. */
export const STORE_BUILD_DATE = '2026-01-01T00:00:00Z';
