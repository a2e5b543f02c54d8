import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_IMAGE } from '../../../harness/docker-image.js';
import { sharedTestDockerd, startTestDockerd, testDockerdMissing, type TestDockerd } from '../../../harness/dockerd.js';
import { missingRequirement } from '../../helpers/environment.js';
import { runCommand } from '../../../harness/run-cli.js';
import { createSecretfsEnv, type SecretfsEnv } from '../../helpers/secretfs-env.js';

/**
 * Swarm secrets and volumes on a real single-node swarm (a private dockerd, `swarm init
 * --advertise-addr 127.0.0.1` at set-up, `swarm leave --force` at teardown whatever happened),
 * the built CLI, the driver's secret provider and the embedded store. The stack and Compose files
 * deployed are the ones in examples/.
 */
const test = suite('e2e/swarm: secretfs secrets and volumes in services, stacks and Compose');
const EXAMPLES = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'examples');
const V1 = `v1-${randomBytes(6).toString('hex')}`;
const V2 = `v2-${randomBytes(6).toString('hex')}`;
let dockerd: TestDockerd | undefined;
let sfs: SecretfsEnv;
let skip: string | undefined;

const docker = (args: string[], input?: string) => sfs.docker(args, { input, timeoutMs: 120_000 });

async function ok(res: Promise<{ code: number; stdout: string; stderr: string }>, what: string): Promise<string> {
  const r = await res;
  assert.is(r.code, 0, `${what}: ${r.stderr}`);
  return r.stdout;
}

/** Polls until `check` returns a value, or fails after `timeoutMs` with the last state. */
async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/** The service's log lines (every task's), without task prefixes. */
async function serviceLogs(service: string): Promise<string[]> {
  const r = await docker(['service', 'logs', '--raw', service]);
  return (r.stdout + r.stderr).split('\n').map((l) => l.trim()).filter(Boolean);
}

/**
 * Swarm's scheduler places a task that mounts a volume only on a node whose engine reports the
 * volume driver, and an engine reports a legacy (socket) driver once it has used it. `docker volume
 * ls` makes it scan the plugin dir; the node description follows within about 20 s.
 */
async function registerVolumeDriver(): Promise<void> {
  await ok(docker(['volume', 'ls', '-q']), 'volume ls');
  await waitFor('the node to report the volume driver', async () => {
    const plugins = JSON.parse(await ok(docker(['node', 'inspect', 'self', '--format', '{{json .Description.Engine.Plugins}}']), 'node inspect'));
    return plugins.some((p: { Type: string; Name: string }) => p.Type === 'Volume' && p.Name === sfs.driverName) ? true : undefined;
  });
}

/** Removes a stack and its volumes (their task containers go away asynchronously). */
async function removeStack(stack: string, volumes: string[]): Promise<void> {
  await ok(docker(['stack', 'rm', stack]), 'stack rm');
  for (const volume of volumes) {
    await waitFor(`volume ${volume} to be removable`, async () => ((await docker(['volume', 'rm', volume])).code === 0 ? true : undefined));
  }
}

/** A long-running service that prints what it reads at start. */
async function createService(name: string, args: string[], command: string): Promise<void> {
  await ok(docker(['service', 'create', '-d', '--no-resolve-image', '--name', name, ...args, TEST_IMAGE, 'sh', '-c', `${command}; exec sleep 3600`]), `service create ${name}`);
}

test.before(async () => {
  skip = await missingRequirement({ docker: true, fuse: true });
  if (skip) return;
  const missing = testDockerdMissing();
  if (missing) throw new Error(`a private dockerd cannot run here: ${missing}`);
  dockerd = await startTestDockerd({ swarm: true });
  sfs = await createSecretfsEnv(dockerd);
  await sfs.init();
  await ok(sfs.cli(['put', 'secret/app-1', 'db-password'], { input: V1 }), 'put');
});

test.after(async () => {
  // Everything this suite made lives on its own dockerd: services, secrets and stacks go with
  // `swarm leave --force` and the engine itself (dockerd.stop), also when a test failed.
  try {
    if (sfs) await sfs.teardown();
  } finally {
    await dockerd?.stop();
  }
});

test('secret create checks the path and key, allows the path and creates a driver-backed Swarm secret (no value in Docker)', async () => {
  if (skip) return;
  const bad = await sfs.cli(['secret', 'create', 'nokey', '--path', 'secret/app-1', '--key', 'nope']);
  assert.is(bad.code, 1);
  assert.is(bad.stderr, 'error: no key "nope" in secret/app-1 (its keys: db-password)\n');
  const nopath = await sfs.cli(['secret', 'create', 'nopath', '--path', 'secret/nothing-here']);
  assert.is(nopath.code, 2);
  assert.match(nopath.stderr, /^error: no secret at secret\/nothing-here\n/);
  assert.is((await docker(['secret', 'ls', '-q'])).stdout, '', 'nothing was created');

  const id = (await ok(sfs.cli(['secret', 'create', 'db_pwd', '--path', 'secret/app-1', '--key', 'db-password']), 'secret create')).trim();
  const inspect = JSON.parse(await ok(docker(['secret', 'inspect', 'db_pwd']), 'inspect'))[0];
  assert.is(inspect.ID, id);
  assert.equal(inspect.Spec.Driver, { Name: sfs.driverName });
  assert.equal(inspect.Spec.Labels, { 'secretfs.path': 'secret/app-1', 'secretfs.key': 'db-password' });
  assert.not.ok(JSON.stringify(inspect).includes(V1));
  assert.is(inspect.Spec.Data, undefined);
});

test('a service with --secret reads the Vault value; after put and secret rotate its new task reads the new one', async () => {
  if (skip) return;
  await createService('web', ['--secret', 'db_pwd'], 'echo got=$(cat /run/secrets/db_pwd)');
  await waitFor('the first task to print V1', async () => ((await serviceLogs('web')).includes(`got=${V1}`) ? true : undefined));

  await ok(sfs.cli(['put', 'secret/app-1', 'db-password'], { input: V2 }), 'put v2');
  const dry = await sfs.cli(['secret', 'rotate', 'db_pwd', '--dry-run', '--format', 'json']);
  assert.is(dry.code, 0, dry.stderr);
  assert.equal(JSON.parse(dry.stdout), { secrets: ['db_pwd'], services: ['web'], dryRun: true });
  assert.is((await docker(['service', 'ps', '-q', 'web'])).stdout.trim().split('\n').length, 1, 'dry run restarted nothing');

  const rotate = await sfs.cli(['secret', 'rotate', 'db_pwd', '--format', 'json'], { timeoutMs: 120_000 });
  assert.is(rotate.code, 0, rotate.stderr);
  assert.equal(JSON.parse(rotate.stdout), { secrets: ['db_pwd'], services: ['web'], dryRun: false });
  assert.match(rotate.stderr, /restarting web: docker service update --force web/);
  const logs = await waitFor('the new task to print V2', async () => {
    const l = await serviceLogs('web');
    return l.includes(`got=${V2}`) ? l : undefined;
  });
  assert.equal(logs.filter((l) => l.startsWith('got=')).sort(), [`got=${V1}`, `got=${V2}`].sort());

  const ls = JSON.parse(await ok(sfs.cli(['secret', 'ls', '--format', 'json']), 'secret ls'));
  assert.equal(
    ls.map((r: any) => [r.name, r.path, r.key, r.vaultVersion, r.pinned, r.services, r.problem]),
    [['db_pwd', 'secret/app-1', 'db-password', 2, false, ['web'], undefined]],
  );
  await ok(docker(['service', 'rm', 'web']), 'service rm');
});

test('source=...,target=/custom/path/password,mode=0400 and a pinned version', async () => {
  if (skip) return;
  await ok(sfs.cli(['secret', 'create', 'db_pwd_v1', '--path', 'secret/app-1', '--key', 'db-password', '--version', '1']), 'create pinned');
  await createService('custom', ['--secret', 'source=db_pwd_v1,target=/custom/path/password,mode=0400'], 'echo mode=$(stat -c %a /custom/path/password) got=$(cat /custom/path/password)');
  await waitFor('the task to print the pinned value', async () => ((await serviceLogs('custom')).includes(`mode=400 got=${V1}`) ? true : undefined));
  await ok(docker(['service', 'rm', 'custom']), 'service rm');
});

test('a secret whose path Swarm may not read fails the task; secret ls and the driver log say why, without the value', async () => {
  if (skip) return;
  await ok(sfs.cli(['put', 'secret/private', 'k'], { input: V1 }), 'put private');
  // Created with docker itself, bypassing `secretfs secret create` (which would allow the path).
  const id = (await ok(docker(['secret', 'create', '--driver', sfs.driverName, '--label', 'secretfs.path=secret/private', '--label', 'secretfs.key=k', 'denied']), 'docker secret create')).trim();
  await createService('denied', ['--secret', 'denied', '--restart-condition', 'none'], 'cat /run/secrets/denied');
  const error = await waitFor('the task to fail', async () => {
    const ps = await docker(['service', 'ps', '--no-trunc', '--format', '{{.CurrentState}}|{{.Error}}', 'denied']);
    return /^Failed/.test(ps.stdout) ? ps.stdout.trim() : undefined;
  });
  // swarmkit drops the provider's Err (the dispatcher logs it at debug level), so the worker reports the secret missing.
  assert.match(error, new RegExp(`\\|"?starting container failed: unable to get secret from secret store: secret ${id} not found"?$`));
  const ls = JSON.parse(await ok(sfs.cli(['secret', 'ls', '--format', 'json']), 'secret ls'));
  const row = ls.find((r: any) => r.name === 'denied');
  assert.is(row.problem, 'secret/private is not allowed for Swarm secrets: tasks fail (docker secretfs secret allow secret/private)');
  const log = await readFile(join(sfs.home, 'log', 'driver.log'), 'utf8');
  assert.ok(
    log.includes('secret \\"denied\\": label secretfs.path: permission denied reading secret/private: the path is not allowed for Swarm secrets (an administrator allows it with `docker secretfs secret allow secret/private`)'),
    'the Err is in the driver log',
  );
  assert.not.ok(log.includes(V1) || log.includes(V2), 'no value in the driver log');
  await ok(docker(['service', 'rm', 'denied']), 'service rm');
});

test('secret rotate refuses plain Swarm secrets and unknown services; secret create refuses an existing name', async () => {
  if (skip) return;
  await ok(docker(['secret', 'create', 'plain', '-'], 'plain-value'), 'plain secret');
  const plain = await sfs.cli(['secret', 'rotate', 'plain']);
  assert.is(plain.code, 1);
  assert.match(plain.stderr, /^error: plain is not a secretfs secret \(a plain Swarm secret\): its value cannot change\n/);
  const svc = await sfs.cli(['secret', 'rotate', 'db_pwd', '--service', 'ghost']);
  assert.is(svc.code, 1);
  assert.is(svc.stderr, 'error: no service named ghost\n');
  const again = await sfs.cli(['secret', 'create', 'db_pwd', '--path', 'secret/app-1']);
  assert.is(again.code, 1);
  assert.match(again.stderr, /^error: a Swarm secret named db_pwd already exists\n/);
});

test('a stack from examples/swarm/stack-secrets.yml: a secretfs secret and a secretfs volume', async () => {
  if (skip) return;
  const env = { ...sfs.env, SECRETFS_DRIVER: sfs.driverName };
  await ok(sfs.cli(['secret', 'allow', 'secret/app-1']), 'allow');
  await registerVolumeDriver();
  await ok(runCommand('docker', ['stack', 'deploy', '-c', join(EXAMPLES, 'swarm', 'stack-secrets.yml'), 'st'], { env, timeoutMs: 120_000 }), 'stack deploy');
  await waitFor('the stack task to print both', async () => {
    const l = await serviceLogs('st_app');
    return l.includes(`secret=${V2}`) && l.includes(`volume=${V2}`) ? true : undefined;
  });
  const inspect = JSON.parse(await ok(docker(['secret', 'inspect', 'st_db_pwd']), 'inspect'))[0];
  assert.is(inspect.Spec.Driver.Name, sfs.driverName);
  assert.is(inspect.Spec.Labels['secretfs.key'], 'db-password');
  const ls = JSON.parse(await ok(sfs.cli(['secret', 'ls', '--format', 'json']), 'secret ls'));
  assert.equal(ls.find((r: any) => r.name === 'st_db_pwd').services, ['st_app']);
  await removeStack('st', ['st_app1']);
});

test('a stack from examples/swarm/stack-volumes.yml: a secretfs volume with volume options', async () => {
  if (skip) return;
  const env = { ...sfs.env, SECRETFS_DRIVER: sfs.driverName };
  await registerVolumeDriver();
  await ok(runCommand('docker', ['stack', 'deploy', '-c', join(EXAMPLES, 'swarm', 'stack-volumes.yml'), 'vols'], { env, timeoutMs: 120_000 }), 'stack deploy');
  await waitFor('the reader to print uid, mode and value', async () => {
    const l = await serviceLogs('vols_reader');
    return l.includes('1000') && l.includes('400 1000') && l.includes(V2) ? true : undefined;
  });
  const vol = JSON.parse(await ok(docker(['volume', 'inspect', 'vols_app1']), 'volume inspect'))[0];
  assert.is(vol.Driver, sfs.driverName);
  assert.equal(vol.Options, { path: 'secret/app-1', uid: '1000', gid: '1000', mode: '0400', cache_ttl: '1s' });
  await removeStack('vols', ['vols_app1']);
});

test('docker-compose up with examples/compose/docker-compose.yml (a secretfs volume)', async () => {
  if (skip) return;
  const compose = await runCommand('sh', ['-c', 'command -v docker-compose']);
  if (compose.code !== 0) throw new Error('docker-compose is not installed (apt-get install -y docker-compose)');
  const env = { ...sfs.env, SECRETFS_DRIVER: sfs.driverName, COMPOSE_PROJECT_NAME: 'sfscompose' };
  const file = join(EXAMPLES, 'compose', 'docker-compose.yml');
  try {
    const up = await runCommand('docker-compose', ['-f', file, 'up', '--no-color', '--exit-code-from', 'app'], { env, timeoutMs: 180_000 });
    assert.is(up.code, 0, up.stderr);
    assert.match(up.stdout, new RegExp(`app_1 +\\| ${V2}`));
    const vol = JSON.parse(await ok(docker(['volume', 'inspect', 'sfscompose_app1']), 'volume inspect'))[0];
    assert.is(vol.Driver, sfs.driverName);
  } finally {
    await runCommand('docker-compose', ['-f', file, 'down', '-v'], { env, timeoutMs: 120_000 });
  }
  assert.is((await docker(['volume', 'ls', '-q', '--filter', 'name=sfscompose_app1'])).stdout, '', 'down -v removed the volume');
});

test('on an engine that is not a swarm manager the secret commands refuse clearly', async () => {
  if (skip) return;
  const plainEngine = await sharedTestDockerd();
  for (const args of [['secret', 'ls'], ['secret', 'rotate', 'db_pwd'], ['secret', 'create', 'x', '--path', 'secret/app-1']]) {
    const res = await sfs.cli(args, { env: plainEngine.env });
    assert.is(res.code, 1, args.join(' '));
    assert.is(
      res.stderr,
      'error: this Docker engine is not a swarm manager (Swarm is inactive on this engine): Swarm secrets live on managers\nhint: run `docker swarm init`, or point at a manager with docker -H or --context\n',
    );
  }
});

test.run();
