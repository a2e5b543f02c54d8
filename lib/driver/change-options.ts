import { constants } from 'node:os';
import { UsageError } from '../errors.js';
import { parseDurationMs } from '../fs/options.js';

/** What the driver does to the running containers of a volume when its secret changes. */
export type OnChange = { kind: 'none' } | { kind: 'signal'; signal: string } | { kind: 'restart' };

/** The change-watching options of one volume, parsed. */
export interface ChangeOptions {
  /** How often the secret's version is read; undefined = not watched (the default). */
  watchMs?: number;
  onChange: OnChange;
  /** At most one signal or restart per this long; changes meanwhile fold into it. */
  debounceMs: number;
}

/** The volume options of change watching (driver only: a foreground mount has no containers). */
export const CHANGE_OPTION_NAMES = ['watch', 'on_change', 'on_change_debounce'] as const;

/** 5 s: a burst of writes (a rotation script setting several keys) becomes one signal. */
export const DEFAULT_DEBOUNCE_MS = 5000;
/** Below this the watcher would read Vault more often than the filesystem's own cache does. */
const MIN_WATCH_MS = 500;
const MAX_WATCH_MS = 24 * 3600_000;
const MAX_DEBOUNCE_MS = 3600_000;

const HELP = {
  watch: 'a duration of at least 500ms, e.g. watch=30s (or off)',
  on_change: 'signal:NAME (e.g. signal:HUP, signal:SIGUSR1), restart, or none',
  on_change_debounce: 'a duration up to 1h, e.g. on_change_debounce=5s',
} as const;

function invalid(name: keyof typeof HELP, value: string): UsageError {
  return new UsageError(`invalid ${name}=${JSON.stringify(value)}: expected ${HELP[name]}`);
}

/** `HUP`, `sighup`, `SIGHUP` -> `SIGHUP`; undefined for a name Linux does not have. */
export function normalizeSignalName(name: string): string | undefined {
  const upper = name.trim().toUpperCase();
  const full = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  return Object.prototype.hasOwnProperty.call(constants.signals, full) ? full : undefined;
}

/** Parses `on_change`: `none`, `restart` or `signal:<name>`. */
export function parseOnChange(value: string): OnChange {
  const v = value.trim();
  if (v === 'none' || v === '') return { kind: 'none' };
  if (v === 'restart') return { kind: 'restart' };
  const m = /^signal:(.+)$/i.exec(v);
  const signal = m ? normalizeSignalName(m[1]) : undefined;
  if (!signal) throw invalid('on_change', value);
  return { kind: 'signal', signal };
}

/** How an OnChange is written back (state, inspect, audit). */
export function formatOnChange(o: OnChange): string {
  return o.kind === 'signal' ? `signal:${o.signal.slice(3)}` : o.kind;
}

/**
 * Parses the change options among a volume's options (other names are ignored). on_change
 * without watch is refused: nothing would ever notice a change to act on.
 */
export function parseChangeOptions(opts: Record<string, string | undefined>): ChangeOptions {
  let watchMs: number | undefined;
  const watch = opts.watch?.trim();
  if (watch !== undefined && watch !== 'off' && watch !== '0') {
    const ms = parseDurationMs(watch);
    if (ms === undefined || ms < MIN_WATCH_MS || ms > MAX_WATCH_MS) throw invalid('watch', watch);
    watchMs = ms;
  }
  const onChange = opts.on_change === undefined ? ({ kind: 'none' } as OnChange) : parseOnChange(opts.on_change);
  let debounceMs = DEFAULT_DEBOUNCE_MS;
  if (opts.on_change_debounce !== undefined) {
    const ms = parseDurationMs(opts.on_change_debounce);
    if (ms === undefined || ms > MAX_DEBOUNCE_MS) throw invalid('on_change_debounce', opts.on_change_debounce);
    debounceMs = ms;
  }
  if (onChange.kind !== 'none' && watchMs === undefined) {
    throw new UsageError(`on_change=${formatOnChange(onChange)} needs watch=<interval> (e.g. watch=30s): without it no change is noticed`);
  }
  if (watchMs !== undefined && opts.version !== undefined) {
    throw new UsageError('watch cannot be combined with version=: a pinned version never changes');
  }
  return { watchMs, onChange, debounceMs };
}
