import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestDockerd, type TestDockerd } from '../../../harness/dockerd.js';
import { missingRequirement, skipped } from '../../helpers/environment.js';
import { createSecretfsEnv, type SecretfsEnv } from '../../helpers/secretfs-env.js';
import { makeTestPki, type TestPki } from '../../helpers/pki.js';

/**
 * The managed plugin end to end, on a dockerd of its own (a managed plugin must never reach the
 * user's engine): `init --managed` builds it from this install and enables it, a volume created
 * with `-d secretfs/secretfs:latest` serves a secret to a container, a `--restart always`
 * container reads it again after dockerd stops and starts (dockerd starts the plugin before it
 * restarts containers), a killed plugin is started again by dockerd, and the plugin is disabled and removed. `docker plugin inspect` holds no token.
 */
const test = suite('e2e/managed plugin (plugin create, init --managed, dockerd restart)');
const PLUGIN = 'secretfs/secretfs:latest';
const tag = randomBytes(3).toString('hex');
const volume = `mp-${tag}`;
const reader = `mp-reader-${tag}`;
let dockerd: TestDockerd | undefined;
let sfs: SecretfsEnv | undefined;
let skip: string | undefined;
const TLS_PLUGIN = 'secretfs/secretfs-tls:latest';
const tlsVolume = `mp-tls-${tag}`;
let tls: SecretfsEnv | undefined;
let pki: TestPki | undefined;
const first = `first-${randomBytes(6).toString('hex')}`;
const second = `second-${randomBytes(6).toString('hex')}`;

/** The plugin's driver log (JSON lines in the home's log directory, which the plugin has mounted). */
async function driverLog(): Promise<{ msg: string; volume?: string }[]> {
  const text = await readFile(join(sfs!.home, 'log', 'driver.log'), 'utf8');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** The pids of the plugin's driver process (dockerd's runc started it; found by its command line and its cgroup, named by the plugin's id). */
function pluginPids(id: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.startsWith('/usr/bin/node\0/opt/secretfs/dist/cli/main.js\0driver\0serve') && readFileSync(`/proc/${entry}/cgroup`, 'utf8').includes(id)) pids.push(Number(entry));
    } catch {
      /* gone meanwhile */
    }
  }
  return pids;
}

/** One check of `doctor --format json`, or undefined when doctor has no check of that name. */
async function doctorCheck(name: string): Promise<{ name: string; ok: boolean; detail: string; hint?: string } | undefined> {
  const r = await sfs!.cli(['doctor', '--format', 'json'], { timeoutMs: 120_000 });
  return (JSON.parse(r.stdout).checks as { name: string; ok: boolean; detail: string; hint?: string }[]).find((c) => c.name === name);
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test.before(async () => {
  skip = await missingRequirement({ docker: true, fuse: true });
  if (skip) return;
  // The host's network: the plugin has the engine's network and must reach the store on 127.0.0.1.
  dockerd = await startTestDockerd({ hostNetwork: true });
  sfs = await createSecretfsEnv(dockerd);
});

test.after(async () => {
  // Cleaned up whatever failed: the containers, the volumes, the plugins, then the stores and the dockerd.
  if (tls) {
    await tls.docker(['volume', 'rm', '-f', tlsVolume], { timeoutMs: 60_000 });
    await tls.docker(['plugin', 'rm', '-f', TLS_PLUGIN], { timeoutMs: 60_000 });
    await tls.teardown();
  }
  await pki?.remove();
  if (sfs) {
    await sfs.docker(['rm', '-f', reader], { timeoutMs: 60_000 });
    await sfs.docker(['volume', 'rm', '-f', volume], { timeoutMs: 60_000 });
    await sfs.docker(['plugin', 'disable', '-f', PLUGIN], { timeoutMs: 60_000 });
    await sfs.docker(['plugin', 'rm', '-f', PLUGIN], { timeoutMs: 60_000 });
    await sfs.teardown();
  }
  await dockerd?.stop();
});

test('init --managed builds the plugin from this install, enables it, and starts no host driver', async () => {
  if (skip) return skipped(skip);
  const init = await sfs!.cli(['init', '--yes', '--managed', '--store-addr', 'http://127.0.0.1:0', '--format', 'json'], { timeoutMs: 400_000 });
  assert.is(init.code, 0, init.stderr);
  const driverStep = (JSON.parse(init.stdout).steps as { step: string; changed: boolean; detail: string }[]).find((s) => s.step === 'driver')!;
  assert.is(driverStep.changed, true);
  assert.is(driverStep.detail, `created and enabled the managed plugin ${PLUGIN} (volumes: docker volume create -d ${PLUGIN})`);
  assert.match(init.stderr, /rootfs built: \d+ MB in \d+ files \(\d+ packages, \d+ shared libraries\)/);
  const ls = await sfs!.docker(['plugin', 'ls', '--format', '{{.Name}} {{.Enabled}}']);
  assert.is(ls.stdout.trim(), `${PLUGIN} true`);
  const start = await sfs!.cli(['driver', 'start']);
  assert.is(start.code, 1);
  assert.match(start.stderr, `this install runs the driver as the managed plugin ${PLUGIN} (init --managed); a host driver would share its state`);
  // driver status reports the plugin dockerd runs, not a host process.
  const status = await sfs!.cli(['driver', 'status', '--format', 'json']);
  assert.is(status.code, 0, status.stderr);
  const reported = JSON.parse(status.stdout);
  assert.equal([reported.running, reported.pid, reported.managedPlugin], [true, undefined, { name: PLUGIN, installed: true, enabled: true }]);
  const text = await sfs!.cli(['driver', 'status']);
  assert.is(text.stdout.split('\n')[0], `managed plugin ${PLUGIN}: enabled (dockerd runs the driver)`);

  // Run again without --managed: the config keeps the mode, and nothing changes.
  const again = await sfs!.cli(['init', '--yes', '--store-addr', 'http://127.0.0.1:0', '--format', 'json'], { timeoutMs: 120_000 });
  assert.is(again.code, 0, again.stderr);
  const kept = (JSON.parse(again.stdout).steps as { step: string; changed: boolean; detail: string }[]).find((s) => s.step === 'driver')!;
  assert.equal(kept, { step: 'driver', changed: false, detail: `managed plugin ${PLUGIN} enabled (volumes: docker volume create -d ${PLUGIN})` });

  assert.equal(await doctorCheck('managed plugin'), { name: 'managed plugin', ok: true, detail: `the managed plugin ${PLUGIN} is enabled (dockerd runs the driver)` });
  assert.is(await doctorCheck('driver socket'), undefined, 'no host driver socket is checked in managed mode');

  const twice = await sfs!.cli(['plugin', 'create', PLUGIN]);
  assert.is(twice.code, 1);
  assert.match(twice.stderr, `the engine already has a plugin ${PLUGIN} (enabled)`);
});

test('docker plugin inspect shows no token: the credential is a 0600 file in a bind-mounted directory', async () => {
  if (skip) return skipped(skip);
  const credentialFile = join(sfs!.home, 'driver', 'credential.json');
  assert.is((await stat(credentialFile)).mode & 0o777, 0o600);
  const { token } = JSON.parse(await readFile(credentialFile, 'utf8')) as { token: string };
  assert.ok(token && token.length > 10);
  // The embedded store's root token: the config names its file.
  const { tokenFile } = JSON.parse(await readFile(join(sfs!.home, 'config.json'), 'utf8')) as { tokenFile: string };
  const rootToken = (await readFile(tokenFile, 'utf8')).trim();
  assert.ok(rootToken.length > 10);
  const inspect = await sfs!.docker(['plugin', 'inspect', PLUGIN]);
  assert.is(inspect.code, 0, inspect.stderr);
  assert.not.ok(inspect.stdout.includes(token), 'the driver token is in docker plugin inspect');
  assert.not.ok(inspect.stdout.includes(rootToken), 'the root token is in docker plugin inspect');
  assert.not.match(inspect.stdout, /VAULT_TOKEN|"token"/i);
  const [plugin] = JSON.parse(inspect.stdout);
  const driverMount = plugin.Settings.Mounts.find((m: { Name: string }) => m.Name === 'driver');
  assert.equal({ source: driverMount.Source, destination: driverMount.Destination }, { source: join(sfs!.home, 'driver'), destination: '/secretfs/driver' });
  assert.equal(plugin.Config.Interface.Types, ['docker.volumedriver/1.0', 'docker.secretprovider/1.0']);
  assert.is(plugin.Config.PropagatedMount, '/secretfs/mnt');
  assert.is(plugin.Config.Network.Type, 'host');
  assert.equal(plugin.Config.Linux.Capabilities, ['CAP_SYS_ADMIN']);
  const socket = plugin.Settings.Mounts.find((m: { Name: string }) => m.Name === 'docker-socket');
  assert.equal({ source: socket.Source, destination: socket.Destination }, { source: dockerd!.host.slice('unix://'.length), destination: '/run/secretfs/docker.sock' });
  assert.ok(plugin.Settings.Env.includes('DOCKER_HOST=unix:///run/secretfs/docker.sock'));
});

test('a volume of the plugin serves the secret to a container, and again after dockerd restarts a --restart always container', async () => {
  if (skip) return skipped(skip);
  assert.is((await sfs!.cli(['put', 'secret/app-1', 'db-password=-'], { input: first })).code, 0);
  const create = await sfs!.docker(['volume', 'create', '-d', PLUGIN, '-o', 'path=secret/app-1', volume], { timeoutMs: 60_000 });
  assert.is(create.code, 0, create.stderr);
  const once = await sfs!.docker(['run', '--rm', '-v', `${volume}:/run/secrets:ro`, 'alpine', 'cat', '/run/secrets/db-password'], { timeoutMs: 60_000 });
  assert.is(once.code, 0, once.stderr);
  assert.is(once.stdout, first);

  // It prints what it reads at each start, then waits.
  const run = await sfs!.docker(['run', '-d', '--restart', 'always', '--name', reader, '-v', `${volume}:/run/secrets:ro`, 'alpine', 'sh', '-c', 'echo "read=$(cat /run/secrets/db-password)"; exec sleep 3600'], { timeoutMs: 60_000 });
  assert.is(run.code, 0, run.stderr);
  await until('the reader prints the first value', 30_000, async () => ((await sfs!.docker(['logs', reader])).stdout.includes(`read=${first}`) ? true : undefined));

  // A new value while dockerd is down: what the restarted container reads comes from Vault through the restarted plugin.
  assert.is((await sfs!.cli(['put', 'secret/app-1', 'db-password=-'], { input: second })).code, 0);
  const before = dockerd!.pid;
  await dockerd!.restart();
  assert.is.not(dockerd!.pid, before);
  const logs = await until('the restarted reader prints the new value', 90_000, async () => {
    const out = (await sfs!.docker(['logs', reader], { timeoutMs: 20_000 })).stdout;
    return out.includes(`read=${second}`) ? out : undefined;
  });
  assert.equal(logs.trim().split('\n'), [`read=${first}`, `read=${second}`]);
  // The plugin logs to the bind-mounted log directory: at the restart it unmounted cleanly, stopped, and started again.
  const log = await driverLog();
  assert.not.ok(log.some((l) => l.msg === 'unmount failed, retrying lazily'), 'an unmount failed inside the plugin');
  assert.is(log.filter((l) => l.msg === 'driver started').length, 2);
  assert.ok(log.some((l) => l.msg === 'driver stopped'));
  assert.ok(log.filter((l) => l.msg === 'volume mounted' && l.volume === volume).length >= 3, 'mounted for each container start');
  const plugin = await sfs!.docker(['plugin', 'ls', '--format', '{{.Name}} {{.Enabled}}']);
  assert.is(plugin.stdout.trim(), `${PLUGIN} true`);
});

test("the CLI's run and volume commands use the plugin", async () => {
  if (skip) return skipped(skip);
  const run = await sfs!.cli(['run', '--', 'alpine', 'cat', '/run/secrets/db-password'], { timeoutMs: 120_000 });
  assert.is(run.code, 0, run.stderr);
  assert.is(run.stdout, second);
  const cliVolume = `mp-cli-${tag}`;
  const create = await sfs!.cli(['volume', 'create', cliVolume, '--path', 'secret/app-1', '--format', 'json'], { timeoutMs: 60_000 });
  assert.is(create.code, 0, create.stderr);
  assert.equal(JSON.parse(create.stdout), { name: cliVolume, driver: PLUGIN, path: 'secret/app-1' });
  const ls = JSON.parse((await sfs!.cli(['volume', 'ls', '--format', 'json'])).stdout) as { name: string }[];
  assert.equal(ls.map((v) => v.name).sort(), [cliVolume, volume].sort());
  assert.is((await sfs!.cli(['volume', 'rm', cliVolume], { timeoutMs: 60_000 })).code, 0);
  // run removed its own volume when the container ended: only the test's volume is left.
  assert.is((await sfs!.docker(['volume', 'ls', '-q', '--filter', `driver=${PLUGIN}`])).stdout.trim(), volume);
});

test('on_change through the plugin: it reaches the engine on the mounted socket and sends SIGHUP to the container of a watched volume', async () => {
  if (skip) return skipped(skip);
  const hupVolume = `mp-hup-${tag}`;
  const hupper = `mp-hup-${tag}`;
  try {
    assert.is((await sfs!.cli(['put', 'secret/app-1', 'hup=-'], { input: 'h1' })).code, 0);
    const create = await sfs!.docker(['volume', 'create', '-d', PLUGIN, '-o', 'path=secret/app-1', '-o', 'watch=1s', '-o', 'on_change=signal:HUP', hupVolume], { timeoutMs: 60_000 });
    assert.is(create.code, 0, create.stderr);
    const script = `trap 'echo "hup:$(cat /s/hup)"' HUP; echo "start:$(cat /s/hup)"; while true; do sleep 0.1 & wait $!; done`;
    assert.is((await sfs!.docker(['run', '-d', '--name', hupper, '-v', `${hupVolume}:/s:ro`, 'alpine', 'sh', '-c', script], { timeoutMs: 60_000 })).code, 0);
    await until('the container starts', 30_000, async () => ((await sfs!.docker(['logs', hupper])).stdout.includes('start:h1') ? true : undefined));
    assert.is((await sfs!.cli(['put', 'secret/app-1', 'hup=-'], { input: 'h2' })).code, 0);
    const out = await until('the container hears SIGHUP and reads the new value', 45_000, async () => {
      const logs = (await sfs!.docker(['logs', hupper])).stdout;
      return logs.includes('hup:h2') ? logs : undefined;
    });
    assert.equal(out.trim().split('\n'), ['start:h1', 'hup:h2']);
  } finally {
    await sfs!.docker(['rm', '-f', hupper], { timeoutMs: 60_000 });
    await sfs!.docker(['volume', 'rm', '-f', hupVolume], { timeoutMs: 60_000 });
  }
});

test('a killed plugin is started again by dockerd, and its volumes serve again', async () => {
  if (skip) return skipped(skip);
  assert.is((await sfs!.docker(['rm', '-f', reader], { timeoutMs: 60_000 })).code, 0);
  const id = (await sfs!.docker(['plugin', 'inspect', '--format', '{{.Id}}', PLUGIN])).stdout.trim();
  const [pid] = pluginPids(id);
  assert.ok(pid, 'the plugin process');
  process.kill(pid, 'SIGKILL');
  const next = await until('dockerd starts the plugin again', 30_000, async () => pluginPids(id).find((p) => p !== pid));
  assert.is.not(next, pid);
  const unknown = await sfs!.docker(['volume', 'inspect', `no-such-${tag}`], { timeoutMs: 20_000 });
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, 'no such volume');
  const read = await until('the volume serves again', 30_000, async () => {
    const r = await sfs!.docker(['run', '--rm', '-v', `${volume}:/run/secrets:ro`, 'alpine', 'cat', '/run/secrets/db-password'], { timeoutMs: 60_000 });
    return r.code === 0 ? r.stdout : undefined;
  });
  assert.is(read, second);

  // init --force: a new driver credential, so the plugin is restarted (even with a volume), and the volume serves with it.
  const force = await sfs!.cli(['init', '--yes', '--force', '--store-addr', 'http://127.0.0.1:0', '--format', 'json'], { timeoutMs: 120_000 });
  assert.is(force.code, 0, force.stderr);
  const step = (JSON.parse(force.stdout).steps as { step: string; changed: boolean; detail: string }[]).find((s) => s.step === 'driver')!;
  assert.equal(step, { step: 'driver', changed: true, detail: `restarted the managed plugin ${PLUGIN} (volumes: docker volume create -d ${PLUGIN})` });
  const after = await sfs!.docker(['run', '--rm', '-v', `${volume}:/run/secrets:ro`, 'alpine', 'cat', '/run/secrets/db-password'], { timeoutMs: 60_000 });
  assert.is(after.code, 0, after.stderr);
  assert.is(after.stdout, second);
});

test('a plugin for a Vault over TLS with a private CA, the driver on AppRole, and a namespace: the files the credential names reach it', async () => {
  if (skip) return skipped(skip);
  tls = await createSecretfsEnv(dockerd!);
  pki = await makeTestPki();
  const started = await tls.cli(['server', 'start', '--addr', 'https://127.0.0.1:0', '--tls-cert', pki.files['server.crt'], '--tls-key', pki.files['server.key']]);
  assert.is(started.code, 0, started.stderr);
  const rootToken = (await readFile(join(tls.home, 'store', 'root-token'), 'utf8')).trim();
  const admin = { VAULT_TOKEN: rootToken };
  const init = await tls.cli(['init', '--yes', '--managed', TLS_PLUGIN, '--vault-addr', started.stdout.trim(), '--ca-cert', pki.files['ca.crt'], '--auth', 'approle', '--namespace', 'admin'], { env: admin, timeoutMs: 400_000 });
  assert.is(init.code, 0, init.stderr);
  const inspect = await tls.docker(['plugin', 'inspect', TLS_PLUGIN]);
  const [plugin] = JSON.parse(inspect.stdout);
  const ca = plugin.Settings.Mounts.find((m: { Name: string }) => m.Name === 'tls-ca-cert');
  assert.equal({ source: ca.Source, destination: ca.Destination, options: ca.Options }, { source: pki.files['ca.crt'], destination: pki.files['ca.crt'], options: ['rbind', 'ro'] });
  assert.is((await tls.cli(['put', 'secret/app-1', 'db-password=-'], { env: admin, input: 'tls-pw' })).code, 0);
  const create = await tls.docker(['volume', 'create', '-d', TLS_PLUGIN, '-o', 'path=secret/app-1', tlsVolume], { timeoutMs: 60_000 });
  assert.is(create.code, 0, create.stderr);
  const read = await tls.docker(['run', '--rm', '-v', `${tlsVolume}:/run/secrets:ro`, 'alpine', 'cat', '/run/secrets/db-password'], { timeoutMs: 60_000 });
  assert.is(read.code, 0, read.stderr);
  assert.is(read.stdout, 'tls-pw');
  // The plugin logged in with the role over TLS, in the namespace, and wrote its login state into the mounted driver directory.
  const credential = JSON.parse(await readFile(join(tls.home, 'driver', 'credential.json'), 'utf8'));
  assert.is(credential.token, undefined);
  assert.ok(credential.approle.roleId);
  const auth = JSON.parse(await readFile(join(tls.home, 'driver', 'auth-status.json'), 'utf8'));
  assert.equal({ method: auth.method, state: auth.state }, { method: 'approle', state: 'ok' });
  assert.ok(auth.logins >= 1);
  const audit = (await readFile(join(tls.home, 'store', 'audit.log'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  const logins = audit.filter((l) => l.path === 'auth/approle/login');
  assert.ok(logins.length >= 1);
  for (const l of logins) assert.is(l.namespace, 'admin');
  assert.not.ok(inspect.stdout.includes(rootToken));
  assert.is((await tls.docker(['volume', 'rm', tlsVolume], { timeoutMs: 60_000 })).code, 0);
  assert.is((await tls.docker(['plugin', 'disable', TLS_PLUGIN], { timeoutMs: 60_000 })).code, 0);
  assert.is((await tls.docker(['plugin', 'rm', TLS_PLUGIN], { timeoutMs: 60_000 })).code, 0);
});

test('the plugin is disabled and removed once its volumes are gone', async () => {
  if (skip) return skipped(skip);
  const inUse = await sfs!.docker(['plugin', 'disable', PLUGIN], { timeoutMs: 60_000 });
  assert.is(inUse.code, 1, 'dockerd refuses to disable a plugin with a volume');
  assert.match(inUse.stderr, /in use/);
  assert.is((await sfs!.docker(['volume', 'rm', volume], { timeoutMs: 60_000 })).code, 0);
  const disable = await sfs!.docker(['plugin', 'disable', PLUGIN], { timeoutMs: 60_000 });
  assert.is(disable.code, 0, disable.stderr);
  const disabled = await sfs!.cli(['driver', 'status']);
  assert.is(disabled.code, 1, 'a disabled plugin is a driver that does not run');
  assert.is(disabled.stdout.split('\n')[0], `managed plugin ${PLUGIN}: DISABLED`);
  assert.match(disabled.stderr, `hint: docker plugin enable ${PLUGIN}`);
  const rm = await sfs!.docker(['plugin', 'rm', PLUGIN], { timeoutMs: 60_000 });
  assert.is(rm.code, 0, rm.stderr);
  assert.is((await sfs!.docker(['plugin', 'ls', '-q'])).stdout.trim(), '');
  assert.equal(await doctorCheck('managed plugin'), { name: 'managed plugin', ok: false, detail: `the engine has no plugin ${PLUGIN}`, hint: 'docker secretfs init --managed (builds and enables it)' });
  // Every unmount inside the plugin worked (a failed one keeps fuse-native's thread, and the driver
  // could then only end by dockerd's SIGKILL), and it stopped at the disable.
  const log = await driverLog();
  assert.not.ok(log.some((l) => l.msg === 'unmount failed, retrying lazily'), 'an unmount failed inside the plugin');
  assert.ok(log.filter((l) => l.msg === 'unmounted').length >= 3, 'each container stop unmounted');
  // Stopped at the dockerd restart, at init --force and at the disable (the kill left no last words).
  assert.is(log.filter((l) => l.msg === 'driver stopped').length, 3);
});

test.run();
