/** The demo's own path, so it never touches the user's secrets. */
export const DEMO_PATH = 'secret/secretfs-demo';
export const DEMO_KEY = 'db-password';
