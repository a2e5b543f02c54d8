import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { CliContext } from '../../cli/context.js';
import { createOutput } from '../../cli/output.js';
import { runProgram } from '../../cli/run-program.js';
import { createDockerClient } from '../../lib/docker/client.js';
import { resolvePaths } from '../../lib/paths.js';

/** A stream that keeps what is written to it; like process.stderr, a prompt that ends cannot close it. */
function capture(): PassThrough & { text(): string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d) => (text += d));
  return Object.assign(stream, { text: () => text, end: () => stream });
}

/** What a test sees of one in-process CLI run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A CLI context of the test's own, for in-process runs of createProgram: a temp SECRETFS_HOME,
 * captured stdout/stderr, a stdin the test writes to, and a Docker client aimed at a socket that
 * does not exist (so no test reaches a real engine by accident). Commands that need Vault or
 * Docker to answer are tested end to end (test/e2e), not here.
 */
export async function createTestCli(options: { interactive?: boolean; env?: NodeJS.ProcessEnv } = {}) {
  const home = await mkdtemp(join(tmpdir(), 'secretfs-cli-'));
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, SECRETFS_HOME: home, ...options.env };
  const stdout = capture();
  const stderr = capture();
  const stdin = Object.assign(new PassThrough(), { isTTY: Boolean(options.interactive) });
  const ctx: CliContext = {
    env,
    paths: resolvePaths(env),
    out: await createOutput({ stdout, stderr: Object.assign(stderr, { isTTY: false }), color: false }),
    stdin,
    stderr,
    isInteractive: Boolean(options.interactive),
    dockerGlobalFlags: [],
    dockerCli: 'docker',
    docker: () => createDockerClient(`unix://${join(home, 'no-docker.sock')}`),
    // In process, nothing asks a command to stop (signals belong to the test runner).
    termination: { handle: () => new AbortController().signal, onForcedExit: () => () => {}, socketWatched: Promise.resolve(false), dispose() {} },
  };
  return {
    ctx,
    home,
    stdin,
    /** What has been written to stderr so far (prompts draw there). */
    stderrSoFar: () => stderr.text(),
    /** Runs one command line (arguments after `docker secretfs`) in this process. */
    async run(args: string[]): Promise<CliRun> {
      ctx.exitCode = undefined;
      const before = { out: stdout.text().length, err: stderr.text().length };
      const code = await runProgram(ctx, args, { stdout, stderr });
      return { code, stdout: stdout.text().slice(before.out), stderr: stderr.text().slice(before.err) };
    },
    async cleanup(): Promise<void> {
      stdin.end();
      await rm(home, { recursive: true, force: true });
    },
  };
}
