import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sharedTestDockerd } from '../../../harness/dockerd.js';
import { missingRequirement, skipped } from '../../helpers/environment.js';
import { runOnPty } from '../../helpers/pty.js';
import { CLI_ENTRY } from '../../../harness/run-cli.js';
import { createSecretfsEnv, type SecretfsEnv } from '../../helpers/secretfs-env.js';

const test = suite('e2e/prompts on a terminal (init wizard, put without echo)');
const VALUE = `tty-${randomBytes(6).toString('hex')}`;
let sfs: SecretfsEnv;
let skip: string | undefined;
const ENTER = '\r';
const cli = (args: string) => `${process.execPath} ${CLI_ENTRY} ${args}`;

test.before(async () => {
  skip = await missingRequirement({ docker: true, fuse: true });
  if (skip) return;
  sfs = await createSecretfsEnv(await sharedTestDockerd());
});

test.after(async () => {
  if (sfs) await sfs.teardown();
});

test('the init wizard on a TTY: embedded store, a chosen default path', async () => {
  if (skip) return skipped(skip);
  const res = await runOnPty(cli('init --store-addr http://127.0.0.1:0'), [
    { after: 2500, text: ENTER }, // where secrets live: the default, the embedded store
    { after: 800, text: '\x15secret/team-a' }, // Ctrl-U clears the suggested path
    { after: 500, text: ENTER },
    { after: 500, text: ENTER }, // the paths the driver may serve: the default, the default path
  ], sfs.env);
  assert.is(res.code, 0, res.output);
  assert.match(res.output, /Where should secrets live\?/);
  assert.match(res.output, /Paths `docker volume create -d secretfs` may serve/);
  assert.match(res.output, /allowed secret\/team-a/);
  const config = JSON.parse(await readFile(join(sfs.home, 'config.json'), 'utf8'));
  assert.is(config.backend, 'embedded');
  assert.is(config.defaultPath, 'secret/team-a');
});

test('put on a TTY asks twice without echo; a mismatch asks again', async () => {
  if (skip) return skipped(skip);
  const res = await runOnPty(cli('put secret/team-a db-password'), [
    { after: 2000, text: VALUE + ENTER },
    { after: 700, text: 'typo' + ENTER },
    { after: 700, text: VALUE + ENTER },
    { after: 700, text: VALUE + ENTER },
  ], sfs.env);
  assert.is(res.code, 0, res.output);
  assert.not.ok(res.output.includes(VALUE), 'the value was echoed');
  assert.match(res.output, /did not match/);
  assert.is((await sfs.cli(['get', 'secret/team-a', 'db-password'])).stdout, VALUE);
});

test('Ctrl-C at a prompt cancels with exit 130 and stores nothing', async () => {
  if (skip) return skipped(skip);
  const res = await runOnPty(cli('put secret/team-a other'), [{ after: 2000, text: '\x03' }], sfs.env);
  assert.is(res.code, 130, res.output);
  const keys = Object.keys(JSON.parse((await sfs.cli(['get', 'secret/team-a', '--format', 'json'])).stdout));
  assert.equal(keys, ['db-password']);
});

test.run();
