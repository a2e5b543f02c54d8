import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TEST_IMAGE } from '../../../harness/docker-image.js';
import { sharedTestDockerd } from '../../../harness/dockerd.js';
import { missingRequirement, skipped } from '../../helpers/environment.js';
import { createSecretfsEnv, type SecretfsEnv } from '../../helpers/secretfs-env.js';

/**
 * The trust boundary from the command line: `allow`, what `init` allows, and policy injection
 * through `volume create`, `policy create` and `run --path`, each refused before Vault is asked
 * anything, with nothing written (real dockerd, FUSE, embedded store).
 */
const test = suite('e2e/trust boundary (allow, injection through the CLI)');
let sfs: SecretfsEnv;
const image = TEST_IMAGE;
let skip: string | undefined;

const INJECTED = 'secret/x" { capabilities = ["deny"] } path "sys/*';

async function policies(): Promise<string[]> {
  return JSON.parse((await sfs.cli(['policy', 'ls', '--format', 'json'])).stdout);
}

async function ourVolumes(): Promise<string[]> {
  return (await sfs.docker(['volume', 'ls', '-q', '--filter', `driver=${sfs.driverName}`])).stdout.split('\n').filter(Boolean);
}

test.before(async () => {
  skip = await missingRequirement({ docker: true, fuse: true });
  if (skip) return;
  sfs = await createSecretfsEnv(await sharedTestDockerd());
  await sfs.init();
  assert.is((await sfs.cli(['put', 'secret/app-1', 'db-password'], { input: 'pw-app-1' })).code, 0);
  assert.is((await sfs.cli(['put', 'secret/app-2', 'db-password'], { input: 'pw-app-2' })).code, 0);
});

test.after(async () => {
  if (sfs) await sfs.teardown();
});

test('init allowed the default path, and allow / allow ls / allow rm manage the rest', async () => {
  if (skip) return skipped(skip);
  const ls = JSON.parse((await sfs.cli(['allow', 'ls', '--format', 'json'])).stdout);
  assert.equal(ls.map((a: any) => a.path), ['secret/app-1']);
  const vol = `${sfs.driverName}-plain`;
  const refused = await sfs.docker(['volume', 'create', '-d', sfs.driverName, '-o', 'path=secret/app-2', vol]);
  assert.is.not(refused.code, 0);
  assert.match(refused.stderr, /path secret\/app-2 is not allowed for volumes the driver creates; an administrator allows it with `docker secretfs allow secret\/app-2`/);
  const allowed = await sfs.cli(['allow', 'secret/app-2']);
  assert.is(allowed.code, 0, allowed.stderr);
  assert.match(allowed.stderr, /allowed secret\/app-2 \(policy secretfs-allow-secret_app-2-[0-9a-f]{16}\)/);
  assert.match((await sfs.cli(['allow', 'secret/app-2'])).stderr, /already allowed secret\/app-2/);
  assert.is((await sfs.docker(['volume', 'create', '-d', sfs.driverName, '-o', 'path=secret/app-2', vol])).code, 0);
  const read = await sfs.docker(['run', '--rm', '--network', 'none', '-v', `${vol}:/s`, image, 'cat', '/s/db-password']);
  assert.is(read.stdout, 'pw-app-2', read.stderr);
  assert.is((await sfs.docker(['volume', 'rm', vol])).code, 0);
  assert.is((await sfs.cli(['allow', 'rm', 'secret/app-2'])).code, 0);
  assert.equal(JSON.parse((await sfs.cli(['allow', 'ls', '--format', 'json'])).stdout).map((a: any) => a.path), ['secret/app-1']);
});

test('injection through volume create, policy create --dry-run, run --path and allow: exit 1, a clear message, nothing written', async () => {
  if (skip) return skipped(skip);
  const before = await policies();
  const attempts = [
    ['volume', 'create', 'inj', '--path', INJECTED],
    ['policy', 'create', 'inj', '--read', INJECTED, '--dry-run'],
    ['policy', 'create', 'inj', '--read', 'secret/app-1', '--write', 'secret/a*'],
    ['run', '--path', INJECTED, '--', image, 'true'],
    ['allow', INJECTED],
    ['allow', 'secret/+/x'],
  ];
  for (const args of attempts) {
    const res = await sfs.cli(args);
    // run answers 125 when secretfs fails before the container (its documented contract).
    assert.is(res.code, args[0] === 'run' ? 125 : 1, args.join(' '));
    assert.is(res.stdout, '', `${args.join(' ')} printed no policy`);
    assert.match(res.stderr, /path must not (contain "[\\"*]+"|have a "\+" segment) /, args.join(' '));
  }
  assert.equal(await policies(), before, 'no policy written');
  assert.equal(await ourVolumes(), [], 'no volume created');
});

test.run();
