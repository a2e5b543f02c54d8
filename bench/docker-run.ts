import { randomBytes } from 'node:crypto';
import { ensureTestImage } from '../harness/docker-image.js';
import type { BenchContext } from './context.js';
import { startBenchDriver } from './driver.js';
import { FLOOR_KEY, FLOOR_VALUE } from './floors.js';
import type { BenchStore } from './store.js';
import { cmd, median, mustCmd, round } from './util.js';

/** docker run with a secretfs volume against a local volume holding the same file, medians in ms. */
export interface DockerRunResult {
  secretfs_ms: number;
  local_ms: number;
  ratio: number;
  runs: number;
  image: string;
  secretfs_all_ms: number[];
  local_all_ms: number[];
}

async function timedRun(env: NodeJS.ProcessEnv, args: string[], expect: string): Promise<number> {
  const start = process.hrtime.bigint();
  const r = await cmd('docker', args, { timeoutMs: 120_000, env });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  if (r.stdout !== expect) throw new Error(`docker ${args.join(' ')} printed ${JSON.stringify(r.stdout.slice(0, 100))}, expected the secret`);
  return ms;
}

/**
 * `docker run --rm -v VOL:/s IMAGE cat /s/db-password` with a secretfs volume (the real driver
 * over its socket, the volume created with `docker volume create -d`) against a local volume
 * holding the same file; after two warm-up runs each, interleaved, medians. The image is the
 * local busybox image of the e2e tests (docker import, never pulled). All of it on the bench's
 * private dockerd (ctx.dockerd()).
 */
export async function measureDockerRun(ctx: BenchContext, store: BenchStore): Promise<DockerRunResult> {
  const runs = ctx.quick ? 5 : 15;
  ctx.progress.step('docker run: local image');
  const dockerd = await ctx.dockerd();
  const env = { ...process.env, ...dockerd.env };
  const image = await ensureTestImage(undefined, env);
  await store.put('bench/docker', { [FLOOR_KEY]: FLOOR_VALUE });
  ctx.progress.step('docker run: starting the driver');
  const driver = await startBenchDriver(ctx, store, 'docker');
  const tag = randomBytes(3).toString('hex');
  const sfsVol = `sfsbench-sfs-${tag}`;
  const localVol = `sfsbench-local-${tag}`;
  // Only volumes that exist are removed: removing an unknown name makes dockerd ask every driver
  // it has met, and wait ~30 s for each one the bench has already stopped.
  const created: string[] = [];
  const removeVolumes = ctx.cleanup.add(`docker volume rm ${sfsVol} ${localVol}`, async () => {
    if (created.length) await cmd('docker', ['volume', 'rm', '-f', ...created.splice(0)], { timeoutMs: 60_000, env });
  });
  await mustCmd('docker', ['volume', 'create', '-d', driver.name, '-o', 'path=secret/bench/docker', sfsVol], { timeoutMs: 60_000, env });
  created.push(sfsVol);
  await mustCmd('docker', ['volume', 'create', localVol], { timeoutMs: 60_000, env });
  created.push(localVol);
  // The local volume gets the same bytes, written by a container (no host path of Docker's is touched).
  await mustCmd('docker', ['run', '--rm', '-e', `V=${FLOOR_VALUE}`, '-v', `${localVol}:/s`, image, 'sh', '-c', `printf '%s' "$V" > /s/${FLOOR_KEY}`], { timeoutMs: 60_000, env });
  const sfsArgs = ['run', '--rm', '-v', `${sfsVol}:/s`, image, 'cat', `/s/${FLOOR_KEY}`];
  const localArgs = ['run', '--rm', '-v', `${localVol}:/s`, image, 'cat', `/s/${FLOOR_KEY}`];
  for (let i = 0; i < 2; i++) {
    await timedRun(env, sfsArgs, FLOOR_VALUE);
    await timedRun(env, localArgs, FLOOR_VALUE);
  }
  const sfs: number[] = [];
  const local: number[] = [];
  for (let i = 0; i < runs; i++) {
    ctx.progress.step(`docker run: ${i + 1}/${runs}`);
    // Alternate which goes first, so neither side always runs right after the other.
    if (i % 2 === 0) {
      sfs.push(await timedRun(env, sfsArgs, FLOOR_VALUE));
      local.push(await timedRun(env, localArgs, FLOOR_VALUE));
    } else {
      local.push(await timedRun(env, localArgs, FLOOR_VALUE));
      sfs.push(await timedRun(env, sfsArgs, FLOOR_VALUE));
    }
  }
  // Removed while the driver still answers (Remove revokes the volume's token), then the driver stops.
  await removeVolumes();
  await driver.stop();
  return {
    secretfs_ms: round(median(sfs), 1),
    local_ms: round(median(local), 1),
    ratio: round(median(sfs) / median(local), 3),
    runs,
    image,
    secretfs_all_ms: sfs.map((x) => round(x, 1)),
    local_all_ms: local.map((x) => round(x, 1)),
  };
}
