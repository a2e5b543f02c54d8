import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { allowPath } from '../lib/access/boundary.js';
import { callDriver } from '../lib/driver/client.js';
import { provisionDriverCredential } from '../lib/driver/driver-policy.js';
import { resolvePaths, type Paths } from '../lib/paths.js';
import { createVaultClient } from '../lib/vault/client.js';
import type { BenchContext } from './context.js';
import { REPO_ROOT } from './native.js';
import { rssMbOf, type BenchStore } from './store.js';
import { cmd, stopChild, waitFor } from './util.js';

/** The path below which the bench's drivers may create volumes (every group's secrets are there). */
export const BENCH_ALLOWED_PATH = 'secret/bench';

/** The real volume driver (`docker-secretfs driver serve`) under a bench-only name and home. */
export interface BenchDriver {
  name: string;
  pid: number;
  paths: Paths;
  env: NodeJS.ProcessEnv;
  /** POSTs to the driver's socket as dockerd does; throws on a non-empty Err. */
  call<T = Record<string, unknown>>(route: string, body?: unknown, timeoutMs?: number): Promise<T>;
  rssMb(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Provisions a driver credential as `init` does (driver policy, volume token role, an orphan
 * driver token in a 0600 file, secret/bench allowed) in a temp SECRETFS_HOME, then starts `node dist/cli/main.js driver
 * serve` in the foreground as our child, named sfsbench<random>, with its socket in the plugin dir of
 * the bench's private dockerd (never /run/docker/plugins of the user's engine). Stopped by PID
 * (SIGTERM: it unmounts its volumes and removes its socket).
 */
export async function startBenchDriver(ctx: BenchContext, store: BenchStore, label: string): Promise<BenchDriver> {
  const name = `sfsbench${randomBytes(4).toString('hex')}`;
  const dockerd = await ctx.dockerd();
  // The home lives under the private dockerd's root so its FUSE mounts reach that dockerd; the socket goes to its plugin dir.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SECRETFS_HOME: join(dockerd.homeDir(), label),
    SECRETFS_DRIVER_NAME: name,
    SECRETFS_PLUGIN_DIR: dockerd.pluginDir,
    ...dockerd.env,
    NO_COLOR: '1',
  };
  delete env.VAULT_TOKEN;
  delete env.VAULT_ADDR;
  const paths = resolvePaths(env);
  const admin = createVaultClient({ addr: store.address, token: store.token });
  await provisionDriverCredential(admin, paths);
  // As an administrator does with `docker secretfs allow secret/bench`: volumes the driver creates
  // (docker volume create -d, the scale and rotation groups) may serve only allowed paths.
  await allowPath(admin, BENCH_ALLOWED_PATH);
  const child: ChildProcess = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'cli', 'main.js'), 'driver', 'serve'], { env, stdio: ['ignore', 'ignore', 'pipe'], cwd: '/' });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const stop = ctx.cleanup.add(`stop the driver ${name} (pid ${child.pid})`, async () => {
    await stopChild(child, 20_000);
    // A driver killed with SIGKILL leaves its mounts: take them down lazily.
    const mounts = await cmd('sh', ['-c', `grep -F ' ${paths.mountRoot}/' /proc/self/mounts | cut -d' ' -f2`]);
    for (const mp of mounts.stdout.split('\n').filter(Boolean)) await cmd('fusermount', ['-u', '-z', mp]);
  });
  await waitFor(`the driver socket ${paths.driverSocket}`, async () => {
    if (child.exitCode !== null) throw new Error(`the driver exited ${child.exitCode}: ${stderr.trim()}`);
    await callDriver(paths.driverSocket, '/Plugin.Activate', undefined, 1000);
    return true;
  }, 30_000, 100);
  return {
    name,
    pid: child.pid!,
    paths,
    env,
    call: (route, body = {}, timeoutMs = 30_000) => callDriver(paths.driverSocket, route, body, timeoutMs),
    rssMb: () => rssMbOf(child.pid!),
    stop,
  };
}
