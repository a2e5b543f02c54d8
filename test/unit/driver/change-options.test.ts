import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { normalizeSignalName, parseChangeOptions, parseOnChange, formatOnChange } from '../../../lib/driver/change-options.js';

const test = suite('driver/change-options');

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
}

test('defaults: not watched, on_change none, debounce 5 s', () => {
  assert.equal(parseChangeOptions({}), { watchMs: undefined, onChange: { kind: 'none' }, debounceMs: 5000 });
  assert.equal(parseChangeOptions({ watch: 'off' }).watchMs, undefined);
});

test('watch, on_change and debounce values', () => {
  assert.equal(parseChangeOptions({ watch: '30s', on_change: 'signal:HUP' }), { watchMs: 30_000, onChange: { kind: 'signal', signal: 'SIGHUP' }, debounceMs: 5000 });
  assert.equal(parseChangeOptions({ watch: '1s', on_change: 'restart', on_change_debounce: '0' }), { watchMs: 1000, onChange: { kind: 'restart' }, debounceMs: 0 });
  assert.equal(parseOnChange('signal:sigusr1'), { kind: 'signal', signal: 'SIGUSR1' });
  assert.equal(parseOnChange('signal:TERM'), { kind: 'signal', signal: 'SIGTERM' });
  assert.is(formatOnChange(parseOnChange('signal:SIGHUP')), 'signal:HUP');
  assert.is(normalizeSignalName('hup'), 'SIGHUP');
  assert.is(normalizeSignalName('NOPE'), undefined);
});

test('bad values are refused with the expected form', () => {
  assert.is(refusal(() => parseChangeOptions({ watch: '1s', on_change: 'signal:NOPE' })), 'invalid on_change="signal:NOPE": expected signal:NAME (e.g. signal:HUP, signal:SIGUSR1), restart, or none');
  assert.is(refusal(() => parseChangeOptions({ watch: '1s', on_change: 'reload' })), 'invalid on_change="reload": expected signal:NAME (e.g. signal:HUP, signal:SIGUSR1), restart, or none');
  assert.is(refusal(() => parseChangeOptions({ watch: '100ms' })), 'invalid watch="100ms": expected a duration of at least 500ms, e.g. watch=30s (or off)');
  assert.is(refusal(() => parseChangeOptions({ watch: 'soon' })), 'invalid watch="soon": expected a duration of at least 500ms, e.g. watch=30s (or off)');
  assert.is(refusal(() => parseChangeOptions({ watch: '1s', on_change_debounce: '2h' })), 'invalid on_change_debounce="2h": expected a duration up to 1h, e.g. on_change_debounce=5s');
  assert.is(refusal(() => parseChangeOptions({ on_change: 'signal:HUP' })), 'on_change=signal:HUP needs watch=<interval> (e.g. watch=30s): without it no change is noticed');
  assert.is(refusal(() => parseChangeOptions({ watch: '30s', version: '3' })), 'watch cannot be combined with version=: a pinned version never changes');
});

test.run();
