import { resolvePaths } from '../paths.js';
import { serveStore } from './process.js';

/**
 * A tiny entry that runs the store in the foreground without the CLI, for tests that need the
 * store in another process: `node --import tsx lib/localvault/serve-entry.ts [addr]`, with
 * SECRETFS_HOME set. It exits by itself once the store stops (SIGTERM/SIGINT); when the store
 * cannot start it says why on stderr (the store log, when started in the background) and exits 1.
 */
const addr = process.argv[2] ?? 'http://127.0.0.1:0';
try {
  await serveStore(resolvePaths(process.env), { addr });
} catch (err) {
  const hint = (err as { hint?: string }).hint;
  process.stderr.write(`secretfs store: ${(err as Error).message}${hint ? `\nhint: ${hint}` : ''}\n`);
  process.exitCode = 1;
}
