import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { asksForDetach, dockerRunArgs, mountFlag, planMounts } from '../../../lib/app/run-plan.js';
import { UsageError } from '../../../lib/errors.js';

const test = suite('app/run-plan');

test('one path goes at the target itself', () => {
  assert.equal(planMounts(['secret/app-1'], '/run/secrets'), [{ path: 'secret/app-1', target: '/run/secrets' }]);
});

test('run --path with one trailing slash is the same path (secret/app-1/ = secret/app-1)', () => {
  assert.equal(planMounts(['secret/app-1/'], '/run/secrets'), [{ path: 'secret/app-1', target: '/run/secrets' }]);
  assert.equal(planMounts(['secret/app-1/', 'secret/team/db/'], '/s'), [
    { path: 'secret/app-1', target: '/s/app-1' },
    { path: 'secret/team/db', target: '/s/db' },
  ]);
});

test('several paths go under the target by their last segment', () => {
  assert.equal(planMounts(['secret/app-1', 'secret/team/db'], '/s'), [
    { path: 'secret/app-1', target: '/s/app-1' },
    { path: 'secret/team/db', target: '/s/db' },
  ]);
});

test('clashing last segments, relative targets and traversal are refused', () => {
  assert.throws(() => planMounts(['secret/a/x', 'secret/b/x'], '/s'), (e: unknown) => e instanceof UsageError);
  assert.throws(() => planMounts(['secret/a'], 'relative'), (e: unknown) => e instanceof UsageError);
  assert.throws(() => planMounts(['secret/../a'], '/s'), (e: unknown) => e instanceof UsageError);
});

test('docker run arguments: globals first, --rm, the run label, read-only mounts, then the user arguments', () => {
  const args = dockerRunArgs(['-H', 'unix:///x'], 'abc', [{ volume: 'v1', target: '/run/secrets' }], ['-it', 'alpine', 'ash']);
  assert.equal(args, ['-H', 'unix:///x', 'run', '--rm', '--label', 'io.secretfs.run=abc', '--mount', 'type=volume,source=v1,target=/run/secrets,readonly', '-it', 'alpine', 'ash']);
});

test('an anonymous mount names our driver and its options; a field with a comma or quote is quoted as CSV', () => {
  const m = { target: '/s', driver: 'secretfs', options: { path: 'secret/app-1', keys: 'a:x,b:y', mode: '0440', odd: 'say "hi"' } };
  assert.is(mountFlag(m), 'type=volume,target=/s,volume-driver=secretfs,volume-opt=path=secret/app-1,"volume-opt=keys=a:x,b:y",volume-opt=mode=0440,"volume-opt=odd=say ""hi"""');
  assert.is(mountFlag({ target: '/run/secrets', volume: 'v1' }), 'type=volume,source=v1,target=/run/secrets,readonly');
});

const detachRows: [string[], boolean][] = [
  [['-d', 'img'], true],
  [['--detach', 'img'], true],
  [['-itd', 'img'], true],
  [['-e', '-d', 'img'], false], // -d is the value of -e here
  [['--name', 'x', 'img', 'cmd', '-d'], false], // after the image it is the command's
  [['-it', 'img'], false],
  // As docker's flag parser reads them (pflag, Go's ParseBool):
  [['--detach=1', 'img'], true],
  [['--detach=true', 'img'], true],
  [['--detach=false', 'img'], false],
  [['--detach=0', 'img'], false],
  [['-de', 'X=1', 'img'], true], // -d, then -e X=1
  [['-ed', 'img'], false], // the d is -e's value
  [['-Pd', 'img'], true],
  [['-eX=1', '-d', 'img'], true],
  [['--env', '-d', 'img'], false],
  [['--env=A=1', '-d', 'img'], true],
];
for (const [args, expected] of detachRows) {
  test(`detach detection: ${args.join(' ')} -> ${expected}`, () => {
    assert.is(asksForDetach(args), expected);
  });
}

test('a detached run and a missing image are refused', () => {
  assert.throws(() => dockerRunArgs([], 'r', [], ['-d', 'img']), (e: unknown) => e instanceof UsageError);
  assert.throws(() => dockerRunArgs([], 'r', [], []), (e: unknown) => e instanceof UsageError);
});

test.run();
