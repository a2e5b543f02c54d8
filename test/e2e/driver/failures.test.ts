import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TEST_IMAGE } from '../../../harness/docker-image.js';
import { sharedTestDockerd } from '../../../harness/dockerd.js';
import { runCli } from '../../../harness/run-cli.js';
import { missingRequirement, skipped } from '../../helpers/environment.js';
import { createSecretfsEnv, type SecretfsEnv } from '../../helpers/secretfs-env.js';

/**
 * Promises that need a failure to be seen: the kernel enforcing uid/mode for a non-root
 * container, a hung (SIGSTOPped) store, the exit codes for an unreachable Vault or Docker, a
 * container's own 130 next to a cancelled run's, and scans for the canary and tokens in every
 * place they must never be. All on the private dockerd, with the embedded store `init` started.
 */
const test = suite('e2e/failures and leaks (uid/mode, hung store, exit codes, scans)');
const CANARY = `CANARY-${randomBytes(8).toString('hex')}`;
const image = TEST_IMAGE;
let sfs: SecretfsEnv | undefined;
let skip: string | undefined;
let storePid = 0;
const containers: string[] = [];
const stderrs: string[] = [];

async function cli(args: string[], input?: string) {
  const r = await sfs!.cli(args, { input });
  stderrs.push(r.stderr);
  return r;
}

test.before(async () => {
  skip = await missingRequirement({ docker: true, fuse: true });
  if (skip) return;
  sfs = await createSecretfsEnv(await sharedTestDockerd());
  stderrs.push((await sfs.init()).stderr);
  assert.is((await cli(['put', 'secret/app-1', 'db-password'], CANARY)).code, 0);
  storePid = Number((await readFile(join(sfs.home, 'run', 'store.pid'), 'utf8')).trim());
  assert.ok(storePid > 0);
});

test.after(async () => {
  if (!sfs) return;
  if (storePid) {
    try {
      process.kill(storePid, 'SIGCONT');
    } catch {
      /* gone */
    }
  }
  for (const c of containers) await sfs.docker(['rm', '-f', c]);
  await sfs.teardown();
});

test('-o uid=1000,mode=0400: a container running as uid 1000 reads the file, uid 1001 gets EACCES from the kernel', async () => {
  if (skip) return skipped(skip);
  const created = await cli(['volume', 'create', `uid-${sfs!.driverName}`, '--path', 'secret/app-1', '-o', 'uid=1000', '-o', 'mode=0400']);
  assert.is(created.code, 0, created.stderr);
  const name = created.stdout.trim();
  const owner = await sfs!.docker(['run', '--rm', '--user', '1000:1000', '-v', `${name}:/secrets`, image, 'sh', '-c', 'id -u; stat -c "%u %a" /secrets/db-password; cat /secrets/db-password']);
  assert.is(owner.code, 0, owner.stderr);
  assert.is(owner.stdout, `1000\n1000 400\n${CANARY}`);
  const other = await sfs!.docker(['run', '--rm', '--user', '1001:1001', '-v', `${name}:/secrets`, image, 'cat', '/secrets/db-password']);
  assert.is(other.code, 1);
  assert.is(other.stdout, '');
  assert.match(other.stderr, /cat: can't open '\/secrets\/db-password': Permission denied/);
  assert.is((await cli(['volume', 'rm', name])).code, 0);
});

test('a hung store (SIGSTOP): cat fails with EIO within the bound; a stale_if_error volume serves the last value', async () => {
  if (skip) return skipped(skip);
  const plain = `hung-${randomBytes(3).toString('hex')}`;
  const stale = `stale-${randomBytes(3).toString('hex')}`;
  containers.push(plain, stale);
  const vol = async (n: string, opts: string[]) => {
    const r = await cli(['volume', 'create', `${n}v`, '--path', 'secret/app-1', '-o', 'cache_ttl=1s', ...opts]);
    assert.is(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  const plainVol = await vol(plain, []);
  const staleVol = await vol(stale, ['-o', 'stale_if_error=5m']);
  for (const [c, v] of [[plain, plainVol], [stale, staleVol]]) {
    const r = await sfs!.docker(['run', '-d', '--name', c, '-v', `${v}:/secrets`, image, 'sleep', '300']);
    assert.is(r.code, 0, r.stderr);
    // One good read each, so the stale volume has a last good value.
    assert.is((await sfs!.docker(['exec', c, 'cat', '/secrets/db-password'])).stdout, CANARY);
  }
  process.kill(storePid, 'SIGSTOP');
  try {
    await new Promise((r) => setTimeout(r, 1500)); // past cache_ttl: the next open must ask the store
    const t0 = Date.now();
    const hung = await sfs!.docker(['exec', plain, 'cat', '/secrets/db-password'], { timeoutMs: 60_000 });
    const took = Date.now() - t0;
    assert.is(hung.code, 1, hung.stdout);
    assert.is(hung.stderr, "cat: can't open '/secrets/db-password': Input/output error\n");
    assert.ok(took < 15_000, `EIO within the bound (took ${took} ms)`);
    const served = await sfs!.docker(['exec', stale, 'cat', '/secrets/db-password'], { timeoutMs: 60_000 });
    assert.is(served.code, 0, served.stderr);
    assert.is(served.stdout, CANARY);
  } finally {
    process.kill(storePid, 'SIGCONT');
  }
  await new Promise((r) => setTimeout(r, 1100));
  assert.is((await sfs!.docker(['exec', plain, 'cat', '/secrets/db-password'])).stdout, CANARY, 'reads again once the store answers');
  for (const c of [plain, stale]) {
    await sfs!.docker(['rm', '-f', c]);
    containers.splice(containers.indexOf(c), 1);
  }
  for (const v of [plainVol, staleVol]) assert.is((await cli(['volume', 'rm', v])).code, 0);
});

test('exit code 2 when Vault is unreachable and when Docker is unreachable', async () => {
  if (skip) return skipped(skip);
  const vault = await runCli(['get', 'secret/app-1', 'db-password'], { env: { ...sfs!.env, VAULT_ADDR: 'http://127.0.0.1:1' } });
  assert.is(vault.code, 2, vault.stderr);
  assert.is(vault.stdout, '');
  assert.match(vault.stderr, /^error: Vault GET .*: unreachable \(ECONNREFUSED\)/, vault.stderr);
  const docker = await runCli(['volume', 'ls'], { env: { ...sfs!.env, DOCKER_HOST: `unix://${join(sfs!.home, 'no-docker.sock')}` } });
  assert.is(docker.code, 2, docker.stderr);
  assert.is(docker.stdout, '');
  assert.match(docker.stderr, /Docker/i);
});

test('a container that exits 130 gives 130 without any cancel message, and everything is cleaned up', async () => {
  if (skip) return skipped(skip);
  const r = await cli(['run', '--', image, 'sh', '-c', 'cat /run/secrets/db-password >/dev/null && exit 130']);
  assert.is(r.code, 130, r.stderr);
  assert.not.match(r.stderr, /cancel|interrupt|SIGINT/i, 'nothing says the run was cancelled: the container chose 130');
  const left = await sfs!.docker(['volume', 'ls', '-q', '--filter', `driver=${sfs!.driverName}`]);
  assert.equal(left.stdout.split('\n').filter((n) => n.startsWith('secretfs-run-')), [], 'the run volume was removed');
});

/** Every regular file below dir (no FUSE mounts, no sockets), up to 8 MiB each. */
async function filesBelow(dir: string, skipDirs: Set<string>): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    if (skipDirs.has(d)) return;
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        const st = await stat(p).catch(() => undefined);
        if (st && st.size < 8 * 1024 * 1024) out.push(p);
      }
    }
  };
  await walk(dir);
  return out;
}

test('scans: no canary and no token in driver.log, fs-audit.log, CLI stderr, the dockerd volumes dir or /tmp', async () => {
  if (skip) return skipped(skip);
  const rootToken = (await readFile(join(sfs!.home, 'store', 'root-token'), 'utf8')).trim();
  const driverToken = JSON.parse(await readFile(join(sfs!.home, 'driver', 'credential.json'), 'utf8')).token as string;
  const tokenLike = /hvs\.[A-Za-z0-9_-]{20,}/;
  const logs = [join(sfs!.home, 'log', 'driver.log'), join(sfs!.home, 'log', 'fs-audit.log')];
  for (const f of logs) {
    const text = await readFile(f, 'utf8');
    assert.ok(text.length > 0, `${f} has entries`);
    assert.not.ok(text.includes(CANARY), `canary in ${f}`);
    assert.not.ok(tokenLike.test(text), `a token in ${f}`);
  }
  const stderr = stderrs.join('\n');
  assert.not.ok(stderr.includes(CANARY), 'canary in CLI stderr');
  assert.not.ok(tokenLike.test(stderr), 'a token in CLI stderr');
  const volumesDir = join(sfs!.dockerd.dataRoot, 'volumes');
  for (const f of await filesBelow(volumesDir, new Set())) {
    const data = await readFile(f);
    assert.not.ok(data.includes(CANARY), `canary in ${f}`);
    for (const t of [rootToken, driverToken]) assert.not.ok(data.includes(t), `a live token in ${f}`);
  }
  // /tmp: every file except FUSE mounts (ours or anyone's: never read through them) and the only
  // places that hold a token on purpose: our store's root-token and the driver's 0600 credential.
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  const fuse = new Set(mountinfo.split('\n').filter((l) => / - fuse/.test(l)).map((l) => l.split(' ')[4]).filter((mp) => mp?.startsWith('/tmp/')));
  const allowed = new Set([join(sfs!.home, 'store', 'root-token'), join(sfs!.home, 'driver', 'credential.json')]);
  let scanned = 0;
  for (const f of await filesBelow('/tmp', fuse)) {
    if (allowed.has(f)) continue;
    const data = await readFile(f).catch(() => undefined);
    if (!data) continue;
    scanned++;
    assert.not.ok(data.includes(CANARY), `canary in ${f}`);
    for (const t of [rootToken, driverToken]) assert.not.ok(data.includes(t), `a live token in ${f}`);
  }
  assert.ok(scanned > 0);
});

test.run();
