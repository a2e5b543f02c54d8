import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { ensureTestImage } from '../harness/docker-image.js';
import type { BenchContext } from './context.js';
import { REPO_ROOT } from './native.js';
import type { BenchStore } from './store.js';
import { median, mustCmd, round, sleep, timeCommand } from './util.js';

const SECRET_PATH = 'secret/bench/cli';

/** One command's median wall time next to its baseline's, from the same interleaved rounds. */
export interface CommandTiming {
  command: string;
  baseline: string;
  ms: number;
  baseline_ms: number;
  ratio: number;
  /** The ceiling for ratio. */
  target: number;
}

/** What one invocation of a command asked of Vault (the store's audit log) and of Docker (a counting proxy). */
export interface RequestCount {
  command: string;
  vault_requests: number;
  /** METHOD path of each Vault request, in order (the CLI's and the driver's). */
  vault: string[];
  docker_requests: number;
  /** METHOD path of each Docker Engine API request (the docker CLI's and ours). */
  docker: string[];
}

export interface CommandsResult {
  runs: number;
  timings: CommandTiming[];
  /** From exec of `docker-secretfs secretfs run` (the launcher: its fast lane) to the moment `docker run` starts, median ms. */
  run_startup_ms: number;
  /** The same for `node dist/cli/main.js run` (the full command, which the lane falls back to). */
  run_full_startup_ms: number;
  /** CPU seconds (user + sys) of `docker secretfs run -- IMAGE true` and of `docker run --rm IMAGE true`, all processes, medians. */
  run_cpu_s: number;
  docker_run_cpu_s: number;
  requests: RequestCount[];
}

/** CPU seconds (user + sys) a command and all its children used, from bash's `times`. */
async function cpuSeconds(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const script = '"$@" >/dev/null 2>&1 </dev/null || exit $?; times';
  const r = await timeCommand('bash', ['-c', script, 'bash', file, ...args], { env });
  // The second line is the children's: "0m0.123s 0m0.045s".
  const children = r.stdout.trim().split('\n')[1] ?? '';
  const secs = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (secs.length !== 2) throw new Error(`unexpected output of times: ${JSON.stringify(r.stdout)}`);
  return secs[0] + secs[1];
}

/**
 * A unix socket in front of dockerd's that counts the Engine API requests passing through it
 * (request lines at the start of each request on each connection).
 */
async function startCountingProxy(target: string, socket: string): Promise<{ lines: string[]; close(): Promise<void> }> {
  const lines: string[] = [];
  const server = net.createServer((client) => {
    const upstream = net.connect(target);
    let head = '';
    client.on('data', (chunk: Buffer) => {
      head = (head + chunk.toString('latin1')).slice(-65536);
      for (const m of head.matchAll(/(?:^|\r\n)(GET|POST|PUT|DELETE|HEAD) (\/\S*) HTTP\/1\.[01]\r\n/g)) lines.push(`${m[1]} ${m[2].replace(/^\/v[\d.]+\//, '/').split('?')[0]}`);
      head = head.slice(head.lastIndexOf('\r\n\r\n') + 1);
    });
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => server.listen(socket, resolve).once('error', reject));
  return {
    lines,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Audit log lines (METHOD path) added since `from` bytes, once the log has stopped growing. */
async function auditSince(store: BenchStore, from: number): Promise<string[]> {
  let last = -1;
  let text = '';
  for (let i = 0; i < 30; i++) {
    text = (await readFile(store.auditLog, 'utf8').catch(() => '')).slice(from);
    if (text.length === last) break;
    last = text.length;
    await sleep(150);
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { method?: string; path?: string })
    .map((r) => `${r.method ?? '?'} ${r.path ?? '?'}`);
}

async function auditSize(store: BenchStore): Promise<number> {
  return (await readFile(store.auditLog, 'utf8').catch(() => '')).length;
}

/**
 * The CLI's own cost, as a user meets it: `init` against the bench's store with the driver on
 * the private dockerd, the plugin shim in a temporary DOCKER_CONFIG, then interleaved rounds of
 * get, put, ls, --help and version through `docker secretfs` against `node -e 0`, the metadata
 * command against `node -e 0`, and `docker secretfs run -- IMAGE true` against
 * `docker run --rm IMAGE true`. Then one counted invocation of each command: Vault requests from
 * the store's audit log, Docker requests through a counting proxy socket.
 */
export async function measureCommands(ctx: BenchContext, store: BenchStore): Promise<CommandsResult> {
  const runs = ctx.quick ? 5 : 15;
  const dockerd = await ctx.dockerd();
  const main = join(REPO_ROOT, 'dist', 'cli', 'main.js');
  const node = process.execPath;
  const home = join(dockerd.homeDir(), 'commands');
  const dockerConfig = join(ctx.dir, 'commands-docker-config');
  await mkdir(join(dockerConfig, 'cli-plugins'), { recursive: true });
  const shim = join(dockerConfig, 'cli-plugins', 'docker-secretfs');
  await mustCmd(node, [join(REPO_ROOT, 'scripts', 'plugin-shim.mjs'), shim]);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...dockerd.env,
    DOCKER_CONFIG: dockerConfig,
    SECRETFS_HOME: home,
    SECRETFS_DRIVER_NAME: `sfsbench${randomBytes(4).toString('hex')}`,
    SECRETFS_PLUGIN_DIR: dockerd.pluginDir,
    VAULT_ADDR: store.address,
    VAULT_TOKEN: store.token,
    NO_COLOR: '1',
  };
  ctx.progress.step('commands: init against the store, driver on the private dockerd');
  const stopDriver = ctx.cleanup.add('stop the commands driver', async () => {
    await timeCommand(node, [main, 'driver', 'stop'], { env }).catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  });
  await mustCmd(node, [main, 'init', '--yes', '--vault-addr', store.address, '--default-path', SECRET_PATH], { env, timeoutMs: 120_000 });
  const image = await ensureTestImage(undefined, env);
  await mustCmd(node, [main, 'put', SECRET_PATH, 'db-password'], { env, input: 'bench-value' });

  const cases: Record<string, { file: string; args: string[]; input?: string; expect?: string }> = {
    node: { file: node, args: ['-e', '0'] },
    metadata: { file: shim, args: ['docker-cli-plugin-metadata'] },
    get: { file: 'docker', args: ['secretfs', 'get', SECRET_PATH, 'db-password'], expect: 'bench-value' },
    put: { file: 'docker', args: ['secretfs', 'put', SECRET_PATH, 'other'], input: 'x' },
    ls: { file: 'docker', args: ['secretfs', 'ls', 'secret/bench'] },
    help: { file: 'docker', args: ['secretfs', '--help'] },
    version: { file: 'docker', args: ['secretfs', 'version'] },
    docker_run: { file: 'docker', args: ['run', '--rm', image, 'true'] },
    secretfs_run: { file: 'docker', args: ['secretfs', 'run', '--', image, 'true'] },
  };
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  const once = async (name: string) => {
    const c = cases[name];
    const r = await timeCommand(c.file, c.args, { env, input: c.input });
    if (c.expect !== undefined && r.stdout !== c.expect) throw new Error(`${name} printed ${JSON.stringify(r.stdout.slice(0, 80))}`);
    return r.ms;
  };
  for (const name of Object.keys(cases)) await once(name);
  for (let i = 0; i < runs; i++) {
    ctx.progress.step(`commands: round ${i + 1}/${runs}`);
    // Reverse the order every other round, so neither side of a pair always runs first.
    const names = i % 2 === 0 ? Object.keys(cases) : Object.keys(cases).reverse();
    for (const name of names) times[name].push(await once(name));
  }
  const m = (k: string) => median(times[k]);
  const pair = (name: string, command: string, base: string, baseline: string, target: number): CommandTiming => ({
    command,
    baseline,
    ms: round(m(name), 1),
    baseline_ms: round(m(base), 1),
    ratio: round(m(name) / m(base), 3),
    target,
  });
  const timings = [
    pair('secretfs_run', 'docker secretfs run -- IMAGE true', 'docker_run', 'docker run --rm IMAGE true', 1.5),
    pair('get', `docker secretfs get ${SECRET_PATH} db-password`, 'node', 'node -e 0', 2),
    pair('put', `docker secretfs put ${SECRET_PATH} other (stdin)`, 'node', 'node -e 0', 2),
    pair('ls', 'docker secretfs ls secret/bench', 'node', 'node -e 0', 2),
    pair('help', 'docker secretfs --help', 'node', 'node -e 0', 2),
    pair('version', 'docker secretfs version', 'node', 'node -e 0', 2),
    pair('metadata', 'docker-secretfs docker-cli-plugin-metadata', 'node', 'node -e 0', 1.2),
  ];

  // Start-up of run, from exec to the docker run child starting (a docker "binary" that notes when it
  // starts): through the launcher, as the docker CLI runs it (the fast lane: a run above recorded
  // the path), and the full command (our CLI directly, which the lane falls back to).
  ctx.progress.step('commands: run start-up and CPU');
  const mark = join(ctx.dir, 'commands-run-mark');
  const wrapper = join(ctx.dir, 'commands-docker-wrapper');
  await writeFile(wrapper, `#!/bin/sh\ndate +%s%N > "${mark}"\nexec docker "$@"\n`);
  await chmod(wrapper, 0o755);
  const startup = async (file: string, args: string[]) => {
    const before = BigInt(Date.now()) * 1_000_000n;
    await timeCommand(file, args, { env: { ...env, DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND: wrapper } });
    const at = BigInt((await readFile(mark, 'utf8')).trim());
    return Number(at - before) / 1e6;
  };
  const startups: number[] = [];
  const fullStartups: number[] = [];
  for (let i = 0; i < runs; i++) {
    startups.push(await startup(shim, ['secretfs', 'run', '--', image, 'true']));
    fullStartups.push(await startup(node, [main, 'run', '--', image, 'true']));
  }
  const cpuRuns = ctx.quick ? 3 : 7;
  const runCpu: number[] = [];
  const dockerCpu: number[] = [];
  for (let i = 0; i < cpuRuns; i++) {
    runCpu.push(await cpuSeconds('docker', cases.secretfs_run.args, env));
    dockerCpu.push(await cpuSeconds('docker', cases.docker_run.args, env));
  }

  ctx.progress.step('commands: requests per command');
  const proxySocket = join(ctx.dir, 'commands-docker-count.sock');
  const proxy = await startCountingProxy(dockerd.host.replace(/^unix:\/\//, ''), proxySocket);
  const closeProxy = ctx.cleanup.add('close the counting proxy', () => proxy.close());
  const countedEnv = { ...env, DOCKER_HOST: `unix://${proxySocket}` };
  const requests: RequestCount[] = [];
  for (const name of ['get', 'put', 'ls', 'version', 'secretfs_run']) {
    const c = cases[name];
    const from = await auditSize(store);
    const dockerFrom = proxy.lines.length;
    await timeCommand(c.file, c.args, { env: countedEnv, input: c.input });
    const vault = await auditSince(store, from);
    const docker = proxy.lines.slice(dockerFrom);
    requests.push({ command: `docker secretfs ${c.args.slice(1).join(' ')}`, vault_requests: vault.length, vault, docker_requests: docker.length, docker });
  }
  await closeProxy();
  await stopDriver();
  return {
    runs,
    timings,
    run_startup_ms: round(median(startups), 1),
    run_full_startup_ms: round(median(fullStartups), 1),
    run_cpu_s: round(median(runCpu), 3),
    docker_run_cpu_s: round(median(dockerCpu), 3),
    requests,
  };
}
