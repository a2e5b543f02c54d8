import { resolvePaths } from '../../lib/paths.js';
import { serveStore } from '../../lib/localvault/process.js';

/**
 * A tiny entry that runs the store in the foreground without the CLI, for tests that need the
 * store in another process: `node --import tsx test/helpers/serve-store.ts [addr]`, with
 * SECRETFS_HOME set. It exits by itself once the store stops (SIGTERM/SIGINT, or, when spawned
 * with an IPC channel, when the parent goes away, so a crashed test leaves no store behind).
 * When the store cannot start it says why on stderr and exits 1. (Its file name must contain
 * "serve": process.ts recognises a store process by that word in its command line.)
 */
const addr = process.argv[2] ?? 'http://127.0.0.1:0';
try {
  const served = await serveStore(resolvePaths(process.env), { addr });
  // This entry is its own command layer: it decides what stops the store.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void served.stop());
  if (process.channel) {
    process.channel.unref();
    process.once('disconnect', () => void served.stop());
  }
  await served.stopped;
  if (process.connected) process.disconnect();
} catch (err) {
  const hint = (err as { hint?: string }).hint;
  process.stderr.write(`secretfs store: ${(err as Error).message}${hint ? `\nhint: ${hint}` : ''}\n`);
  process.exitCode = 1;
}
