/**
 * After a change, an open made after it reads the new value, and so does every later open: on a
 * real FUSE mount with the default options, served by this process, and the real embedded store in
 * a process of its own. Each reader is a child process that opens and reads on command, so the
 * order of opens and reads is the test's, step by step (no timing decides it; the waits are lower
 * bounds: cache_ttl has passed).
 *
 * The defect this pins down (the change-signals e2e saw it once: a container signalled for a change
 * printed the old value): the kernel's page cache belongs to the file, not to an open, and with
 * libfuse's auto_cache an open keeps the cached pages whenever the mtime libfuse last saw is
 * unchanged. The first open after a change drops them (keep_cache=0), but an open of the old
 * version that reads after that refills them with the old bytes, and libfuse then answers every
 * later open with keep_cache=1: the filesystem hands each open the new version (the audit log says
 * version 2) and the reader gets the old bytes, for as long as the mount lives.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mountSecretFs, type SecretFsMount } from '../../../lib/fs/mount.js';
import { parseFsOptions } from '../../../lib/fs/options.js';
import { createVaultClient, type VaultClient } from '../../../lib/vault/client.js';
import { resolveKvMount, writeSecret } from '../../../lib/vault/kv.js';
import { missingRequirement, skipped } from '../../helpers/environment.js';
import { startTestStoreProcess, type TestStore } from '../../helpers/store.js';
import { stopChildren } from '../../helpers/children.js';

/** The default cache_ttl (2 s) and a margin: by then the store and the kernel have let the old value go. */
const AFTER_CACHE_TTL_MS = 2600;

interface Reader {
  child: ChildProcess;
  /** Opens the file (one open, kept). */
  open(): Promise<string>;
  /** Reads the kept open from offset 0 (pread), as many bytes as there are. */
  read(): Promise<string>;
}

interface Ctx {
  tmp: string;
  store: TestStore;
  root: VaultClient;
  mount?: SecretFsMount;
  readers: Reader[];
  skip?: string;
}

const test = suite<Ctx>('fs: after a change every new open reads the new value (FUSE, default options, embedded store)');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A child process that opens `file` and reads its open when told to, one line per answer. */
function startReader(ctx: Ctx, file: string): Reader {
  const script = `
const fs = require('fs');
let fd;
const buf = Buffer.alloc(4096);
require('readline').createInterface({ input: process.stdin }).on('line', (cmd) => {
  try {
    if (cmd === 'open') { fd = fs.openSync(process.argv[1], 'r'); console.log('opened'); }
    else console.log(buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0)).toString());
  } catch (err) { console.log('ERR ' + err.code); }
});`;
  const child = spawn(process.execPath, ['-e', script, file], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const ask = (cmd: string) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reader: no answer to ${cmd} within 10 s`)), 10_000);
      lines.once('line', (line) => {
        clearTimeout(timer);
        resolve(line);
      });
      child.stdin!.write(`${cmd}\n`);
    });
  const reader = { child, open: () => ask('open'), read: () => ask('read') };
  ctx.readers.push(reader);
  return reader;
}

/** A fresh open, read and closed (as `cat` does). */
async function readOnce(ctx: Ctx, file: string): Promise<string> {
  const r = startReader(ctx, file);
  assert.is(await r.open(), 'opened');
  const value = await r.read();
  r.child.stdin!.end();
  return value;
}

test.before(async (ctx) => {
  ctx.readers = [];
  ctx.skip = await missingRequirement({ fuse: true });
  if (ctx.skip) return skipped(ctx.skip, 'suite');
  ctx.tmp = await mkdtemp(join(tmpdir(), 'secretfs-after-change-'));
  ctx.store = await startTestStoreProcess();
  ctx.root = createVaultClient({ addr: ctx.store.addr, token: ctx.store.rootToken });
});

test.after(async (ctx) => {
  const killed = await stopChildren(ctx.readers.map((r) => r.child));
  await ctx.mount?.unmount();
  await ctx.store?.stop();
  if (ctx.tmp) await rm(ctx.tmp, { recursive: true, force: true });
  assert.equal(killed, [], 'every reader stops on SIGTERM');
});

test('an open after the change reads the new value while an open of the old version reads it too, and so does every later open', async (ctx) => {
  if (ctx.skip) return skipped(ctx.skip);
  const kv = await resolveKvMount(ctx.root, 'secret/rotated');
  await writeSecret(ctx.root, kv, 'secret/rotated', { value: 'old-value' });
  const audit = join(ctx.tmp, 'fs-audit.log');
  const mountpoint = join(ctx.tmp, 'mnt');
  ctx.mount = await mountSecretFs({ vault: ctx.root, path: 'secret/rotated', mountpoint, options: parseFsOptions({}), audit: { file: audit } });
  const file = join(mountpoint, 'value');

  // An app that keeps its file open (as a server that re-reads on SIGHUP from the same fd would).
  const holder = startReader(ctx, file);
  assert.is(await holder.open(), 'opened');
  assert.is(await holder.read(), 'old-value');

  await writeSecret(ctx.root, kv, 'secret/rotated', { value: 'new-value' });
  await sleep(AFTER_CACHE_TTL_MS);
  const fresh = startReader(ctx, file);
  assert.is(await fresh.open(), 'opened');
  // The old open reads again: its own version, one version per open.
  assert.is(await holder.read(), 'old-value');
  assert.is(await fresh.read(), 'new-value', 'an open made after the change reads the new value');
  assert.is(await readOnce(ctx, file), 'new-value', 'the next open too');
  await sleep(AFTER_CACHE_TTL_MS);
  assert.is(await readOnce(ctx, file), 'new-value', 'and one made after another cache_ttl');

  // The audit log is written behind the opens: wait (bounded) for the fourth line.
  let opens: { key: string; version: number }[] = [];
  for (const deadline = Date.now() + 5000; opens.length < 4 && Date.now() < deadline; await sleep(50)) {
    opens = (await readFile(audit, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l));
  }
  assert.equal(opens.map((o) => [o.key, o.version]), [['value', 1], ['value', 2], ['value', 2], ['value', 2]], 'what the filesystem handed each open');
});

test.run();
