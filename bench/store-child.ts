/**
 * The embedded store in its own process for the bench (forked by bench/store.ts), so its JS
 * thread never competes with the bench's or the filesystem's. Answers over IPC: its address and
 * root token file once listening; stops on SIGTERM or a 'stop' message.
 */
import { createStoreServer } from '../lib/localvault/server.js';

const dataDir = process.argv[2];
const auditLog = process.argv[3] || undefined;

const server = await createStoreServer({ dataDir, port: 0, host: '127.0.0.1', auditLog });
let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await server.close();
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.on('disconnect', () => void stop());
process.on('message', (m: { op?: string }) => {
  if (m?.op === 'stop') void stop();
});
process.send!({ op: 'ready', address: server.address, rootTokenFile: server.rootTokenFile, pid: process.pid });
