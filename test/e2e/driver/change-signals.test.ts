import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TEST_IMAGE } from '../../../harness/docker-image.js';
import { randomName, sharedTestDockerd } from '../../../harness/dockerd.js';
import { missingRequirement } from '../../helpers/environment.js';
import { createSecretfsEnv, type SecretfsEnv } from '../../helpers/secretfs-env.js';
import { resolvePaths } from '../../../lib/paths.js';
import { createVaultClient, type VaultClient } from '../../../lib/vault/client.js';
import { resolveKvMount, writeSecret } from '../../../lib/vault/kv.js';

/**
 * Rotation reaches the app: watched volumes (watch=1s) signal or restart the running containers
 * that mount them, on a private dockerd with real FUSE and the embedded store. Each container is
 * a busybox sh whose HUP trap re-reads the file and prints it.
 */
const test = suite('e2e/change signals (private dockerd, FUSE, embedded store)');

let skip: string | undefined;
let sfs: SecretfsEnv;
let root: VaultClient;
let storeAddr = '';
const containers: string[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function docker(args: string[]): Promise<string> {
  const r = await sfs.docker(args, { timeoutMs: 60_000 });
  assert.is(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

async function createVolume(name: string, opts: Record<string, string>): Promise<void> {
  await docker(['volume', 'create', '-d', sfs.driverName, ...Object.entries(opts).flatMap(([k, v]) => ['-o', `${k}=${v}`]), name]);
}

/** A long-running container whose HUP trap prints `hup:` and the file's content again. */
async function startHupContainer(volume: string, file = 'value'): Promise<string> {
  const name = randomName('sfs-hup');
  const script = `trap 'echo "hup:$(cat /s/${file})"' HUP; echo "start:$(cat /s/${file})"; while true; do sleep 0.1 & wait $!; done`;
  await docker(['run', '-d', '--name', name, '-v', `${volume}:/s:ro`, TEST_IMAGE, 'sh', '-c', script]);
  containers.push(name);
  await waitForLogs(name, (l) => l.includes('start:'), 15_000);
  return name;
}

async function logs(name: string): Promise<string> {
  const r = await sfs.docker(['logs', name]);
  return r.stdout + r.stderr;
}

async function waitForLogs(name: string, check: (logs: string) => boolean, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await logs(name);
    if (check(text)) return text;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting on the logs of ${name}: ${JSON.stringify(text)}`);
    await sleep(100);
  }
}

/** The driver's change lines in the audit log. */
async function changeLines(volume: string): Promise<any[]> {
  await sleep(250);
  const text = await readFile(resolvePaths({ SECRETFS_HOME: sfs.home }).fsAuditLog, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
    .filter((l) => l.event === 'change' && l.volume === volume);
}

async function write(path: string, data: Record<string, string>): Promise<void> {
  await writeSecret(root, await resolveKvMount(root, path), path, data);
}

test.before(async () => {
  skip = await missingRequirement({ docker: true, fuse: true });
  if (skip) return;
  sfs = await createSecretfsEnv(await sharedTestDockerd());
  await sfs.init();
  // The volumes here are created through the driver (`docker volume create -d`): an administrator allows their paths first.
  const allowed = await sfs.cli(['allow', ...['burst', 'down', 'envf', 'hup', 'keys', 'other', 'restart', 'unwatched', 'versioned'].map((p) => `secret/${p}`)]);
  if (allowed.code !== 0) throw new Error(`allow failed (${allowed.code}): ${allowed.stderr}`);
  const token = (await readFile(join(sfs.home, 'store', 'root-token'), 'utf8')).trim();
  storeAddr = JSON.parse(await readFile(resolvePaths({ SECRETFS_HOME: sfs.home }).configFile, 'utf8')).vaultAddr;
  root = createVaultClient({ addr: storeAddr, token });
});

test.after(async () => {
  if (skip || !sfs) return;
  for (const c of containers) await sfs.docker(['rm', '-f', c]);
  await sfs.teardown();
});

test('HUP walk-through: two containers of a volume get SIGHUP within watch + debounce and print the new value; a bystander does not', async () => {
  if (skip) return;
  await write('secret/hup', { value: 'one' });
  await write('secret/other', { value: 'other-1' });
  const vol = randomName('sfs-w');
  const other = randomName('sfs-w');
  await createVolume(vol, { path: 'secret/hup', watch: '1s', on_change: 'signal:HUP', on_change_debounce: '1s' });
  await createVolume(other, { path: 'secret/other', watch: '1s', on_change: 'signal:HUP', on_change_debounce: '1s' });
  const a = await startHupContainer(vol);
  const b = await startHupContainer(vol);
  const bystander = await startHupContainer(other);
  assert.match(await logs(a), 'start:one');

  const put = await sfs.cli(['put', 'secret/hup', 'value=-'], { input: 'two' });
  const wrote = Date.now();
  assert.is(put.code, 0, put.stderr);
  assert.match(put.stderr, new RegExp(`the driver will send SIGHUP to 2 running containers of volume ${vol} within 2s: (${a}, ${b}|${b}, ${a})`));
  await waitForLogs(a, (l) => l.includes('hup:two'), 1000 + 1000 + 4000);
  await waitForLogs(b, (l) => l.includes('hup:two'), 4000);
  const latency = Date.now() - wrote;
  assert.ok(latency < 1000 + 1000 + 4000, `signalled ${latency} ms after the put`);
  await sleep(1500);
  assert.not.match(await logs(bystander), 'hup:', 'a container of another volume is not signalled');
  assert.is((await logs(a)).split('hup:').length - 1, 1, 'one signal per change');

  const lines = await changeLines(vol);
  assert.is(lines.length, 1);
  const { time, containers: names, ...rest } = lines[0];
  assert.match(time, /^\d{4}-\d\d-\d\dT/);
  assert.equal(names.sort(), [a, b].sort());
  assert.equal(rest, { event: 'change', volume: vol, path: 'secret/hup', old_version: '1', new_version: '2', action: 'signal:HUP', result: 'ok' });
  const audit = await readFile(resolvePaths({ SECRETFS_HOME: sfs.home }).fsAuditLog, 'utf8');
  assert.not.match(audit, '"two"', 'never a value');

  const none = await sfs.cli(['put', 'secret/unwatched', 'value=-'], { input: 'x' });
  assert.is(none.code, 0, none.stderr);
  assert.match(none.stderr, 'no running container will be signalled or restarted');
});

test('debounce: three quick writes become one signal, carrying the first old and the last new version', async () => {
  if (skip) return;
  await write('secret/burst', { value: 'b1' });
  const vol = randomName('sfs-w');
  await createVolume(vol, { path: 'secret/burst', watch: '1s', on_change: 'signal:HUP', on_change_debounce: '3s' });
  const c = await startHupContainer(vol);
  await sleep(1200);
  for (const v of ['b2', 'b3', 'b4']) {
    await write('secret/burst', { value: v });
    await sleep(300);
  }
  await waitForLogs(c, (l) => l.includes('hup:'), 1000 + 3000 + 4000);
  await sleep(3000);
  const text = await logs(c);
  assert.is(text.split('hup:').length - 1, 1, `one signal: ${JSON.stringify(text)}`);
  assert.match(text, 'hup:b4');
  const lines = await changeLines(vol);
  assert.equal(lines.map((l) => [l.old_version, l.new_version]), [['1', '4']]);
});

test('on_change=restart restarts the container, which then reads the new value', async () => {
  if (skip) return;
  await write('secret/restart', { value: 'r1' });
  const vol = randomName('sfs-w');
  await createVolume(vol, { path: 'secret/restart', watch: '1s', on_change: 'restart', on_change_debounce: '0' });
  const c = await startHupContainer(vol);
  const startedAt = await docker(['inspect', '-f', '{{.State.StartedAt}}', c]);
  await write('secret/restart', { value: 'r2' });
  // docker restart sends SIGTERM and waits up to 10 s for sh (PID 1 ignores it) before SIGKILL.
  await waitForLogs(c, (l) => l.includes('start:r2'), 1000 + 10_000 + 8000);
  assert.is.not(await docker(['inspect', '-f', '{{.State.StartedAt}}', c]), startedAt);
  assert.is(await docker(['inspect', '-f', '{{.State.Running}}', c]), 'true');
  const lines = await changeLines(vol);
  assert.is(lines.length, 1);
  assert.is(lines[0].action, 'restart');
  assert.equal(lines[0].containers, [c]);
  assert.is(lines[0].result, 'ok');
});

test('Vault down: no signal while it is down, none when it returns unchanged, and the watch reads once per interval for two containers', async () => {
  if (skip) return;
  await write('secret/down', { value: 'd1' });
  const vol = randomName('sfs-w');
  await createVolume(vol, { path: 'secret/down', watch: '1s', on_change: 'signal:HUP', on_change_debounce: '0' });
  const c1 = await startHupContainer(vol);
  const c2 = await startHupContainer(vol);
  const stop = await sfs.cli(['server', 'stop']);
  assert.is(stop.code, 0, stop.stderr);
  await sleep(5000);
  const start = await sfs.cli(['server', 'start', '--addr', storeAddr]);
  assert.is(start.code, 0, start.stderr);
  // Back-off after 5 s of failures is at most 8 s: the watch is reading again within 9 s.
  const auditFile = join(sfs.home, 'store', 'audit.log');
  const reads = async () => (await readFile(auditFile, 'utf8')).split('\n').filter((l) => l.includes('"secret/metadata/down"') || l.includes('"secret/data/down"')).length;
  const deadline = Date.now() + 12_000;
  const atStart = await reads();
  while ((await reads()) === atStart && Date.now() < deadline) await sleep(200);
  assert.ok((await reads()) > atStart, 'the watch reads again after Vault returns');
  const before = await reads();
  await sleep(4000);
  const inFour = (await reads()) - before;
  // One read per 1 s interval for both containers together (and no read of the fs: nobody opens).
  assert.ok(inFour >= 2 && inFour <= 5, `${inFour} reads of secret/down in 4 s`);
  assert.not.match(await logs(c1), 'hup:');
  assert.not.match(await logs(c2), 'hup:');
  await write('secret/down', { value: 'd2' });
  // Both are signalled once the change is seen, and each reads the new value at its signal (the
  // kernel's page cache once gave one of them the old bytes: test/integration/fs/after-change.test.ts).
  for (const c of [c1, c2]) {
    const text = await waitForLogs(c, (l) => l.includes('hup:'), 6000);
    assert.match(text, /^hup:d2$/m, `${c} reads the new value at its signal: ${JSON.stringify(text)}`);
  }
});

test('bad on_change= and watch= values are refused at Create with the reason, and nothing is created', async () => {
  if (skip) return;
  const cases: [Record<string, string>, string][] = [
    [{ path: 'secret/hup', watch: '1s', on_change: 'signal:NOPE' }, 'invalid on_change="signal:NOPE": expected signal:NAME (e.g. signal:HUP, signal:SIGUSR1), restart, or none'],
    [{ path: 'secret/hup', on_change: 'restart' }, 'on_change=restart needs watch=<interval> (e.g. watch=30s): without it no change is noticed'],
    [{ path: 'secret/hup', watch: 'often' }, 'invalid watch="often": expected a duration of at least 500ms, e.g. watch=30s (or off)'],
  ];
  for (const [opts, message] of cases) {
    const name = randomName('sfs-bad');
    const r = await sfs.docker(['volume', 'create', '-d', sfs.driverName, ...Object.entries(opts).flatMap(([k, v]) => ['-o', `${k}=${v}`]), name]);
    assert.is.not(r.code, 0);
    assert.match(r.stderr, message);
    assert.is((await sfs.docker(['volume', 'ls', '-q', '--filter', `name=${name}`])).stdout.trim(), '');
  }
});

test('a driver without access to the Docker engine says so at Create when on_change is set (and still creates plain volumes)', async () => {
  if (skip) return;
  assert.is((await sfs.cli(['driver', 'stop'])).code, 0);
  try {
    const started = await sfs.cli(['driver', 'start'], { env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    assert.is(started.code, 0, started.stderr);
    const name = randomName('sfs-nodocker');
    const r = await sfs.docker(['volume', 'create', '-d', sfs.driverName, '-o', 'path=secret/hup', '-o', 'watch=1s', '-o', 'on_change=signal:HUP', name]);
    assert.is.not(r.code, 0);
    assert.match(r.stderr, 'on_change is set, but this driver has no access to the Docker engine: cannot reach the Docker engine (ENOENT)');
    assert.is((await sfs.docker(['volume', 'ls', '-q', '--filter', `name=${name}`])).stdout.trim(), '');
    const plain = randomName('sfs-plain');
    await createVolume(plain, { path: 'secret/hup', watch: '1s' });
    await docker(['volume', 'rm', plain]);
  } finally {
    await sfs.cli(['driver', 'stop']);
    assert.is((await sfs.cli(['driver', 'start'])).code, 0);
  }
});

test('.secretfs.version in every volume changes with the version', async () => {
  if (skip) return;
  await write('secret/versioned', { value: 'v1' });
  const vol = randomName('sfs-v');
  await createVolume(vol, { path: 'secret/versioned' });
  const readVersion = async () => docker(['run', '--rm', '-v', `${vol}:/s:ro`, TEST_IMAGE, 'cat', '/s/.secretfs.version']);
  const first = await readVersion();
  assert.match(first, /^version=1\nchanged=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  await write('secret/versioned', { value: 'v2' });
  const second = await readVersion();
  assert.match(second, /^version=2\nchanged=/);
  assert.ok(Date.parse(second.split('changed=')[1]) >= Date.parse(first.split('changed=')[1]));
});

test('keys=: selection, renaming and per-key mode enforced by the kernel (stat, a read by another uid)', async () => {
  if (skip) return;
  await write('secret/keys', { password: 'pw-k', username: 'app', other: 'hidden-value' });
  const vol = randomName('sfs-k');
  await createVolume(vol, { path: 'secret/keys', keys: 'password:pass:0400,username' });
  const run = (user: string, script: string) => sfs.docker(['run', '--rm', '--user', user, '-v', `${vol}:/s:ro`, TEST_IMAGE, 'sh', '-c', script]);
  const root = await run('0', 'ls -a /s | sort | tr "\\n" " "; echo; stat -c "%a %u %n" /s/pass /s/username; cat /s/pass; echo; cat /s/.secretfs.json');
  assert.is(root.code, 0, root.stderr);
  const [names, statPass, statUser, value, ...json] = root.stdout.split('\n');
  assert.is(names, '. .. .secretfs.env .secretfs.json .secretfs.version pass username ');
  assert.is(statPass, '400 0 /s/pass');
  assert.is(statUser, '444 0 /s/username');
  assert.is(value, 'pw-k');
  assert.equal(JSON.parse(json.join('\n')), { pass: 'pw-k', username: 'app' });
  const other = await run('1000', 'cat /s/username; echo; cat /s/pass');
  assert.is.not(other.code, 0);
  assert.is(other.stdout, 'app\n');
  assert.match(other.stderr, 'Permission denied');
  const unselected = await run('0', 'cat /s/other');
  assert.is.not(unselected.code, 0);
  assert.match(unselected.stderr, 'No such file or directory');
});

test('bad keys= are refused at Create naming the keys, and nothing is created', async () => {
  if (skip) return;
  const cases: [string, string][] = [
    ['password,nope,also-nope', 'keys=: secret/keys has no keys "nope", "also-nope" (its keys: other, password, username)'],
    ['password:pass:999', 'invalid keys entry "password:pass:999": the mode "999" is not octal permissions such as 0400'],
    ['a:x,b:x', 'invalid keys="a:x,b:x": "a" and "b" would both be the file "x"'],
  ];
  for (const [keys, message] of cases) {
    const name = randomName('sfs-bad');
    const r = await sfs.docker(['volume', 'create', '-d', sfs.driverName, '-o', 'path=secret/keys', '-o', `keys=${keys}`, name]);
    assert.is.not(r.code, 0);
    assert.match(r.stderr, message);
    assert.is((await sfs.docker(['volume', 'ls', '-q', '--filter', `name=${name}`])).stdout.trim(), '');
  }
});

test('run --env-files sets <KEY>_FILE paths (with --env-prefix and --keys), and docker inspect shows no value', async () => {
  if (skip) return;
  await write('secret/envf', { 'db-password': 'pw-env-secret', 'api.token': 'tok-env-secret' });
  const name = randomName('sfs-envf');
  const running = sfs.cli(['run', '--path', 'secret/envf', '--env-files', '--env-prefix', 'APP_', '--', '--name', name, TEST_IMAGE, 'sh', '-c', 'echo "$APP_DB_PASSWORD_FILE $APP_API_TOKEN_FILE"; cat "$APP_DB_PASSWORD_FILE"; echo; sleep 4']);
  let env: string[] = [];
  // `container inspect`, not `inspect`: a bare inspect of a name also asks every volume driver the
  // engine has met, and the shared test engine has met drivers that earlier suites stopped (~30 s each).
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const r = await sfs.docker(['container', 'inspect', '-f', '{{json .Config.Env}}', name]);
    if (r.code === 0) {
      env = JSON.parse(r.stdout);
      break;
    }
    await sleep(200);
  }
  const res = await running;
  assert.is(res.code, 0, res.stderr);
  assert.is(res.stdout, '/run/secrets/db-password /run/secrets/api.token\npw-env-secret\n');
  assert.ok(env.includes('APP_DB_PASSWORD_FILE=/run/secrets/db-password'), JSON.stringify(env));
  assert.ok(env.includes('APP_API_TOKEN_FILE=/run/secrets/api.token'), JSON.stringify(env));
  assert.not.match(JSON.stringify(env), 'env-secret');

  const picked = await sfs.cli(['run', '--path', 'secret/envf', '--keys', 'db-password:pw:0400', '--env-files', '--', TEST_IMAGE, 'sh', '-c', 'echo "$PW_FILE"; cat "$PW_FILE"; echo; ls /run/secrets']);
  assert.is(picked.code, 0, picked.stderr);
  assert.is(picked.stdout, '/run/secrets/pw\npw-env-secret\npw\n');
});

test.run();
