import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { missingRequirement, skipped } from '../../helpers/environment.js';
import { startPrivateSecretfsEnv, type PrivateSecretfsEnv } from '../../helpers/secretfs-env.js';

/**
 * A stopped host driver costs dockerd ~30 s on every lookup of an unknown volume name: `driver stop`
 * says so, `doctor` measures it, and the next command that needs the driver names the one command
 * that brings it back. Its own dockerd: a dead driver would slow every other suite on a shared one.
 */
const test = suite('e2e/a stopped host driver: what it costs and what says so');
let sfs: PrivateSecretfsEnv | undefined;
let skip: string | undefined;

interface Check {
  name: string;
  ok: boolean;
  warn?: boolean;
  detail: string;
  hint?: string;
}

test.before(async () => {
  skip = await missingRequirement({ docker: true, fuse: true });
  if (skip) return;
  sfs = await startPrivateSecretfsEnv();
});

test.after(async () => {
  await sfs?.stop();
});

const checks = async (): Promise<Check[]> => JSON.parse((await sfs!.cli(['doctor', '--format', 'json'], { timeoutMs: 120_000 })).stdout).checks;

test('with the driver up, doctor times an unknown-name lookup as fast and says what a reboot keeps', async () => {
  if (skip) return skipped(skip);
  const all = await checks();
  const lookup = all.find((c) => c.name === 'unknown volume')!;
  assert.ok(lookup.ok, lookup.detail);
  assert.match(lookup.detail, /^a lookup of an unknown volume name took \d+ ms$/);
  const reboot = all.find((c) => c.name === 'after a reboot')!;
  assert.ok(reboot.ok);
  assert.match(reboot.detail, /systemd/);
});

test('init on a machine without systemd says what will not come back after a reboot, with the commands to run then', async () => {
  if (skip) return skipped(skip);
  const address = JSON.parse((await sfs!.cli(['server', 'status', '--format', 'json'])).stdout).address as string;
  assert.match(address, /^http:\/\/127\.0\.0\.1:\d+$/);
  const warning = `warning: no systemd here: nothing brings the embedded store and the volume driver back after a reboot or a crash; after one, run \`docker secretfs server start --addr ${address}\` and then \`docker secretfs driver start\` (or run the driver as the managed plugin, \`docker secretfs init --managed\`, which dockerd starts itself)`;
  // init again (the first ran in before()): nothing changes, and the warning is said each time.
  const text = await sfs!.cli(['init', '--yes']);
  assert.is(text.code, 0, text.stderr);
  assert.ok(text.stderr.split('\n').includes(warning), text.stderr);
  assert.match(text.stderr, 'secretfs is already set up; nothing changed');
  const again = await sfs!.cli(['init', '--yes', '--format', 'json']);
  assert.is(again.code, 0, again.stderr);
  const out = JSON.parse(again.stdout) as { changed: boolean; steps: { step: string; changed: boolean; warn?: boolean; detail: string }[] };
  assert.is(out.changed, false);
  assert.equal(out.steps.find((st) => st.step === 'boot'), { step: 'boot', changed: false, warn: true, detail: warning.slice('warning: '.length) });
});

test('driver stop says what it costs; then doctor measures the stall and a volume create names `driver start`', async () => {
  if (skip) return skipped(skip);
  // dockerd activates the driver once (a volume of it), and from then on asks it about unknown names.
  assert.is((await sfs!.cli(['put', 'secret/app-1', 'k=-'], { input: 'v' })).code, 0);
  assert.is((await sfs!.cli(['volume', 'create', 'stopped-a', '--path', 'secret/app-1'])).code, 0);
  assert.is((await sfs!.cli(['volume', 'rm', 'stopped-a'])).code, 0);
  const stop = await sfs!.cli(['driver', 'stop']);
  assert.is(stop.code, 0, stop.stderr);
  assert.match(stop.stderr, 'dockerd waits ~30 s for it on every lookup of a volume name it does not know');
  assert.match(stop.stderr, '`docker secretfs driver start`');

  const lookup = (await checks()).find((c) => c.name === 'unknown volume')!;
  assert.not.ok(lookup.ok, lookup.detail);
  assert.match(lookup.detail, /a lookup of an unknown volume name took (\d+\.\d s|more than 5 s): dockerd is waiting on a volume driver that does not answer/);
  assert.match(lookup.hint ?? '', 'docker secretfs driver start');

  const create = await sfs!.cli(['volume', 'create', 'stopped-b', '--path', 'secret/app-1'], { timeoutMs: 120_000 });
  assert.is(create.code, 2, create.stderr);
  assert.match(create.stderr, 'docker secretfs driver start');

  assert.is((await sfs!.cli(['driver', 'start'])).code, 0);
  assert.ok((await checks()).find((c) => c.name === 'unknown volume')!.ok, 'fast again once the driver answers');
});

test.run();
