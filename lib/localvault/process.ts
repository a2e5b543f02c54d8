import { get as httpGet, request as httpRequest } from 'node:http';
import { get as httpsGet, request as httpsRequest } from 'node:https';
import { builtCliEntry } from '../version.js';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError, UsageError } from '../errors.js';
import { createLogger } from '../log.js';
import type { Paths } from '../paths.js';
import { ensurePrivateDir, readOptionalFile, writePrivateFile } from '../private-files.js';
import { DEFAULT_STORE_ADDR } from './address.js';
import { ROOT_TOKEN_FILE, type StoreLogger } from './core.js';
import { createStoreServer } from './server.js';
import { ENGINE_FILE, Engine } from './engine.js';
import { openStoreKey } from './storage.js';
import { daemonEnv } from '../daemon/env.js';
import { startDetached, stopDaemon } from '../daemon/background.js';
import { logTail, releasePidFile, runningPid, writePidFile } from '../daemon/process.js';
import { storeDaemon } from '../daemon/daemons.js';

/**
 * Running the embedded store as a process: in the foreground (`server serve`), in the background
 * (`server start`, detached, logging to the store log), stopping it by the pid in its pid file,
 * reporting its status and printing the shell environment that points the vault CLI at it.
 */

/** The root token file of the store under these paths. */
export function storeRootTokenFile(paths: Paths): string {
  return join(paths.storeDir, ROOT_TOKEN_FILE);
}

/** The audit log of the store under these paths. */
export function storeAuditLog(paths: Paths): string {
  return join(paths.storeDir, 'audit.log');
}

/** Splits an address like http://127.0.0.1:8282 into host and port (port 0 allowed). */
export function parseStoreAddr(addr: string, tls = false): { host: string; port: number } {
  let url: URL;
  try {
    url = new URL(addr);
  } catch {
    throw new UsageError(`invalid store address: ${addr}`, { hint: 'use the form http://127.0.0.1:8282' });
  }
  if (tls && url.protocol === 'https:') {
    // https:// names the TLS listener that --tls-cert/--tls-key set up.
  } else if (url.protocol === 'https:') {
    throw new UsageError(`an https:// store address needs --tls-cert and --tls-key: ${addr}`, { hint: 'give both, or use an http:// address such as http://127.0.0.1:8282' });
  } else if (url.protocol !== 'http:') throw new UsageError(`the embedded store serves plain HTTP on a local address: ${addr}`, { hint: 'use an http:// address such as http://127.0.0.1:8282' });
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  return { host, port };
}

/** TLS files of the store's listener (Vault's tls_cert_file, tls_key_file, tls_client_ca_file). */
export interface StoreTlsFiles {
  certFile: string;
  keyFile: string;
  /** Require client certificates signed by this CA (mutual TLS). */
  clientCaFile?: string;
}

/** The arguments `startStoreInBackground` runs the CLI with. */
export function storeServeArgs(addr: string, tls?: StoreTlsFiles): string[] {
  const args = ['server', 'serve', '--addr', addr];
  if (tls) {
    args.push('--tls-cert', tls.certFile, '--tls-key', tls.keyFile);
    if (tls.clientCaFile) args.push('--tls-client-ca', tls.clientCaFile);
  }
  return args;
}

/** Reads the listener's PEM files; a missing or unreadable one is a StoreError naming it. */
export async function readStoreTls(files: StoreTlsFiles): Promise<{ cert: string; key: string; clientCa?: string }> {
  const read = async (file: string, what: string) => {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw new StoreError(`cannot read the TLS ${what} ${file}: ${(err as Error).message}`);
    }
  };
  return {
    cert: await read(files.certFile, 'certificate (--tls-cert)'),
    key: await read(files.keyFile, 'key (--tls-key)'),
    ...(files.clientCaFile ? { clientCa: await read(files.clientCaFile, 'client CA (--tls-client-ca)') } : {}),
  };
}

/** The pid in the pid file when that process is alive and is a store (not a reused pid), else undefined. */
export async function readStorePid(paths: Paths): Promise<number | undefined> {
  return runningPid(storeDaemon(paths));
}

async function readAddr(paths: Paths): Promise<string | undefined> {
  return (await readOptionalFile(paths.storeAddrFile))?.trim() || undefined;
}

/** sys/health of a store, or null when it does not answer within the timeout. */
async function fetchHealth(address: string, timeoutMs = 2000): Promise<{ initialized: boolean; sealed: boolean; version: string } | null> {
  // A liveness probe of our own local store, which carries no secret: over TLS the certificate
  // is not verified here (the store may use a private CA this process does not know).
  return new Promise((resolve) => {
    const url = new URL('/v1/sys/health', address);
    const get = url.protocol === 'https:' ? httpsGet : httpGet;
    const req = get(url, { timeout: timeoutMs, ...(url.protocol === 'https:' ? { rejectUnauthorized: false } : {}) }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        try {
          const body = JSON.parse(text) as { initialized: boolean; sealed: boolean; version: string };
          resolve({ initialized: body.initialized, sealed: body.sealed, version: body.version });
        } catch {
          resolve(null);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/** What `server status` reports. */
export interface StoreStatus {
  running: boolean;
  pid: number | null;
  address: string | null;
  health: { initialized: boolean; sealed: boolean; version: string } | null;
  rootTokenFile: string;
}

/** The store's status: pid from the pid file, address from the address file, health over HTTP. */
export async function storeStatus(paths: Paths): Promise<StoreStatus> {
  const pid = (await readStorePid(paths)) ?? null;
  const address = pid !== null ? ((await readAddr(paths)) ?? null) : null;
  const health = address ? await fetchHealth(address) : null;
  return { running: pid !== null, pid, address, health, rootTokenFile: storeRootTokenFile(paths) };
}

/** A store running in this process. */
export interface ServedStore {
  address: string;
  pid: number;
  /** Resolves once the store has stopped (after stop()). */
  stopped: Promise<void>;
  /** Stops the store and removes its pid and address files. */
  stop(): Promise<void>;
}

/**
 * Runs the store in the foreground of this process: writes the address file (with the real port
 * when given port 0) and the pid file; stop() closes cleanly and removes both. The caller decides
 * when to stop (the command layer on SIGTERM, SIGINT or the docker CLI's plugin socket). Logs go
 * to the store log file.
 */
export async function serveStore(paths: Paths, opts: { addr?: string; log?: StoreLogger; tls?: StoreTlsFiles } = {}): Promise<ServedStore> {
  const { host, port } = parseStoreAddr(opts.addr ?? DEFAULT_STORE_ADDR, opts.tls !== undefined);
  const running = await readStorePid(paths);
  if (running !== undefined && running !== process.pid) {
    throw new StoreError(`the embedded store is already running (pid ${running})`, { hint: 'stop it with `docker secretfs server stop`' });
  }
  await ensurePrivateDir(paths.home);
  await ensurePrivateDir(paths.runDir);
  const log = opts.log ?? createLogger({ file: paths.storeLogFile, component: 'store' });
  let server;
  try {
    const tls = opts.tls ? await readStoreTls(opts.tls) : undefined;
    server = await createStoreServer({ dataDir: paths.storeDir, host, port, auditLog: storeAuditLog(paths), log, tls });
  } catch (err) {
    const failure =
      (err as NodeJS.ErrnoException).code === 'EADDRINUSE'
        ? new StoreError(`the store address ${opts.addr ?? DEFAULT_STORE_ADDR} is already in use`, { cause: err, hint: 'choose another with --addr, e.g. http://127.0.0.1:0' })
        : err;
    log.error('the store cannot start', { error: (failure as Error).message, hint: (failure as StoreError).hint });
    throw failure;
  }
  // The pid file first: the address file is the readiness signal startStoreInBackground waits for.
  await writePidFile(paths.storePidFile, process.pid);
  await writePrivateFile(paths.storeAddrFile, server.address + '\n');
  // How to start this store again (the real port, when it was given port 0): the hint a command
  // gives once it has died. Kept after a stop: it names no secret, and the next start rewrites it.
  await writePrivateFile(paths.storeStartFile, JSON.stringify({ args: storeServeArgs(server.address, opts.tls).slice(2) }) + '\n');
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      try {
        await server.close();
      } finally {
        // Only remove the files if they are still ours.
        await releasePidFile(paths.storePidFile, process.pid, [paths.storeAddrFile]);
        log.info('store stopped');
        resolveStopped();
      }
    })();
    return stopping;
  };
  return { address: server.address, pid: process.pid, stopped, stop };
}

/**
 * The store process's environment: the caller's, less the Vault credentials and client settings
 * that mean nothing to a server (the store never needs a caller's token, and must not keep one),
 * and less the docker CLI's plugin variables (daemonEnv).
 */
export function storeEnv(env: NodeJS.ProcessEnv, home: string): NodeJS.ProcessEnv {
  const out = daemonEnv(env, ['VAULT_TOKEN', 'SECRETFS_VAULT_TOKEN', 'VAULT_ROLE_ID', 'VAULT_SECRET_ID']);
  out.SECRETFS_HOME = home;
  return out;
}

/** Options of startStoreInBackground. */
export interface StartOptions {
  addr?: string;
  /** The command to run instead of `node dist/cli/main.js server serve --addr <addr>` (tests). */
  command?: { file: string; args: string[]; cwd?: string };
  /** How long to wait for sys/health (default 15 s). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Listen with TLS. */
  tls?: StoreTlsFiles;
}

/**
 * Starts the store as a detached process logging to the store log, and waits until sys/health
 * answers. Returns the running store when one is already up.
 */
export async function startStoreInBackground(paths: Paths, opts: StartOptions = {}): Promise<{ address: string; pid: number; alreadyRunning: boolean }> {
  const existing = await readStorePid(paths);
  if (existing !== undefined) {
    const address = await readAddr(paths);
    if (address && (await fetchHealth(address))) return { address, pid: existing, alreadyRunning: true };
    throw new StoreError(`the embedded store is already running (pid ${existing}) but does not answer${address ? ` at ${address}` : ''}`, { hint: 'stop it with `docker secretfs server stop`' });
  }
  const addr = opts.addr ?? DEFAULT_STORE_ADDR;
  parseStoreAddr(addr, opts.tls !== undefined);
  await ensurePrivateDir(paths.home);
  await rm(paths.storeAddrFile, { force: true });
  const command = opts.command ?? { file: process.execPath, args: [builtCliEntry(), ...storeServeArgs(addr, opts.tls)] };
  let address: string | undefined;
  const started = await startDetached({
    spec: storeDaemon(paths),
    command: command.file,
    args: command.args,
    cwd: command.cwd,
    env: storeEnv(opts.env ?? process.env, paths.home),
    // With mutual TLS this process has no client certificate: the address file (written once the
    // listener is up) is the readiness signal then.
    ready: async () => {
      address = await readAddr(paths);
      return address !== undefined && (opts.tls?.clientCaFile ? true : (await fetchHealth(address, 1000)) !== null);
    },
    timeoutMs: opts.timeoutMs ?? 15_000,
    pollMs: 50,
  });
  if (started.outcome === 'ready') return { address: address!, pid: started.pid, alreadyRunning: false };
  const tail = await logTail(paths.storeLogFile, 5);
  throw new StoreError(
    started.outcome === 'exited' ? `the embedded store exited during start (exit code ${started.error ? -1 : started.code})` : 'the embedded store did not answer in time',
    { hint: tail ? `last lines of ${paths.storeLogFile}:\n${tail}` : `see ${paths.storeLogFile}` },
  );
}

/** Stops the background store (SIGTERM by the pid in its pid file; SIGKILL after `timeoutMs`) and waits for it to exit. */
export async function stopStore(paths: Paths, opts: { timeoutMs?: number } = {}): Promise<{ stopped: boolean; pid: number | null }> {
  const result = await stopDaemon(storeDaemon(paths), { graceMs: opts.timeoutMs ?? 10_000, leftovers: [paths.storeAddrFile] });
  return result.stopped ? { stopped: true, pid: result.pid! } : { stopped: false, pid: null };
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The two `export` lines that point the vault CLI (and secretfs) at the embedded store. */
export async function renderStoreEnv(paths: Paths): Promise<string> {
  const address = (await readAddr(paths)) ?? DEFAULT_STORE_ADDR;
  const token = (await readOptionalFile(storeRootTokenFile(paths)))?.trim();
  if (!token) {
    throw new StoreError(`no root token file at ${storeRootTokenFile(paths)}`, { hint: 'start the store once with `docker secretfs server start`' });
  }
  return `export VAULT_ADDR=${shellQuote(address)}\nexport VAULT_TOKEN=${shellQuote(token)}\n`;
}

/** What `server compact` reports. */
export interface CompactReport {
  /** Whether the running store compacted itself (else the stopped store's files were compacted here). */
  online: boolean;
  bytesBefore: number;
  bytesAfter: number;
  ms: number;
  records: number;
}

/** POSTs sys/storage/compact to the running store with its root token (loopback; TLS not verified, as fetchHealth). */
function postCompact(address: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL('/v1/sys/storage/compact', address);
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = request(
      url,
      { method: 'POST', headers: { 'X-Vault-Token': token }, timeout: 600_000, ...(url.protocol === 'https:' ? { rejectUnauthorized: false } : {}) },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('the store did not answer within 10 minutes')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * A compacting copy of the store's database (bounds how long deleted values linger in its free
 * pages and log): a running store does it itself while it keeps serving; a stopped store's files
 * are compacted in this process.
 */
export async function compactStore(paths: Paths): Promise<CompactReport> {
  const pid = await readStorePid(paths);
  const address = pid !== undefined ? await readAddr(paths) : undefined;
  if (pid !== undefined && address) {
    const token = (await readOptionalFile(storeRootTokenFile(paths)))?.trim();
    if (!token) throw new StoreError(`no root token file at ${storeRootTokenFile(paths)}`, { hint: 'compaction needs the root token the store wrote when it was created' });
    const res = await postCompact(address, token);
    if (res.status !== 200) throw new StoreError(`the store refused to compact (HTTP ${res.status}): ${res.body.trim()}`);
    const d = (JSON.parse(res.body) as { data: { bytes_before: number; bytes_after: number; duration_ms: number; records: number } }).data;
    return { online: true, bytesBefore: d.bytes_before, bytesAfter: d.bytes_after, ms: d.duration_ms, records: d.records };
  }
  const file = join(paths.storeDir, ENGINE_FILE);
  if (!existsSync(file)) throw new StoreError(`no store database at ${file}`, { hint: 'start the store once with `docker secretfs server start`' });
  const engine = Engine.open(paths.storeDir, await openStoreKey(paths.storeDir, [ENGINE_FILE]));
  try {
    engine.readAll(); // every record is checked before the copy replaces the file
    const r = await engine.compact();
    return { online: false, bytesBefore: r.bytesBefore, bytesAfter: r.bytesAfter, ms: r.ms, records: r.records };
  } finally {
    await engine.close();
  }
}
