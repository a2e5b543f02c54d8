import { resolvePaths } from '../paths.js';
import { serveStore } from './process.js';

/**
 * A tiny entry that runs the store in the foreground without the CLI, for tests that need the
 * store in another process: `node --import tsx lib/localvault/serve-entry.ts [addr]`, with
 * SECRETFS_HOME set. It exits by itself once the store stops (SIGTERM/SIGINT).
 */
const addr = process.argv[2] ?? 'http://127.0.0.1:0';
await serveStore(resolvePaths(process.env), { addr });
