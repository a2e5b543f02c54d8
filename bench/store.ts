import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cleanup, sleep, stopChild } from './util.js';

/** The embedded store as the bench uses it: its own process, a root token, a keep-alive client. */
export interface BenchStore {
  address: string;
  token: string;
  pid: number;
  auditLog: string;
  /** Writes a KV v2 secret (secret/data/<name>). */
  put(name: string, data: Record<string, unknown>): Promise<void>;
  /** Sends one request on a keep-alive connection; resolves to the status and body. */
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }>;
  /** How many KV reads of secret/data/<name> the store's audit log holds (it is flushed asynchronously, so this waits until stable). */
  countReads(name: string): Promise<number>;
  /** The number of records in the store's audit log now (a mark for auditSince). */
  auditMark(): Promise<number>;
  /** The requests the audit log recorded after `mark`, as `METHOD path` (waits until the asynchronously flushed log is stable). */
  auditSince(mark: number): Promise<string[]>;
  /** The store process's resident memory in MiB. */
  rssMb(): Promise<number>;
  stop(): Promise<void>;
}

/** A keep-alive agent with one socket: request after request reuses one connection, as a Vault client should. */
export function keepAliveAgent(maxSockets = 1): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets });
}

/** One HTTP request to the store with an agent; the body is read whole. */
export function storeRequest(agent: http.Agent, address: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
  const url = new URL(`/v1/${path}`, address);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        agent,
        headers: {
          'X-Vault-Token': token,
          ...(payload !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {}),
        },
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Resident memory of a process in MiB, from /proc/<pid>/status VmRSS. */
export async function rssMbOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Starts the embedded store (lib/localvault createStoreServer) in a child process on 127.0.0.1, port 0, data in dir. */
export async function startBenchStore(cleanup: Cleanup, dir: string): Promise<BenchStore> {
  const script = join(fileURLToPath(new URL('.', import.meta.url)), 'store-child.js');
  const auditLog = join(dir, 'audit.log');
  const child: ChildProcess = fork(script, [join(dir, 'data'), auditLog], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const stopNow = cleanup.add(`stop the store (pid ${child.pid})`, () => stopChild(child));
  const ready = await new Promise<{ address: string; rootTokenFile: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the store did not start within 20 s: ${stderr}`)), 20_000);
    child.once('message', (m: { op: string; address: string; rootTokenFile: string }) => {
      clearTimeout(timer);
      resolve(m);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the store exited (${code}): ${stderr.trim()}`));
    });
  });
  const token = (await readFile(ready.rootTokenFile, 'utf8')).trim();
  const agent = keepAliveAgent(8);
  cleanup.add('close the store client', () => agent.destroy());
  const request = (method: string, path: string, body?: unknown) => storeRequest(agent, ready.address, token, method, path, body);
  return {
    address: ready.address,
    token,
    pid: child.pid!,
    auditLog,
    request,
    async put(name, data) {
      const r = await request('POST', `secret/data/${name}`, { data });
      if (r.status !== 200 && r.status !== 204) throw new Error(`put secret/${name}: ${r.status} ${r.body}`);
    },
    async countReads(name) {
      const target = `secret/data/${name}`;
      let last = -1;
      for (let i = 0; i < 40; i++) {
        const text = await readFile(auditLog, 'utf8').catch(() => '');
        let n = 0;
        for (const line of text.split('\n')) {
          if (!line.includes(target)) continue;
          const rec = JSON.parse(line) as { path: string; operation: string; method: string };
          if (rec.path === target && rec.method === 'GET') n++;
        }
        if (n === last) return n;
        last = n;
        await sleep(100);
      }
      return last;
    },
    async auditMark() {
      return (await stableAudit(auditLog)).length;
    },
    async auditSince(mark) {
      return (await stableAudit(auditLog)).slice(mark).map((l) => {
        const rec = JSON.parse(l) as { path: string; method: string };
        return `${rec.method} ${rec.path}`;
      });
    },
    rssMb: () => rssMbOf(child.pid!),
    stop: stopNow,
  };
}

/** The audit log's lines once two reads 100 ms apart agree (it is flushed asynchronously). */
async function stableAudit(file: string): Promise<string[]> {
  let last: string | undefined;
  for (let i = 0; i < 40; i++) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (text === last) break;
    last = text;
    await sleep(100);
  }
  return (last ?? '').split('\n').filter(Boolean);
}
