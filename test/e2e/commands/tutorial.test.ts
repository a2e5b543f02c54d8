import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { callDriver } from '../../../lib/driver/client.js';
import { resolvePaths } from '../../../lib/paths.js';
import { sharedTestDockerd } from '../../../harness/dockerd.js';
import { missingRequirement, skipped } from '../../helpers/environment.js';
import { createSecretfsEnv, type SecretfsEnv } from '../../helpers/secretfs-env.js';

/**
 * Commands as Docker users type them from the docs, run exactly as written: the LibSecret
 * volume-driver tutorial's short form with a trailing slash, and the Swarm/Kubernetes labs'
 * `docker commit` check. The driver is named `secretfs` as in the docs; that is safe only because
 * it runs on the harness's private dockerd, whose /run/docker/plugins is a dir of its own, and
 * the private dockerd has the local busybox image tagged `alpine`.
 */
const test = suite('e2e/the tutorials\' commands as written (private dockerd, driver named secretfs)');
const CANARY = `CANARY-${randomBytes(8).toString('hex')}`;
let sfs: SecretfsEnv | undefined;
let skip: string | undefined;
const containers: string[] = [];
const images: string[] = [];

test.before(async () => {
  skip = await missingRequirement({ docker: true, fuse: true });
  if (skip) return;
  sfs = await createSecretfsEnv(await sharedTestDockerd(), { driverName: 'secretfs' });
  await sfs.init();
  const put = await sfs.cli(['put', 'secret/app-1', 'db-password'], { input: CANARY });
  assert.is(put.code, 0, put.stderr);
});

test.after(async () => {
  if (!sfs) return;
  for (const c of containers) await sfs.docker(['rm', '-f', c]);
  for (const i of images) await sfs.docker(['image', 'rm', '-f', i]);
  await sfs.teardown();
});

/** Splits a command line as written in the docs (plain words only) and runs it on the private dockerd. */
function asWritten(line: string) {
  const [docker, ...args] = line.split(' ');
  assert.is(docker, 'docker');
  return sfs!.docker(args, { timeoutMs: 120_000 });
}

test('LibSecret tutorial: docker run --rm --volume-driver secretfs -v secret/app-1/:/secrets alpine cat /secrets/db-password', async () => {
  if (skip) return skipped(skip);
  const r = await asWritten('docker run --rm --volume-driver secretfs -v secret/app-1/:/secrets alpine cat /secrets/db-password');
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, CANARY);
  // Docker keeps the named volume after --rm; its path is the name without the slash.
  const status = JSON.parse((await sfs!.cli(['driver', 'status', '--format', 'json'])).stdout);
  const vol = status.volumes.find((v: { name: string }) => v.name === 'secret/app-1/');
  assert.ok(vol, JSON.stringify(status.volumes));
  assert.is(vol.path, 'secret/app-1');
  // dockerd's API cannot address a name ending in "/" (its router drops the slash from
  // /volumes/NAME, and asking for the unknown name probes every driver dockerd has seen), so the
  // volume is removed through the driver's socket, as dockerd would (Remove revokes its token).
  const removed = await callDriver(resolvePaths(sfs!.env).driverSocket, '/VolumeDriver.Remove', { Name: 'secret/app-1/' });
  assert.equal(removed, { Err: '' });
  const after = JSON.parse((await sfs!.cli(['driver', 'status', '--format', 'json'])).stdout);
  assert.not.ok(after.volumes.some((v: { name: string }) => v.name === 'secret/app-1/'), 'the driver removed it');
});

test('docker commit of a running container with a secretfs volume: the image holds no secret and no token', async () => {
  if (skip) return skipped(skip);
  const name = `sfs-commit-${randomBytes(3).toString('hex')}`;
  const image = `secretfs-test/committed-${randomBytes(3).toString('hex')}:latest`;
  containers.push(name);
  const run = await sfs!.docker(['run', '-d', '--name', name, '--volume-driver', 'secretfs', '-v', 'secret/app-1/:/secrets', 'alpine', 'sleep', '300']);
  assert.is(run.code, 0, run.stderr);
  const live = await sfs!.docker(['exec', name, 'cat', '/secrets/db-password']);
  assert.is(live.stdout, CANARY, 'the running container reads the secret');
  const commit = await sfs!.docker(['commit', name, image]);
  assert.is(commit.code, 0, commit.stderr);
  images.push(image);
  // Every byte of the image (layers and config), as `docker image save` writes it.
  const saved = await new Promise<Buffer>((resolve, reject) => {
    const child = spawn('docker', ['image', 'save', image], { env: { ...process.env, ...sfs!.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`docker image save exited ${code}`));
    });
  });
  assert.ok(saved.length > 100_000, `the saved image has its layers (${saved.length} bytes)`);
  assert.not.ok(saved.includes(CANARY), 'the secret is not in the committed image');
  assert.not.ok(/hvs\.[A-Za-z0-9_-]{20,}/.test(saved.toString('latin1')), 'no Vault token in the committed image');
  // A container of the committed image, without the volume, has no secret file.
  const fresh = await sfs!.docker(['run', '--rm', image, 'cat', '/secrets/db-password']);
  assert.is.not(fresh.code, 0);
  assert.match(fresh.stderr, /No such file or directory/);
  assert.is((await sfs!.docker(['rm', '-f', name])).code, 0);
  containers.splice(containers.indexOf(name), 1);
});

test.run();
