/**
 * A private dockerd for tests and the benchmark, so they never touch the user's Docker engine.
 *
 *   const d = await startTestDockerd();            // or: await sharedTestDockerd() (one per process)
 *   d.root        // T: a temp dir (/tmp/sfs-dockerd-XXXX) holding everything below
 *   d.host        // 'unix://T/docker.sock'
 *   d.env         // { DOCKER_HOST: d.host }: pass it to every docker / docker-secretfs child
 *   d.pluginDir   // T/plugins: the driver's SECRETFS_PLUGIN_DIR (this dockerd's /run/docker/plugins)
 *   d.homeDir()   // a fresh dir under T for a SECRETFS_HOME (its FUSE mounts reach this dockerd)
 *   d.docker(args)// runs the docker CLI against this dockerd
 *   await d.restart()  // stop + start on the same data-root (restart-on-boot tests)
 *   await d.stop()     // removes its containers (and swarm), stops dockerd, unmounts, removes T
 *
 * How: T is bind-mounted onto itself and made rshared in the host's mount namespace. dockerd runs
 * in a new mount namespace (`unshare --mount --propagation unchanged`) whose copy of T is made
 * rslave, so FUSE mounts a driver (a host process) makes under T appear in dockerd's namespace,
 * while dockerd's own mounts (overlay, netns) stay in its namespace and end with it. In that
 * namespace T/plugins is bind-mounted on /run/docker/plugins: this dockerd sees the test drivers'
 * sockets and the system dockerd never does, so no dead test driver is ever asked about a volume
 * by the user's engine. The dockerd has its own --data-root, --exec-root (its containerd's state
 * too), --pidfile, socket and an empty --config-file; --bridge=none and no iptables: containers
 * get only a loopback interface (network "none" by default; "host" works too).
 *
 * dockerd also runs in a network namespace of its own (`unshare --net`, only its loopback up):
 * started with --bridge=none in the host's, dockerd deletes the host's `docker0` (moby removes
 * the default bridge interface when the bridge is disabled), which breaks the user's engine for
 * every container on the default network until it restarts; a swarm's docker_gwbridge and
 * ingress stay in there too. With { hostNetwork: true } (a managed plugin, which has the engine's
 * network, must reach the store on the host's 127.0.0.1) it runs in the host's network namespace
 * with a bridge of its own (`sfsbr<hex>`, 198.18.N.1/24, RFC 2544's test range) instead of
 * --bridge=none, deleted at stop.
 *
 * The wrapper shell reads its stdin (a pipe from this process): when this process dies for any
 * reason the pipe closes and the wrapper stops dockerd, so even a SIGKILLed test leaves no
 * engine running. stop() is bounded (SIGTERM, then SIGKILL after 20 s). Needs root, `unshare`
 * (util-linux) and `dockerd` (docker.io); `testDockerdMissing()` names what is missing.
 *
 * With { swarm: true } the engine is a single-node swarm manager on 127.0.0.1 (free ports),
 * left (--force) at stop. The local busybox test image (TEST_IMAGE) and the same image tagged
 * `alpine` (the tutorials' image name) are imported unless { images: false }.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { ensureTestImage, TEST_IMAGE } from './docker-image.js';
import { runCommand, type CliResult } from './run-cli.js';

/** A running private dockerd (see the top of this file). */
export interface TestDockerd {
  root: string;
  host: string;
  env: { DOCKER_HOST: string };
  pluginDir: string;
  dataRoot: string;
  /** dockerd's pid (from its pidfile); changes on restart. */
  pid: number;
  swarm: boolean;
  /** A fresh directory under T for a SECRETFS_HOME. */
  homeDir(): string;
  /** `docker ARGS` against this dockerd. */
  docker(args: string[], options?: { timeoutMs?: number; input?: string }): Promise<CliResult>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Options of startTestDockerd. */
export interface TestDockerdOptions {
  swarm?: boolean;
  /** Import TEST_IMAGE and tag it `alpine` (default true). */
  images?: boolean;
  /** In the host's network namespace, with a bridge of its own (see the top of this file). */
  hostNetwork?: boolean;
}

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;
const ROOT_PREFIX = '/tmp/sfs-dockerd-';

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Why a private dockerd cannot run here (undefined when it can). */
export function testDockerdMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'a private dockerd needs root (mount namespaces, bind mounts)';
  if (!which('dockerd')) return 'dockerd (apt-get install -y docker.io)';
  if (!which('unshare')) return 'unshare (apt-get install -y util-linux)';
  if (!which('ip')) return 'ip (apt-get install -y iproute2)';
  if (!existsSync('/dev/fuse')) return '/dev/fuse';
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Mount points at or below dir, deepest first (from this process's mount table). */
function mountsUnder(dir: string): string[] {
  const unescape = (s: string) => s.replace(/\\(\d{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => unescape(l.split(' ')[4] ?? ''))
    .filter((mp) => mp === dir || mp.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
}

/** The file naming the bridge of a { hostNetwork } dockerd, so that whoever removes T deletes it. */
const BRIDGE_FILE = 'bridge';

/**
 * Creates a bridge of the host for a { hostNetwork } dockerd, on a /24 of 198.18.0.0/16 no other
 * interface uses: checked again once its address is on, since another test process may have taken
 * the same /24 meanwhile (then both may back off, and pick again at random).
 */
function createBridge(root: string): string {
  const name = `sfsbr${randomBytes(4).toString('hex')}`;
  writeFileSync(join(root, BRIDGE_FILE), name);
  execFileSync('ip', ['link', 'add', name, 'type', 'bridge'], { stdio: 'pipe' });
  const addresses = () => execFileSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' }).split('\n');
  for (let attempt = 0; attempt < 5; attempt++) {
    const free = [...Array(256).keys()].filter((n) => !addresses().some((l) => l.includes(` 198.18.${n}.`)));
    if (free.length === 0) break;
    const n = free[Math.floor(Math.random() * free.length)];
    execFileSync('ip', ['addr', 'add', `198.18.${n}.1/24`, 'dev', name], { stdio: 'pipe' });
    const others = addresses().filter((l) => l.includes(` 198.18.${n}.`) && !l.includes(` ${name} `));
    if (others.length === 0) {
      execFileSync('ip', ['link', 'set', name, 'up'], { stdio: 'pipe' });
      return name;
    }
    execFileSync('ip', ['addr', 'del', `198.18.${n}.1/24`, 'dev', name], { stdio: 'pipe' });
  }
  throw new Error('no free /24 in 198.18.0.0/16 for a private dockerd\'s bridge');
}

/** Deletes the bridge T names, if any (only one of ours: `sfsbr` and hex). */
function deleteBridge(root: string): void {
  let name = '';
  try {
    name = readFileSync(join(root, BRIDGE_FILE), 'utf8').trim();
  } catch {
    return;
  }
  if (/^sfsbr[0-9a-f]{8}$/.test(name)) spawnSync('ip', ['link', 'del', name], { stdio: 'ignore', timeout: 10_000 });
}

/** Unmounts everything under dir (FUSE mounts a test left, then T's own bind mount), deletes its bridge and removes dir. */
function unmountAndRemove(dir: string): void {
  deleteBridge(dir);
  for (let round = 0; round < 5; round++) {
    const mounts = mountsUnder(dir);
    if (mounts.length === 0) break;
    for (const mp of mounts) {
      if (spawnSync('umount', [mp], { stdio: 'ignore', timeout: 10_000 }).status !== 0) spawnSync('umount', ['-l', mp], { stdio: 'ignore', timeout: 10_000 });
    }
  }
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** Stops a dockerd by pid: SIGTERM, then SIGKILL after the bound. Synchronous, for exit handlers too. */
function stopPidSync(pid: number): void {
  if (!pid || !alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (alive(pid) && Date.now() < deadline) sleepSync(100);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  const hard = Date.now() + 5_000;
  while (alive(pid) && Date.now() < hard) sleepSync(50);
}

async function stopPid(pid: number): Promise<void> {
  if (!pid || !alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  const hard = Date.now() + 5_000;
  while (alive(pid) && Date.now() < hard) await new Promise((r) => setTimeout(r, 50));
}

/**
 * Removes what an earlier, killed test process left: roots whose owner pid is gone (their dockerd
 * stopped with the owner's stdin pipe; the bind mount and the files stay until here).
 */
function reapOrphans(): void {
  for (const name of readdirSync('/tmp')) {
    const dir = `/tmp/${name}`;
    if (!dir.startsWith(ROOT_PREFIX)) continue;
    let owner = 0;
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
    } catch {
      continue; // not fully set up, or not ours
    }
    if (!owner || alive(owner)) continue;
    try {
      const pid = Number(readFileSync(join(dir, 'docker.pid'), 'utf8'));
      if (pid) stopPidSync(pid);
    } catch {
      /* no dockerd pid: it is gone */
    }
    unmountAndRemove(dir);
  }
}

function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A free UDP port in the range Docker accepts for --data-path-port (1024-49151). */
async function freeUdpPort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20_000 + Math.floor(Math.random() * 29_000);
    const ok = await new Promise<boolean>((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => resolve(false));
      s.bind(port, () => s.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free UDP port for the swarm data path');
}

const WRAPPER = `set -e
root="$1"; netns="$2"; shift 2
[ "$netns" != netns ] || ip link set lo up
mount --make-rslave "$root"
mkdir -p /run/docker/plugins
mount --bind "$root/plugins" /run/docker/plugins
exec 3<&0
dockerd "$@" </dev/null &
d=$!
# When the test process goes away (its pipe on our stdin closes), stop dockerd.
( read -r _ <&3 || true; kill -TERM "$d" 2>/dev/null || true ) &
w=$!
set +e
wait "$d"
rc=$?
kill "$w" 2>/dev/null
exit "$rc"
`;

/** Synchronous stops of every dockerd this process started, for exit and signals. */
const running = new Set<() => void>();
let handlersInstalled = false;

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const stopAll = () => {
    for (const stop of running) stop();
    running.clear();
  };
  process.once('exit', stopAll);
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    const onSignal = () => {
      // Someone else handles this signal (the bench's cleanup): it ends with process.exit, and 'exit' stops us.
      if (process.listenerCount(signal) > 1) return;
      process.removeListener(signal, onSignal);
      stopAll();
      process.exit(code);
    };
    process.on(signal, onSignal);
  }
}

interface Engine {
  child: ChildProcess;
  pid: number;
}

/** How a dockerd's network is set up: a namespace of its own, or the host's with this bridge. */
type Network = { netns: true } | { netns: false; bridge: string };

async function launch(root: string, network: Network): Promise<Engine> {
  const host = `unix://${join(root, 'docker.sock')}`;
  rmSync(join(root, 'docker.pid'), { force: true });
  const args = [
    '--mount', ...(network.netns ? ['--net'] : []), '--propagation', 'unchanged', 'sh', '-c', WRAPPER, 'sfs-dockerd', root, network.netns ? 'netns' : 'host',
    '--config-file', join(root, 'daemon.json'),
    '--data-root', join(root, 'data'),
    '--exec-root', join(root, 'exec'),
    '--pidfile', join(root, 'docker.pid'),
    '-H', host,
    network.netns ? '--bridge=none' : `--bridge=${network.bridge}`, '--iptables=false', '--ip6tables=false', '--ip-masq=false', '--ip-forward=false', '--userland-proxy=false',
    '--log-level', 'warn',
  ];
  const log = join(root, 'dockerd.log');
  const fd = openSync(log, 'a');
  const child = spawn('unshare', args, { stdio: ['pipe', fd, fd], detached: true });
  closeSync(fd);
  // Neither the child nor its pipe keeps this process alive; the pipe closes when we exit.
  child.unref();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `exited ${code ?? signal}`));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (exited) break;
    const r = await runCommand('docker', ['version', '--format', '{{.Server.Version}}'], { env: { DOCKER_HOST: host }, timeoutMs: 10_000 });
    if (r.code === 0 && existsSync(join(root, 'docker.pid'))) {
      const pid = Number(readFileSync(join(root, 'docker.pid'), 'utf8'));
      if (pid) return { child, pid };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-20).join('\n') : '';
  child.stdin?.end();
  throw new Error(`the private dockerd ${exited ?? `did not answer within ${START_TIMEOUT_MS / 1000} s`} (${log}):\n${tail}`);
}

/** Starts a private dockerd (see the top of this file). Throws with the reason when it cannot. */
export async function startTestDockerd(opts: TestDockerdOptions = {}): Promise<TestDockerd> {
  const missing = testDockerdMissing();
  if (missing) throw new Error(`cannot start a private dockerd: needs ${missing}`);
  reapOrphans();
  installExitHandlers();
  const root = mkdtempSync(ROOT_PREFIX);
  try {
    execFileSync('mount', ['--bind', root, root], { stdio: 'pipe' });
    execFileSync('mount', ['--make-rshared', root], { stdio: 'pipe' });
  } catch (err) {
    unmountAndRemove(root);
    throw err;
  }
  for (const d of ['plugins', 'data', 'exec', 'homes']) mkdirSync(join(root, d), { mode: 0o700 });
  writeFileSync(join(root, 'daemon.json'), '{}\n');
  writeFileSync(join(root, 'owner.pid'), String(process.pid));
  let network: Network;
  try {
    network = opts.hostNetwork ? { netns: false, bridge: createBridge(root) } : { netns: true };
  } catch (err) {
    unmountAndRemove(root);
    throw err;
  }
  const host = `unix://${join(root, 'docker.sock')}`;
  const env = { DOCKER_HOST: host };
  const docker = (args: string[], o: { timeoutMs?: number; input?: string } = {}) => runCommand('docker', args, { env, timeoutMs: o.timeoutMs ?? 120_000, input: o.input });
  let engine: Engine | undefined;
  let stopped = false;

  const removeContainers = async () => {
    if (opts.swarm) {
      const services = await docker(['service', 'ls', '-q'], { timeoutMs: 30_000 });
      const ids = services.stdout.split('\n').filter(Boolean);
      if (ids.length) await docker(['service', 'rm', ...ids], { timeoutMs: 60_000 });
    }
    const ps = await docker(['ps', '-aq'], { timeoutMs: 30_000 });
    const ids = ps.stdout.split('\n').filter(Boolean);
    if (ids.length) await docker(['rm', '-f', ...ids], { timeoutMs: 60_000 });
  };
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    // Best effort, bounded: what a process that is exiting can still do.
    spawnSync('sh', ['-c', 'ids=$(docker ps -aq); [ -z "$ids" ] || docker rm -f $ids; [ "$SWARM" != 1 ] || docker swarm leave --force'], {
      env: { ...process.env, ...env, SWARM: opts.swarm ? '1' : '0' },
      stdio: 'ignore',
      timeout: 30_000,
    });
    if (engine) stopPidSync(engine.pid);
    engine?.child.stdin?.destroy();
    unmountAndRemove(root);
  };
  running.add(stopSync);

  const d: TestDockerd = {
    root,
    host,
    env,
    pluginDir: join(root, 'plugins'),
    dataRoot: join(root, 'data'),
    pid: 0,
    swarm: !!opts.swarm,
    homeDir() {
      return mkdtempSync(join(root, 'homes', 'h-'));
    },
    docker,
    async restart() {
      if (!engine) throw new Error('the private dockerd is not running');
      await stopPid(engine.pid);
      engine.child.stdin?.end();
      engine = await launch(root, network);
      d.pid = engine.pid;
    },
    async stop() {
      if (stopped) return;
      try {
        if (engine && alive(engine.pid)) {
          await removeContainers().catch(() => undefined);
          if (opts.swarm) await docker(['swarm', 'leave', '--force'], { timeoutMs: 60_000 });
          await stopPid(engine.pid);
        }
      } finally {
        stopSync();
        running.delete(stopSync);
      }
    },
  };
  try {
    engine = await launch(root, network);
    d.pid = engine.pid;
    if (opts.swarm) {
      const port = await freeTcpPort();
      const dataPort = await freeUdpPort();
      const r = await docker(['swarm', 'init', '--advertise-addr', '127.0.0.1', '--listen-addr', `127.0.0.1:${port}`, '--data-path-port', String(dataPort)], { timeoutMs: 60_000 });
      if (r.code !== 0) throw new Error(`docker swarm init failed: ${r.stderr.trim()}`);
    }
    if (opts.images !== false) {
      await ensureTestImage(TEST_IMAGE, env);
      const tag = await docker(['tag', TEST_IMAGE, 'alpine:latest']);
      if (tag.code !== 0) throw new Error(`docker tag ${TEST_IMAGE} alpine: ${tag.stderr.trim()}`);
    }
  } catch (err) {
    await d.stop();
    throw err;
  }
  return d;
}

let shared: Promise<TestDockerd> | undefined;

/**
 * One private dockerd for the whole test process (lazy; started on first use, stopped when the
 * process exits, whether the tests passed or not). Suites use it unless they restart dockerd or
 * need swarm: those start their own.
 */
export function sharedTestDockerd(): Promise<TestDockerd> {
  if (!shared) {
    shared = startTestDockerd();
    // A failed start is not cached as the answer for the next suite forever: it is reported once per caller.
    shared.catch(() => undefined);
  }
  return shared;
}

/** A random name for things created on a dockerd (volumes, containers) by a test. */
export function randomName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}
