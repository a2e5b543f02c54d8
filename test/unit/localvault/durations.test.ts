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

test('Go edge cases: int64 seconds wrap around in nanoseconds, "d" only after an integer, Go duration errors', () => {
  assert.is(parseDurationSeconds('99999999999999'), 200376419);
  assert.is(parseDurationSeconds('9300000000') < 0, true);
  assert.is(parseDurationSeconds('+30'), 30);
  assert.is(parseDurationSeconds('.5m'), 30);
  assert.throws(() => parseDurationSeconds('99999999999999999999'), (e: Error) => e.message === 'time: missing unit in duration "99999999999999999999"');
  assert.throws(() => parseDurationSeconds('9999999h'), (e: Error) => e.message === 'time: invalid duration "9999999h"');
  assert.throws(() => parseDurationSeconds('1.5d'), (e: Error) => e.message === 'strconv.ParseInt: parsing "1.5": invalid syntax');
  assert.throws(() => parseDurationSeconds('5x'), (e: Error) => e.message === 'time: unknown unit "x" in duration "5x"');
  assert.throws(() => parseDurationSeconds(' 5s'), (e: Error) => e.message === 'time: invalid duration " 5s"');
  assert.throws(() => parseDurationSeconds(1.5), (e: Error) => e.message === 'time: missing unit in duration "1.5"');
});

test('formats like Go', () => {
  assert.is(formatDuration(0), '0s');
  assert.is(formatDuration(59), '59s');
  assert.is(formatDuration(60), '1m0s');
  assert.is(formatDuration(12319), '3h25m19s');
});

test.run();
