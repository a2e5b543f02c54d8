import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A private embedded store on a free port, in its own process (stand-in until test/helpers/store.ts lands). */
export interface TestStore {
  addr: string;
  rootToken: string;
  dir: string;
  pid: number;
  stop(): Promise<void>;
}

const RUNNER = fileURLToPath(new URL('./run-store.ts', import.meta.url));

/** Starts the embedded store in a child process with a temp data dir; stop() ends it by pid. */
export async function startStore(): Promise<TestStore> {
  const dir = await mkdtemp(join(tmpdir(), 'sfs-driver-store-'));
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', RUNNER, join(dir, 'data')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const info = await new Promise<{ addr: string; rootTokenFile: string }>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) resolve(JSON.parse(buf.split('\n')[0]));
    });
    child.once('exit', (code) => reject(new Error(`store exited with ${code}`)));
  });
  const rootToken = (await readFile(info.rootTokenFile, 'utf8')).trim();
  return {
    addr: info.addr,
    rootToken,
    dir,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
