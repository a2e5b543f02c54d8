#!/usr/bin/env node
/**
 * `npm run bench [-- --json] [-- --quick] [-- --only GROUP,...]`: measures docker secretfs
 * against its floors in one run on this machine, prints a table (or one JSON object with
 * --json; progress goes to stderr) and writes docs/benchmarks.md from the same run.
 * Groups: cli, commands, reads (with the floors), coalesce, growth, store, docker, swarm, scale, rotation. --only skips the others
 * and does not write docs/benchmarks.md (a partial run is no report).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchContext } from './context.js';
import { measureCliStart, type CliStartResult } from './cli-start.js';
import { measureCommands } from './commands.js';
import { measureDockerRun, type DockerRunResult } from './docker-run.js';
import { floorMountOptions } from './floors.js';
import { measureGrowth, measureStoreThroughput } from './growth.js';
import { startMountHost, type MountHost } from './mounts.js';
import { buildNativeTools, missingBuildPackages, REPO_ROOT } from './native.js';
import { measureCoalescing, measureCold, measureColdAfterIdle, measureFloorFirstRead, measureOneVersion, measureVaultGet, measureWarm } from './reads.js';
import { checkTargets, gitCommit, machineInfo, renderText, writeBenchmarksDoc, type BenchResult } from './report.js';
import { measureRotation } from './rotation.js';
import { measureScale, type ScaleResult } from './scale.js';
import { measureSwarmTaskStart } from './swarm.js';
import { startBenchStore, type BenchStore } from './store.js';
import { measureStorage } from './storage.js';
import { Cleanup, createProgress, round, tempDir, type Progress } from './util.js';
import { startTestDockerd, type TestDockerd } from '../harness/dockerd.js';

const GROUPS = ['cli', 'commands', 'reads', 'coalesce', 'growth', 'store', 'storage', 'docker', 'swarm', 'scale', 'rotation'] as const;
type Group = (typeof GROUPS)[number];

interface Args {
  json: boolean;
  quick: boolean;
  only?: Set<Group>;
  writeDocs: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { json: false, quick: false, writeDocs: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--quick') args.quick = true;
    else if (a === '--no-docs') args.writeDocs = false;
    else if (a === '--only' || a.startsWith('--only=')) {
      const list = a.includes('=') ? a.slice(7) : argv[++i];
      const groups = (list ?? '').split(',').filter(Boolean);
      for (const g of groups) if (!(GROUPS as readonly string[]).includes(g)) throw new Error(`unknown group ${g}: one of ${GROUPS.join(', ')}`);
      args.only = new Set(groups as Group[]);
      args.writeDocs = false;
    } else if (a === '-h' || a === '--help') {
      process.stdout.write('usage: npm run bench [-- --json] [--quick] [--only cli,commands,reads,coalesce,growth,store,storage,docker,swarm,scale,rotation] [--no-docs]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (see --help)`);
  }
  return args;
}

/** How each number is taken; written under the tables of docs/benchmarks.md. */
const NOTES = [
  'Warm read: /work/shared/tools/fuse-floor/readbench (open, read 4 KiB, close in a loop) on a 30-byte secret file of a secretfs volume with default options, served by its own process with an audit log of opens (bench/mount-child.ts, as the driver serves volumes); the same bytes through fuse-floor/memfs (libfuse 2 in C) mounted with the -o options secretfs uses, taken from lib/fs/mount.ts (fuseMountOptions of cachePlan(default cache_ttl)) minus fsname/subtype; and on tmpfs. 7 rounds (3 with --quick) alternate the three, 10000 reads each after 1000 to fill the caches; each figure is the median over rounds of the round\'s p50 (p99).',
  'Cold read: the first open of a file on a fresh volume, as a container\'s first read right after VolumeDriver.Mount: 60 volumes (20 with --quick) in batches of 5, each batch read right after it is mounted, so the kernel\'s caches are empty; every mount reads the mounted secret while FUSE mounts (the prefetch of lib/fs/mount.ts), so the open finds the value in the store\'s cache (checked: store reads during the opens, from the filesystems\' counters; 0 per open when every value was fetched at its Mount). One bench/probe.c process opens, reads and closes each file of a batch once, back to back, timing each. Floor (the issue\'s): a direct HTTP GET of the same secret from the same store over one keep-alive connection (node:http, p50 of 2000) plus the warm memfs p50. Next to it, in the same batches and taking turns: the open that fetches (volumes mounted without the prefetch, so the open waits for the GET, as every open does once cache_ttl ran out; checked: one store read per open), and the cold ls (opendir, readdir, closedir of a fresh volume: the secret was prefetched, its sub-paths are LISTed at the ls; floor: a direct LIST of the same kind, 404 with no sub-paths). details.reads also has the first read on a fresh memfs, and a cold read after 1.1 s idle (cache_ttl expired) next to a GET after the same idle time.',
  'Cold read requests: per first access, the FUSE requests that reached the mount\'s JS handlers (lib/fs/handlers.ts counts each operation; getattr also answers libfuse\'s lookup; flush and opendir are answered by libfuse in C; worker_setup is fuse-native setting up one of libfuse\'s worker threads at its first request, a round trip to JS outside the handlers), the store reads made during the accesses, and per volume the store\'s requests from its audit log from before the mount to after the access.',
  'One version per open: whole-file reads (bench/probe.c readall, 64 KiB reads to EOF) of a 30 B, a 256 KiB and a 2 MiB value of one secret through a secretfs mount as it mounts (direct_io) and through a second mount of the same secret with the page cache (auto_cache, as mounts were before: torn reads), cache_ttl=1h on both; the 30 B file also on memfs both ways. 5 rounds (3 with --quick) alternate the order; medians of the rounds\' p50. The ratio is direct_io over the page cache.',
  'Node FUSE floors (in the analysis): bench/node-floor-child.ts, fuse-native with synchronous in-memory handlers and the same -o options, in three shapes (open and release handlers, open only, neither), read in the same rounds as the warm read: what fuse-native itself costs, apart from secretfs.',
  'Coalescing: 100 threads (bench/probe.c burst) released together by a barrier open a secret never read before, on a fresh mount; counted in the store\'s audit log (GETs of that secret). Reported: the larger of "all 100 open the same file" and "each opens a different key of the secret".',
  'The embedded store (lib/localvault createStoreServer) runs in its own process on 127.0.0.1 with its audit log on; every client uses keep-alive.',
  'docker run: `docker run --rm -v VOL:/s IMAGE cat /s/db-password` with a secretfs volume of a bench-only driver (SECRETFS_DRIVER_NAME=sfsbench...) against a local volume holding the same file, interleaved, medians; the image is the local busybox image of harness/docker-image.ts (no registry pulls).',
  'Swarm task start: on a private single-node swarm, a service whose --secret is a secretfs Swarm secret (the bench driver reads it from the store at assignment) against the same service with a plain Swarm secret holding the same bytes; per run one new service each, interleaved, the time from the task\'s CreatedAt to the timestamp of its running state (swarm\'s own clock), medians.',
  'CLI start: `docker-secretfs docker-cli-plugin-metadata` through the plugin shim that install.sh writes (scripts/plugin-shim.mjs answers it without starting Node) against `node -e 0`, and `docker secretfs --help` with the plugin installed in a temporary DOCKER_CONFIG; interleaved, medians.',
  'CLI commands: `init` against the bench\'s store (driver on the private dockerd), the plugin shim in a temporary DOCKER_CONFIG, then interleaved rounds (the order reversed every other round) of `docker secretfs get/put/ls/--help/version` against `node -e 0`, the metadata command (through the shim, as the docker CLI runs it before every plugin command) against `node -e 0`, and `docker secretfs run -- IMAGE true` against `docker run --rm IMAGE true`, medians (the first round\'s run records the path, so the timed runs take the launcher\'s fast lane, scripts/plugin-shim.sh, as a user\'s repeated runs do). Run start-up: the launcher\'s `secretfs run` and the full command (`node dist/cli/main.js run`), each with a docker "binary" that notes the time it starts. CPU: bash `times` of each run and its children. Requests: one invocation each, Vault requests counted in the store\'s audit log, Docker Engine API requests through a counting unix socket in front of the private dockerd.',
  'Scale: 1, 10, 50 and 200 volumes created and mounted through the driver\'s socket (POST /VolumeDriver.Create, /VolumeDriver.Mount), Mount latency p50/p99 of each step, driver VmRSS from /proc/<pid>/status, and one read of a file in every mounted volume.',
  'Rotation: a volume with watch=1s, on_change=signal:HUP, on_change_debounce=0 (so the figure is the watch\'s own plus the 1.5 s the action waits for the kernel\'s attribute cache of the default cache_ttl (1 s and a margin); the default debounce, 5 s, replaces that second) and a busybox container whose HUP trap prints the file; 20 rotations (8 with --quick), each written at a random point of the interval, timed from the write (a store POST) to the handler\'s line arriving on `docker logs -f`. Reads per interval: 50 volumes with watch=1s on one secret, mounted through the driver\'s socket; GETs of its metadata/ or data/ in the store\'s audit log over 10 intervals.',
  'Growth: bench/probe.c reads whole files (readall), lists directories (readdir) and runs N reader threads for a fixed time (loop); cold values as for the cold read.',
];

type Measured = Omit<BenchResult, 'targets' | 'duration_s' | 'machine' | 'date' | 'commit'>;

/** Every measured number, null until a group sets it; details and errors are filled as the groups run. */
function emptyResult(quick: boolean): Measured {
  return {
    schema: 1,
    quick,
    warm_p50_us: null,
    warm_p99_us: null,
    tmpfs_p50_us: null,
    fuse_floor_p50_us: null,
    fuse_floor_p99_us: null,
    warm_vs_floor: null,
    cold_p50_us: null,
    cold_p99_us: null,
    vault_get_p50_us: null,
    cold_vs_floor: null,
    cold_fetch_p50_us: null,
    cold_fetch_vs_floor: null,
    cold_ls_p50_us: null,
    vault_list_p50_us: null,
    cold_fuse_requests: null,
    cold_vault_requests: null,
    one_version_2mib_ratio: null,
    coalesce_vault_reads: null,
    docker_run_secretfs_ms: null,
    docker_run_local_ms: null,
    docker_run_ratio: null,
    swarm_task_secretfs_ms: null,
    swarm_task_plain_ms: null,
    swarm_task_ratio: null,
    node_ms: null,
    metadata_ms: null,
    metadata_vs_node: null,
    docker_secretfs_help_ms: null,
    mount_p50_ms: null,
    driver_rss_mb: null,
    scale_reads_ok: null,
    commands: null,
    rotation_signal_p50_ms: null,
    rotation_p50_vs_watch: null,
    rotation_reads_per_interval: null,
    details: {},
    scale: [],
    growth: {},
    storage: null,
    errors: {},
  };
}

/** SIGINT, SIGTERM and SIGHUP run the cleanup (mounts, processes, the private dockerd) before exiting 130. */
function cleanUpOnSignals(progress: Progress, cleanup: Cleanup): void {
  const onSignal = (sig: NodeJS.Signals) => {
    progress.note(`\n${sig}: cleaning up`);
    void cleanup.run((m) => progress.note(m)).then(() => process.exit(130));
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
}

/** What every group gets: the cleanup, the built tools, a temp dir, progress, and a private dockerd started on first use. */
async function createBenchContext(cleanup: Cleanup, progress: Progress, quick: boolean): Promise<BenchContext> {
  if (process.getuid?.() !== 0) progress.note('note: FUSE mounts with allow_other and the Docker volume plugin socket need root; expect failures');
  if (!existsSync('/dev/fuse')) throw new Error('/dev/fuse is missing: FUSE is needed for every read measurement');
  const dir = await tempDir(cleanup, 'secretfs-bench-');
  progress.step('building the C floor (memfs, readbench) and bench/probe.c');
  const tools = await buildNativeTools();
  let dockerd: Promise<TestDockerd> | undefined;
  return {
    cleanup,
    tools,
    dir,
    progress,
    quick,
    dockerd() {
      if (!dockerd) {
        progress.step('starting a private dockerd');
        dockerd = startTestDockerd();
        const started = dockerd;
        // Registered now, so it runs after (and stops the engine under) every driver started later.
        cleanup.add('stop the private dockerd', async () => (await started.catch(() => undefined))?.stop());
      }
      return dockerd;
    },
  };
}

/** Runs the wanted groups in their order (quiet machine first); a failing group is recorded and the run goes on. */
async function measureGroups(ctx: BenchContext, args: Args, r: Measured): Promise<void> {
  const { progress, cleanup } = ctx;
  const { details, errors } = r;
  const wants = (g: Group) => !args.only || args.only.has(g);
  const group = async (name: Group, fn: () => Promise<void>) => {
    if (!wants(name)) return;
    progress.step(`${name}...`);
    try {
      await fn();
    } catch (err) {
      errors[name] = (err as Error).message;
      progress.note(`${name}: FAILED: ${(err as Error).message}`);
    }
  };
  const warmN = args.quick ? 5000 : 10000;

  // CLI start first, while nothing else runs on the machine.
  await group('cli', async () => {
    const c: CliStartResult = await measureCliStart(ctx);
    r.node_ms = c.node_ms;
    r.metadata_ms = c.metadata_ms;
    r.metadata_vs_node = c.metadata_vs_node;
    r.docker_secretfs_help_ms = c.docker_secretfs_help_ms;
    details.cli = c;
  });

  let store: BenchStore | undefined;
  let host: MountHost | undefined;
  let warmFile: string | undefined;
  const needsStore = ['commands', 'reads', 'coalesce', 'growth', 'store', 'docker', 'swarm', 'scale', 'rotation'].some((g) => wants(g as Group));
  if (needsStore) {
    progress.step('starting the embedded store and the mount host');
    store = await startBenchStore(cleanup, `${ctx.dir}/store`);
    host = await startMountHost(cleanup, store.address, store.token, `${ctx.dir}/fs-audit.log`);
  }

  // The CLI's commands next, on a machine that is still quiet (the mount host serves nothing yet).
  await group('commands', async () => {
    r.commands = await measureCommands(ctx, store!);
  });

  await group('reads', async () => {
    progress.step('reads: warm');
    const w = await measureWarm(ctx, host!, store!, warmN, args.quick ? 3 : 7);
    warmFile = w.file;
    r.warm_p50_us = w.warm_p50_us;
    r.warm_p99_us = w.warm_p99_us;
    r.fuse_floor_p50_us = w.floor_p50_us;
    r.fuse_floor_p99_us = w.floor_p99_us;
    r.tmpfs_p50_us = w.tmpfs_p50_us;
    progress.step('reads: first read on a fresh memfs');
    const firstFloor = await measureFloorFirstRead(ctx, args.quick ? 10 : 20);
    progress.step('reads: direct GET from the store');
    const g = await measureVaultGet(store!, 'bench/warm', args.quick ? 500 : 2000);
    r.vault_get_p50_us = round(g.p50_us, 1);
    progress.step('reads: cold');
    const c = await measureCold(ctx, host!, store!, args.quick ? 20 : 60);
    r.cold_p50_us = c.fresh.p50_us;
    r.cold_p99_us = c.fresh.p99_us;
    r.cold_fuse_requests = c.fresh.fuse_requests_total_per_open;
    r.cold_vault_requests = c.fresh.vault_reads_per_open;
    r.cold_fetch_p50_us = c.fetch.p50_us;
    r.cold_ls_p50_us = c.ls.p50_us;
    r.vault_list_p50_us = round(g.list_p50_us, 1);
    progress.step('reads: cold after idle');
    const idle = await measureColdAfterIdle(ctx, host!, store!, 3, args.quick ? 3 : 6);
    progress.step('reads: one version per open (direct_io against the page cache)');
    const oneVersion = await measureOneVersion(ctx, host!, store!, args.quick ? 3 : 5);
    r.one_version_2mib_ratio = oneVersion.rows[oneVersion.rows.length - 1].ratio;
    details.reads = {
      memfs_options: floorMountOptions(),
      warm: w,
      vault_get: g,
      cold: c,
      memfs_first_read: firstFloor,
      // The cold read against a floor that is cold too (a first read on a fresh memfs): context, not the target.
      cold_vs_cold_floor: round(c.fresh.p50_us / (g.p50_us + firstFloor.p50_us), 2),
      cold_after_idle: idle,
      one_version: oneVersion,
    };
  });

  await group('coalesce', async () => {
    progress.step('coalescing: 100 concurrent cold opens');
    const c = await measureCoalescing(ctx, host!, store!, 100);
    if (c.failures > 0) throw new Error(`${c.failures} of the concurrent opens failed`);
    r.coalesce_vault_reads = Math.max(c.same_file, c.distinct_keys);
    details.coalesce = c;
  });

  await group('growth', async () => {
    if (!warmFile) {
      const w = await measureWarm(ctx, host!, store!, 1000, 1);
      warmFile = w.file;
    }
    Object.assign(r.growth, await measureGrowth(ctx, host!, store!, warmFile));
  });

  await group('store', async () => {
    r.growth.store = await measureStoreThroughput(ctx, store!);
  });

  // A store of its own, filled to 256 MB: write cost and reads as the stored total grows, compaction.
  await group('storage', async () => {
    r.storage = await measureStorage(ctx);
  });

  // The mount host is done; docker and scale run the real driver against the same store.
  await host?.stop();

  await group('docker', async () => {
    const d: DockerRunResult = await measureDockerRun(ctx, store!);
    r.docker_run_secretfs_ms = d.secretfs_ms;
    r.docker_run_local_ms = d.local_ms;
    r.docker_run_ratio = d.ratio;
    details.docker_run = d;
  });

  await group('swarm', async () => {
    const w = await measureSwarmTaskStart(ctx, store!);
    r.swarm_task_secretfs_ms = w.secretfs_ms;
    r.swarm_task_plain_ms = w.plain_ms;
    r.swarm_task_ratio = w.ratio;
    details.swarm_task_start = w;
  });

  await group('scale', async () => {
    const s: ScaleResult = await measureScale(ctx, store!);
    r.scale = s.rows;
    const top = s.rows[s.rows.length - 1];
    if (top) {
      r.mount_p50_ms = top.mount_p50_ms;
      r.driver_rss_mb = top.driver_rss_mb;
      r.scale_reads_ok = s.rows.every((x) => x.reads_ok === x.reads_tried);
    }
    details.scale = s.details;
  });

  await group('rotation', async () => {
    const rot = await measureRotation(ctx, store!);
    r.rotation_signal_p50_ms = rot.signal_p50_ms;
    r.rotation_p50_vs_watch = rot.signal_p50_vs_watch;
    r.rotation_reads_per_interval = rot.reads_per_interval;
    details.rotation = rot;
  });
}

/** The ratios to the floors, from the medians the groups measured. */
function computeRatios(r: Measured): void {
  if (r.warm_p50_us !== null && r.fuse_floor_p50_us) r.warm_vs_floor = round(r.warm_p50_us / r.fuse_floor_p50_us, 2);
  if (r.cold_p50_us !== null && r.vault_get_p50_us !== null && r.fuse_floor_p50_us !== null) {
    r.cold_vs_floor = round(r.cold_p50_us / (r.vault_get_p50_us + r.fuse_floor_p50_us), 2);
  }
  if (r.cold_fetch_p50_us !== null && r.vault_get_p50_us !== null && r.fuse_floor_p50_us !== null) {
    r.cold_fetch_vs_floor = round(r.cold_fetch_p50_us / (r.vault_get_p50_us + r.fuse_floor_p50_us), 2);
  }
}

/** The result as a table (or JSON with --json) on stdout, and docs/benchmarks.md unless the run was partial. */
async function report(result: BenchResult, args: Args, progress: Progress): Promise<void> {
  progress.note('');
  if (args.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else process.stdout.write(renderText(result));
  if (args.writeDocs) {
    const file = await writeBenchmarksDoc(result, NOTES);
    progress.note(`wrote ${file}`);
  }
}

/** The run by phase: preconditions, the user's engine baseline, the groups, cleanup, ratios, report, the engine again. */
async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const progress = createProgress(process.stderr);
  const cleanup = new Cleanup();
  cleanUpOnSignals(progress, cleanup);

  const missing = await missingBuildPackages();
  if (missing.length) {
    process.stderr.write(`bench: the C floor cannot be built: needs ${missing.join(', ')} (apt-get install -y ${missing.join(' ')}; ./install.sh installs them)\n`);
    return 1;
  }
  const started = Date.now();
  // The bench must leave the user's engine as it found it: timed at the start and at the end.
  const engineBaseline = join(tmpdir(), `secretfs-bench-engine-${process.pid}.json`);
  await userEngineCheck('--before', engineBaseline);
  const r = emptyResult(args.quick);
  const date = new Date().toISOString();
  const [machine, commit] = await Promise.all([machineInfo(), gitCommit()]);

  try {
    await measureGroups(await createBenchContext(cleanup, progress, args.quick), args, r);
  } catch (err) {
    r.errors.run = (err as Error).message;
    progress.note(`bench: ${(err as Error).message}`);
  } finally {
    progress.step('cleaning up');
    await cleanup.run((m) => progress.note(m));
  }

  computeRatios(r);
  const partial: Omit<BenchResult, 'targets'> = { ...r, date, commit, machine, duration_s: Math.round((Date.now() - started) / 1000) };
  await report({ ...partial, targets: checkTargets(partial) }, args, progress);
  const engineOk = (await userEngineCheck('--after', engineBaseline)) === 0;
  await rm(engineBaseline, { force: true });
  if (!engineOk) process.stderr.write("bench: the user's Docker engine answers docker volume inspect in more than 2 s (see above)\n");
  return Object.keys(r.errors).length > 0 || !engineOk ? 1 : 0;
}

/** scripts/user-engine-check.mjs (shared with scripts/test.mjs); its report goes to stderr, so --json keeps stdout. */
function userEngineCheck(mode: '--before' | '--after', file: string): Promise<number> {
  return new Promise((resolve) => {
    spawn(process.execPath, [join(REPO_ROOT, 'scripts', 'user-engine-check.mjs'), mode, file], { stdio: ['ignore', 2, 2] })
      .on('error', () => resolve(1))
      .on('close', (code) => resolve(code ?? 1));
  });
}

process.exitCode = await main().catch((err: Error) => {
  process.stderr.write(`bench: ${err.message}\n`);
  return 1;
});
