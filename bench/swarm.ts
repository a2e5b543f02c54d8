import { randomBytes } from 'node:crypto';
import { ensureBusyboxImage } from '../lib/docker/local-image.js';
import { allowSwarmPath } from '../lib/swarm/access.js';
import { createVaultClient } from '../lib/vault/client.js';
import { startTestDockerd } from '../harness/dockerd.js';
import type { BenchContext } from './context.js';
import { startBenchDriver } from './driver.js';
import { FLOOR_KEY, FLOOR_VALUE } from './floors.js';
import type { BenchStore } from './store.js';
import { cmd, median, mustCmd, round, waitFor } from './util.js';

const BENCH_IMAGE = 'secretfs-test/busybox:latest';

/** Task start of a service with a secretfs secret against the same service with a plain Swarm secret holding the same value. */
export interface SwarmTaskStartResult {
  secretfs_ms: number;
  plain_ms: number;
  ratio: number;
  runs: number;
  secretfs_all_ms: number[];
  plain_all_ms: number[];
}

/**
 * On a private single-node swarm (its own dockerd, swarm init on 127.0.0.1, left at cleanup):
 * the real driver serves a Swarm secret `--driver <bench driver>` reading the bench value; a
 * plain Swarm secret holds the same bytes. Each run creates one service per kind, `cat`ting its
 * secret then sleeping, and takes the task's own clock: from the task's CreatedAt to the
 * timestamp of its Running state (assignment, where the manager fetches a driver secret, plus
 * container create and start). Interleaved, the first task of each checked to print the value;
 * medians.
 */
export async function measureSwarmTaskStart(ctx: BenchContext, store: BenchStore): Promise<SwarmTaskStartResult> {
  const runs = ctx.quick ? 5 : 15;
  ctx.progress.step('swarm: starting a private single-node swarm');
  const dockerd = await startTestDockerd({ swarm: true, images: false });
  ctx.cleanup.add('stop the swarm dockerd', () => dockerd.stop());
  const env = { ...process.env, ...dockerd.env };
  const image = await ensureBusyboxImage(BENCH_IMAGE, 'docker', env);
  await store.put('bench/swarm', { [FLOOR_KEY]: FLOOR_VALUE });
  await allowSwarmPath(createVaultClient({ addr: store.address, token: store.token }), 'secret/bench/swarm');
  const driver = await startBenchDriver({ ...ctx, dockerd: async () => dockerd }, store, 'swarm');
  const tag = randomBytes(3).toString('hex');
  const sfsSecret = `sfs_${tag}`;
  const plainSecret = `plain_${tag}`;
  await mustCmd('docker', ['secret', 'create', '--driver', driver.name, '--label', 'secretfs.path=secret/bench/swarm', '--label', `secretfs.key=${FLOOR_KEY}`, sfsSecret], { env, timeoutMs: 60_000 });
  await mustCmd('docker', ['secret', 'create', plainSecret, '-'], { env, input: FLOOR_VALUE, timeoutMs: 60_000 });

  let n = 0;
  const taskStart = async (secret: string, check: boolean): Promise<number> => {
    const name = `bench-${tag}-${n++}`;
    await mustCmd('docker', ['service', 'create', '-d', '--no-resolve-image', '--name', name, '--secret', secret, image, 'sh', '-c', `cat /run/secrets/${secret}; exec sleep 3600`], { env, timeoutMs: 60_000 });
    try {
      const task = await waitFor(`the task of ${name} to run`, async () => {
        const ids = (await cmd('docker', ['service', 'ps', '-q', name], { env })).stdout.trim();
        if (!ids) return undefined;
        const t = JSON.parse((await cmd('docker', ['inspect', ids.split('\n')[0]], { env })).stdout)[0];
        if (t.Status?.State === 'failed' || t.Status?.State === 'rejected') throw new Error(`task ${t.Status.State}: ${t.Status.Err}`);
        return t.Status?.State === 'running' ? t : undefined;
      }, 60_000, 50);
      if (check) {
        const printed = await waitFor(`the output of ${name}`, async () => (await cmd('docker', ['service', 'logs', '--raw', name], { env })).stdout || undefined, 30_000, 100);
        if (printed !== FLOOR_VALUE) throw new Error(`${name} printed ${JSON.stringify(printed.slice(0, 80))}, not the value`);
      }
      return Date.parse(task.Status.Timestamp) - Date.parse(task.CreatedAt);
    } finally {
      await cmd('docker', ['service', 'rm', name], { env, timeoutMs: 60_000 });
    }
  };
  ctx.progress.step('swarm: warm-up');
  await taskStart(sfsSecret, true);
  await taskStart(plainSecret, true);
  const sfs: number[] = [];
  const plain: number[] = [];
  for (let i = 0; i < runs; i++) {
    ctx.progress.step(`swarm task start: ${i + 1}/${runs}`);
    if (i % 2 === 0) {
      sfs.push(await taskStart(sfsSecret, false));
      plain.push(await taskStart(plainSecret, false));
    } else {
      plain.push(await taskStart(plainSecret, false));
      sfs.push(await taskStart(sfsSecret, false));
    }
  }
  await driver.stop();
  return {
    secretfs_ms: round(median(sfs), 1),
    plain_ms: round(median(plain), 1),
    ratio: round(median(sfs) / median(plain), 3),
    runs,
    secretfs_all_ms: sfs.map((x) => round(x, 1)),
    plain_all_ms: plain.map((x) => round(x, 1)),
  };
}
