import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { TEST_IMAGE } from '../../../harness/docker-image.js';
import { resolvePaths } from '../../../lib/paths.js';
import { missingRequirement, skipped } from '../../helpers/environment.js';
import { rootVaultOf, until, type RootVault } from '../../helpers/root-vault.js';
import { startPrivateSecretfsEnv, type PrivateSecretfsEnv } from '../../helpers/secretfs-env.js';

/**
 * The driver answers Remove once the revocation of the volume's token is recorded in its state,
 * before Vault has revoked it (so `docker run --rm` does not wait for Vault). Attacked here: the
 * store stopped so the revocation cannot happen (a frozen one would still get the request the
 * driver sent), the container exits and is removed, the driver is killed (SIGKILL) in that window;
 * the token must still be revoked once the driver starts again. On a dockerd of its own: a killed
 * driver slows every later lookup of its engine.
 */
const test = suite('e2e/driver: a token is revoked after Remove even when the driver is killed right after answering it');
const CANARY = `CANARY-${randomBytes(8).toString('hex')}`;
let sfs: PrivateSecretfsEnv | undefined;
let skip: string | undefined;
let store: RootVault;

async function pidOf(file: string): Promise<number> {
  const pid = Number((await readFile(file, 'utf8')).trim());
  assert.ok(Number.isInteger(pid) && pid > 1, `a pid in ${file}`);
  return pid;
}

test.before(async () => {
  skip = await missingRequirement({ docker: true, fuse: true });
  if (skip) return;
  sfs = await startPrivateSecretfsEnv();
  store = await rootVaultOf(sfs.home);
  const put = await sfs.cli(['put', 'secret/app-1', 'db-password'], { input: CANARY });
  assert.is(put.code, 0, put.stderr);
});

test.after(async () => {
  if (sfs) await sfs.stop();
});

test('store stopped, container removed, driver killed before it could revoke: the restarted driver revokes the token', async () => {
  if (skip || !sfs) return skipped(skip ?? 'no environment');
  const paths = resolvePaths(sfs.env);
  // As `docker secretfs run` does for an allowed path: an anonymous ephemeral volume removed with the container.
  const mount = `type=volume,target=/run/secrets,volume-driver=${sfs.driverName},volume-opt=ephemeral=true,volume-opt=path=secret/app-1`;
  const child = spawn('docker', ['run', '--rm', '--mount', mount, TEST_IMAGE, 'sh', '-c', 'cat /run/secrets/db-password; echo; sleep 2'], {
    env: { ...process.env, ...sfs.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  try {
    await until(async () => out, (o) => o.includes(CANARY) || child.exitCode !== null);
    assert.ok(out.includes(CANARY), out);
    const log = await readFile(paths.driverLogFile, 'utf8');
    const accessors = log.split('\n').filter((l) => l.includes('"volume created"')).map((l) => JSON.parse(l).accessor as string);
    assert.is(accessors.length, 1, 'one volume token');
    const accessor = accessors[0];
    assert.is(await store.tokenAlive(accessor), true);

    // Vault goes away: the driver's revocation cannot complete.
    const stopped = await sfs.cli(['server', 'stop']);
    assert.is(stopped.code, 0, stopped.stderr);
    // The container ends and dockerd removes it with its volume: Remove is answered without Vault.
    assert.is(await exited, 0, out);
    const state = JSON.parse(await readFile(paths.driverStateFile, 'utf8'));
    assert.equal(state.volumes, {}, 'the volume is gone from the state');
    assert.equal(state.revoking.map((r: { accessor: string }) => r.accessor), [accessor], 'its revocation is recorded');

    process.kill(await pidOf(paths.driverPidFile), 'SIGKILL');
    const back = await sfs.cli(['server', 'start', '--addr', store.address]);
    assert.is(back.code, 0, back.stderr);
    assert.is(await store.tokenAlive(accessor), true, 'the killed driver had not revoked it');

    const started = await sfs.cli(['driver', 'start']);
    assert.is(started.code, 0, started.stderr);
    assert.is(await until(() => store.tokenAlive(accessor), (alive) => !alive, 10_000), false, 'the restarted driver revoked it');
    const after = await until(
      async () => JSON.parse(await readFile(paths.driverStateFile, 'utf8')),
      (s) => s.revoking === undefined,
      5000,
    );
    assert.equal(after, { version: 1, volumes: {} }, 'nothing left to revoke');
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});

test.run();
