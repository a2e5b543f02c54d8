import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createTestCli } from '../../helpers/cli-context.js';

/**
 * The CLI in process, through createProgram with a context of the test's own: parsing, what is
 * checked before anything is asked of Vault or Docker, prompts against flags, and exit codes.
 * Nothing here reaches a Vault or a Docker engine (its Docker socket does not exist); the
 * commands that need them are tested end to end in test/e2e.
 */
const test = suite('cli/program (in process)');

let cli: Awaited<ReturnType<typeof createTestCli>>;
test.before.each(async () => {
  cli = await createTestCli();
});
test.after.each(async () => {
  await cli.cleanup();
});

/** Resolves once stderr shows text; fails after ms. */
async function waitForStderr(t: Awaited<ReturnType<typeof createTestCli>>, text: string, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!t.stderrSoFar().includes(text)) {
    if (Date.now() > until) throw new Error(`stderr never showed ${JSON.stringify(text)}; it has ${JSON.stringify(t.stderrSoFar())}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('an unknown command and a missing argument are usage errors: one line, exit 1', async () => {
  assert.equal(await cli.run(['nope']), { code: 1, stdout: '', stderr: "error: unknown command 'nope'\n" });
  assert.equal(await cli.run(['get']), { code: 1, stdout: '', stderr: "error: missing required argument 'path'\n" });
});

test('--format takes only its choices, per command', async () => {
  const get = await cli.run(['get', 'secret/x', '--format', 'xml']);
  assert.is(get.code, 1);
  assert.is(get.stderr, "error: option '--format <format>' argument 'xml' is invalid. Allowed choices are table, json, env, yaml.\n");
  const init = await cli.run(['init', '--format', 'yaml']);
  assert.is(init.code, 1);
  assert.is(init.stderr, "error: option '--format <format>' argument 'yaml' is invalid. Allowed choices are text, json.\n");
});

test('version --format json is JSON on stdout only, exit 0', async () => {
  const r = await cli.run(['version', '--format', 'json']);
  assert.is(r.code, 0);
  assert.is(r.stderr, '');
  assert.equal(Object.keys(JSON.parse(r.stdout)), ['version', 'node', 'platform']);
});

test('a bad path, bad keys and bad -o options are refused before Vault is asked (exit 1)', async () => {
  assert.equal(await cli.run(['get', '../x']), { code: 1, stdout: '', stderr: 'error: path must not contain "." or ".." segments: ../x\n' });
  assert.equal(await cli.run(['rm', 'secret/a', 'k', '--destroy']), { code: 1, stdout: '', stderr: 'error: --destroy removes the whole secret; do not name keys with it\n' });
  assert.equal(await cli.run(['volume', 'create', 'v1', '--path', 'secret/a', '-o', 'token=abc']), { code: 1, stdout: '', stderr: 'error: -o token is set by secretfs itself\n' });
  const mount = await cli.run(['mount', 'secret/a', `${cli.home}/mnt`, '-o', 'colour=red']);
  assert.is(mount.code, 1);
  assert.match(mount.stderr, /^error: unknown option "colour": valid options are uid, gid, mode, dir_mode, listing, cache_ttl, stale_if_error, version, encoding, keys\n/);
});

test('before init: a ConfigError with the next step (exit 1); run says 125, as docker run does', async () => {
  const notSetUp = 'error: secretfs is not set up yet\nhint: run `docker secretfs init`\n';
  assert.equal(await cli.run(['ls', 'secret/']), { code: 1, stdout: '', stderr: notSetUp });
  assert.equal(await cli.run(['run', '--', 'alpine']), { code: 125, stdout: '', stderr: notSetUp });
});

test('an unreachable Docker engine is exit 2, and init changes nothing', async () => {
  const r = await cli.run(['init', '--yes', '--embedded']);
  assert.is(r.code, 2);
  assert.is(r.stderr, '✖ finding the Docker engine\nerror: cannot reach the Docker engine (ENOENT)\nhint: is dockerd running? `docker info` should answer\n');
});

test('a token is never taken from argv: token revoke without stdin or --accessor is a usage error', async () => {
  cli.stdin.end();
  assert.equal(await cli.run(['token', 'revoke']), { code: 1, stdout: '', stderr: 'error: give the token on stdin or pass --accessor\n' });
});

const interactive = suite('cli/program: init prompts against flags');
let tty: Awaited<ReturnType<typeof createTestCli>>;
interactive.before.each(async () => {
  tty = await createTestCli({ interactive: true });
});
interactive.after.each(async () => {
  await tty.cleanup();
});

const BACKEND = 'Where should secrets live?';
const PATH_PROMPT = 'Default secret path for `run`:';
const ALLOW_PROMPT = 'Paths `docker volume create -d secretfs` may serve';

/** Takes the default answer (Enter) of each prompt, in order, as each appears. */
async function acceptDefaults(...prompts: string[]): Promise<void> {
  for (const prompt of prompts) {
    await waitForStderr(tty, prompt);
    tty.stdin.write('\r');
  }
}

interactive('on a terminal with no flags, init asks for the backend and the default path', async () => {
  const running = tty.run(['init']);
  await acceptDefaults(BACKEND, PATH_PROMPT, ALLOW_PROMPT);
  const r = await running;
  assert.is(r.code, 2, 'then it stops at the unreachable Docker engine');
  assert.match(r.stderr, /error: cannot reach the Docker engine \(ENOENT\)/);
});

interactive('--embedded skips the backend prompt; the default path is still asked', async () => {
  const running = tty.run(['init', '--embedded']);
  await acceptDefaults(PATH_PROMPT, ALLOW_PROMPT);
  const r = await running;
  assert.is(r.code, 2);
  assert.not.match(r.stderr, BACKEND);
});

interactive('--embedded --default-path --allow: nothing is asked', async () => {
  const r = await tty.run(['init', '--embedded', '--default-path', 'secret/team/app', '--allow', 'secret/team/app']);
  assert.is(r.code, 2);
  assert.not.match(r.stderr, BACKEND);
  assert.not.match(r.stderr, PATH_PROMPT);
  assert.not.match(r.stderr, ALLOW_PROMPT);
  assert.match(r.stderr, /error: cannot reach the Docker engine \(ENOENT\)/);
});

interactive('--vault-addr skips the backend and address prompts (the token comes from VAULT_TOKEN)', async () => {
  tty.ctx.env.VAULT_TOKEN = 'not-a-real-token';
  const running = tty.run(['init', '--vault-addr', 'http://127.0.0.1:9']);
  await acceptDefaults(PATH_PROMPT, ALLOW_PROMPT);
  const r = await running;
  assert.is(r.code, 2);
  assert.not.match(r.stderr, BACKEND);
  assert.not.match(r.stderr, 'Vault address:');
});

interactive('Ctrl-C at a prompt is "Cancelled." and exit 130', async () => {
  const running = tty.run(['init']);
  await waitForStderr(tty, BACKEND);
  tty.stdin.write('\x03');
  const r = await running;
  assert.is(r.code, 130);
  assert.match(r.stderr, /Cancelled\.\n$/);
});

test.run();
interactive.run();
