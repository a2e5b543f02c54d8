import type { Test } from 'uvu';
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolvePaths, type Paths } from '../../lib/paths.js';
import { createStoreServer, type StoreServer } from '../../lib/localvault/server.js';
import { storeAuditLog, storeRootTokenFile } from '../../lib/localvault/process.js';

/**
 * The real embedded store for integration tests, in a fresh temporary SECRETFS_HOME.
 *
 * - `startTestStore()` runs the store in this process (createStoreServer on 127.0.0.1, port 0):
 *   fastest, for tests that talk to it over HTTP.
 * - `startTestStoreProcess()` runs it in a separate Node process (`test/helpers/serve-store.ts`
 *   under tsx), for tests whose own JS thread may block (in-process FUSE mounts) or that need to
 *   kill/restart a real store process.
 *
 * Both return `{ addr, rootToken, home, dataDir, paths, stop(), restart() }`. `stop()` stops the
 * store and deletes the temporary home; `restart()` stops and starts it again on the same address
 * with the same data. Pass `{ home }` to reuse a directory (it is then not deleted).
 */
export interface TestStore {
  /** e.g. http://127.0.0.1:40123 */
  addr: string;
  rootToken: string;
  /** The temporary SECRETFS_HOME. */
  home: string;
  /** The store's data directory (paths.storeDir). */
  dataDir: string;
  paths: Paths;
  /** The audit log file. */
  auditLog: string;
  /** pid of the store process (this process for startTestStore). */
  pid: number;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

/** Options of both helpers. */
export interface TestStoreOptions {
  /** Use this SECRETFS_HOME instead of a new temporary one (kept on stop). */
  home?: string;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

async function newHome(opts: TestStoreOptions): Promise<{ home: string; owned: boolean }> {
  if (opts.home) return { home: opts.home, owned: false };
  return { home: await mkdtemp(join(tmpdir(), 'secretfs-store-')), owned: true };
}

/** Runs the real store in this process on a random port. */
export async function startTestStore(opts: TestStoreOptions = {}): Promise<TestStore> {
  const { home, owned } = await newHome(opts);
  const paths = resolvePaths({ SECRETFS_HOME: home });
  let server: StoreServer = await createStoreServer({ dataDir: paths.storeDir, port: 0, auditLog: storeAuditLog(paths) });
  const port = server.port;
  const rootToken = (await readFile(storeRootTokenFile(paths), 'utf8')).trim();
  let stopped = false;
  return {
    addr: server.address,
    rootToken,
    home,
    dataDir: paths.storeDir,
    paths,
    auditLog: storeAuditLog(paths),
    pid: process.pid,
    async stop() {
      if (!stopped) await server.close();
      stopped = true;
      if (owned) await rm(home, { recursive: true, force: true });
    },
    async restart() {
      if (!stopped) await server.close();
      server = await createStoreServer({ dataDir: paths.storeDir, port, auditLog: storeAuditLog(paths) });
      stopped = false;
    },
  };
}

async function waitForAddr(paths: Paths, child: ChildProcess, timeoutMs = 20_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  child.once('exit', () => (exited = true));
  while (Date.now() < deadline && !exited) {
    try {
      const addr = (await readFile(paths.storeAddrFile, 'utf8')).trim();
      if (addr) {
        const res = await fetch(`${addr}/v1/sys/health`);
        if (res.ok) return addr;
      }
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(exited ? 'the store process exited during start' : 'the store process did not start in time');
}

function spawnStore(home: string, addr: string): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test/helpers/serve-store.ts'), addr], {
    cwd: REPO_ROOT,
    env: { ...process.env, SECRETFS_HOME: home },
    // The IPC channel lets the store notice when this process dies and stop by itself.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  }).on('spawn', function (this: ChildProcess) {
    this.channel?.unref();
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await done;
}

/** Runs the real store in a separate Node process (serve-store.ts under tsx) on a random port. */
export async function startTestStoreProcess(opts: TestStoreOptions = {}): Promise<TestStore> {
  const { home, owned } = await newHome(opts);
  const paths = resolvePaths({ SECRETFS_HOME: home });
  let child = spawnStore(home, 'http://127.0.0.1:0');
  const addr = await waitForAddr(paths, child);
  const rootToken = (await readFile(storeRootTokenFile(paths), 'utf8')).trim();
  const store: TestStore = {
    addr,
    rootToken,
    home,
    dataDir: paths.storeDir,
    paths,
    auditLog: storeAuditLog(paths),
    pid: child.pid!,
    async stop() {
      await stopChild(child);
      if (owned) await rm(home, { recursive: true, force: true });
    },
    async restart() {
      await stopChild(child);
      child = spawnStore(home, addr);
      await waitForAddr(paths, child);
      store.pid = child.pid!;
    },
  };
  return store;
}

/** node-vault's client (CommonJS), as tests use it: `vaultClient(addr, token)`. */
export function vaultClient(addr: string, token?: string): any {
  const factory = createRequire(import.meta.url)('node-vault') as (config: Record<string, unknown>) => any;
  return factory({ endpoint: addr, token, requestOptions: { timeout: 10_000 } });
}

/** Calls a node-vault method and returns its error's status and message (or fails when it resolves). */
export async function vaultError(p: Promise<unknown>): Promise<{ status: number | undefined; message: string; body: any }> {
  try {
    await p;
  } catch (err: any) {
    return { status: err?.response?.statusCode, message: String(err?.message), body: err?.response?.body };
  }
  throw new Error('expected the request to fail');
}

/** An object that stands for the value `get()` returns once a suite's `before` hook has run. */
function lateBound<T extends object>(get: () => T | undefined, what: string): T {
  const target = () => {
    const value = get();
    if (!value) throw new Error(`${what} is used before the suite's before hook started the store`);
    return value;
  };
  return new Proxy({} as T, {
    get(_t, prop) {
      const value = Reflect.get(target(), prop);
      return typeof value === 'function' ? value.bind(target()) : value;
    },
    has: (_t, prop) => Reflect.has(target(), prop),
  });
}

/**
 * The set-up every localvault integration suite shares: an in-process store (startTestStore)
 * started in `before` with a root node-vault client, an optional `setup` step, and the store
 * stopped (its home deleted) in `after`. The returned `store` and `vault` can be used in tests as
 * if they were the started store and client.
 */
export function storeSuite(test: Test, setup?: (store: TestStore, vault: any) => Promise<void>): { store: TestStore; vault: any } {
  let store: TestStore | undefined;
  let vault: any;
  test.before(async () => {
    store = await startTestStore();
    vault = vaultClient(store.addr, store.rootToken);
    await setup?.(store, vault);
  });
  test.after(async () => {
    await store?.stop();
  });
  return { store: lateBound(() => store, 'store'), vault: lateBound(() => vault, 'vault') };
}
