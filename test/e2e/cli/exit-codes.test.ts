import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli } from '../../../harness/run-cli.js';

const test = suite('e2e/exit-codes');

test('--help and --version exit 0 with output on stdout only', async () => {
  const help = await runCli(['--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /Usage: docker secretfs/);
  assert.is(help.stderr, '');
  const version = await runCli(['--version']);
  assert.is(version.code, 0);
  assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+$/);
});

test('an unknown command is a one-line usage error on stderr with exit 1', async () => {
  const res = await runCli(['frobnicate']);
  assert.is(res.code, 1);
  assert.is(res.stdout, '');
  assert.is(res.stderr.trim().split('\n').length, 1, res.stderr);
  assert.match(res.stderr, /unknown command 'frobnicate'/);
});

test('an unknown flag is a one-line usage error on stderr with exit 1', async () => {
  const res = await runCli(['version', '--frob']);
  assert.is(res.code, 1);
  assert.is(res.stdout, '');
  assert.match(res.stderr, /unknown option '--frob'/);
  assert.is(res.stderr.trim().split('\n').length, 1, res.stderr);
});

test('an invalid choice is a usage error naming the valid values', async () => {
  const res = await runCli(['version', '--format', 'xml']);
  assert.is(res.code, 1);
  assert.match(res.stderr, /json/);
});

test('no colour escapes without a TTY', async () => {
  const res = await runCli(['frobnicate'], { env: { NO_COLOR: '', FORCE_COLOR: '' } });
  assert.not.match(res.stderr, /\x1b\[/);
});

test.run();
