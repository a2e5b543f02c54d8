import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { formatDuration, parseDurationSeconds } from '../../../lib/duration.js';

const test = suite('localvault durations');

test('parses Vault duration forms', () => {
  const cases: Array<[unknown, number]> = [['300', 300], [300, 300], ['15s', 15], ['20m', 1200], ['25h', 90000], ['1h30m', 5400], ['1.5h', 5400], ['2d', 172800], ['', 0], [undefined, 0]];
  for (const [input, want] of cases) assert.is(parseDurationSeconds(input), want, String(input));
});

test('rejects garbage', () => {
  for (const bad of ['abc', '1x', 'h', '--1s', {}]) assert.throws(() => parseDurationSeconds(bad));
});

test('formats like Go', () => {
  assert.is(formatDuration(0), '0s');
  assert.is(formatDuration(59), '59s');
  assert.is(formatDuration(60), '1m0s');
  assert.is(formatDuration(12319), '3h25m19s');
});

test.run();
