// Runs the embedded store in its own process for the driver tests: prints {"addr","rootTokenFile"} once listening.
import { createStoreServer } from '../../../lib/localvault/server.js';

const dataDir = process.argv[2];
const server = await createStoreServer({ dataDir, port: 0 });
process.stdout.write(JSON.stringify({ addr: server.address, rootTokenFile: server.rootTokenFile }) + '\n');
const stop = () => {
  // Writes are durable before each answer, so exiting without waiting for keep-alive connections loses nothing.
  void Promise.race([server.close(), new Promise((r) => setTimeout(r, 1000))]).then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
