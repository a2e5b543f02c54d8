/**
 * Secret filesystems in their own process for the bench (forked by bench/mounts.ts), as the
 * driver runs them (with an audit log of opens, argv[2]): the FUSE requests are served on this process's JS thread, never on the
 * bench's. Commands arrive over IPC; every answer carries the request's id.
 *   mount {addr, token, path, mountpoint, options, kernel?, prefetch?}   mountSecretFs (kernel: a kernel cache override, for
 *                                                    measurements; prefetch: false mounts without reading the secret first)
 *   clear {mountpoint}                               empties the store's cache (the next open reads the store)
 *   stats {mountpoint}                               the store's counters
 *   requests {mountpoint}                            the FUSE requests that reached JS, by operation (and fuse-native's worker set-ups)
 *   unmount {mountpoint}
 *   rss                                              this process's resident memory
 */
import { createAuditLog } from '../lib/fs/audit.js';
import { parseFsOptions } from '../lib/fs/options.js';
import { mountSecretFs, type KernelCacheOptions, type SecretFsMount } from '../lib/fs/mount.js';
import { createVaultClient } from '../lib/vault/client.js';

interface Msg {
  id: number;
  op: string;
  addr?: string;
  token?: string;
  path?: string;
  mountpoint?: string;
  options?: Record<string, string>;
  kernel?: Partial<KernelCacheOptions>;
  prefetch?: boolean;
}

const mounts = new Map<string, SecretFsMount>();
// One audit log of opens for every mount, as the driver keeps (lib/driver/daemon.ts): its cost is part of a real open.
const auditFile = process.argv[2];
const audit = auditFile ? createAuditLog({ file: auditFile }) : undefined;

async function handle(m: Msg): Promise<unknown> {
  switch (m.op) {
    case 'mount': {
      const vault = createVaultClient({ addr: m.addr!, token: m.token! });
      const mount = await mountSecretFs({ vault, path: m.path!, mountpoint: m.mountpoint!, options: parseFsOptions(m.options ?? {}), audit, mountName: m.path, kernelCache: m.kernel, prefetch: m.prefetch });
      mounts.set(mount.mountpoint, mount);
      return { mountpoint: mount.mountpoint };
    }
    case 'clear':
      mountOf(m).store.clear();
      return {};
    case 'stats':
      return mountOf(m).store.stats();
    case 'requests':
      // The worker set-ups are round trips to JS too (outside the handlers): counted with them.
      return { ...mountOf(m).handlers.requestCounts(), worker_setup: mountOf(m).fuseWorkerSetups() };
    case 'unmount': {
      const mount = mountOf(m);
      mounts.delete(mount.mountpoint);
      await mount.unmount();
      return {};
    }
    case 'rss':
      return { rss: process.memoryUsage().rss };
    default:
      throw new Error(`unknown op ${m.op}`);
  }
}

function mountOf(m: Msg): SecretFsMount {
  const mount = mounts.get(m.mountpoint ?? '');
  if (!mount) throw new Error(`not mounted here: ${m.mountpoint}`);
  return mount;
}

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await Promise.allSettled([...mounts.values()].map((mount) => mount.unmount()));
  await audit?.close();
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.on('disconnect', () => void stop());
process.on('message', (m: Msg) => {
  handle(m).then(
    (result) => process.send!({ id: m.id, ok: true, result }),
    (err: Error) => process.send!({ id: m.id, ok: false, error: err.message }),
  );
});
process.send!({ id: 0, ok: true, result: { ready: true } });
