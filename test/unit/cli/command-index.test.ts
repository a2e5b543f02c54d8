import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Command } from 'commander';
import { createProgram, needsOnlySummaries, summarizeCommands } from '../../../cli/program.js';
import { createTestCli } from '../../helpers/cli-context.js';

/**
 * `docker secretfs --help` and a mistyped command are answered from the commands' summaries
 * (written into the bundle by scripts/bundle.mjs), without loading any command: what they print
 * must be what the whole tree prints.
 */
const test = suite('cli/command index: the root help from summaries is the whole tree\'s');

let cli: Awaited<ReturnType<typeof createTestCli>>;
test.before.each(async () => {
  cli = await createTestCli();
});
test.after.each(async () => {
  await cli.cleanup();
});

/** What commander writes for one argv (help or an error), and how it ended. */
async function outputOf(program: Command, args: string[]): Promise<{ out: string; err: string; code: string }> {
  let out = '';
  let err = '';
  program.exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s), getOutHelpWidth: () => 100, getErrHelpWidth: () => 100 });
  try {
    await program.parseAsync(args, { from: 'user' });
    return { out, err, code: 'none' };
  } catch (e) {
    return { out, err, code: (e as { code?: string }).code ?? String(e) };
  }
}

test('--help, no arguments, --version and a mistyped name print the same from the summaries', async () => {
  const full = await createProgram(cli.ctx);
  const summaries = summarizeCommands(full);
  assert.ok(summaries.length >= 15, `only ${summaries.length} commands`);
  assert.ok(summaries.some((s) => s.name === 'run' && s.args.join(' ') === '<docker-run-args...>' && s.hasOptions));
  for (const args of [['--help'], [], ['--version'], ['gett'], ['volumes']]) {
    const expected = await outputOf(await createProgram(cli.ctx), args);
    const stubbed = await outputOf(await createProgram(cli.ctx, undefined, summaries), args);
    assert.equal(stubbed, expected, `docker secretfs ${args.join(' ')}`);
  }
  // The help lists every command, with its arguments and description.
  const help = (await outputOf(await createProgram(cli.ctx, undefined, summaries), ['--help'])).out;
  assert.match(help, /get \[options\] <path> \[key\]\s+print a secret/);
});

test('only root options and unknown names are answered from the summaries; `help X` and commands load the tree', () => {
  assert.ok(needsOnlySummaries(['--help']));
  assert.ok(needsOnlySummaries([]));
  assert.ok(needsOnlySummaries(['-v']));
  assert.ok(needsOnlySummaries(['gett']));
  assert.not.ok(needsOnlySummaries(['help', 'get']));
  assert.not.ok(needsOnlySummaries(['get', '--help']));
  assert.not.ok(needsOnlySummaries(['run', '--', 'alpine']));
});

test.run();
