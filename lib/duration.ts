/**
 * Vault's duration syntax (go-secure-stdlib parseutil.ParseDurationSecond), with Go's edge cases:
 * an integer number of seconds (int64; the nanosecond product wraps around as in Go), an integer
 * followed by "d" (days), or a Go duration such as "1h30m", "90s", "1.5h" (time.ParseDuration,
 * which refuses values past ~292 years with "time: invalid duration").
 */

const NS_PER_SECOND = 1_000_000_000n;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UNIT_NS: Record<string, bigint> = { ns: 1n, us: 1000n, µs: 1000n, μs: 1000n, ms: 1_000_000n, s: NS_PER_SECOND, m: 60n * NS_PER_SECOND, h: 3600n * NS_PER_SECOND };

/** Go's quoting of the input in time's error messages (printable text as is). */
const quote = (s: string) => JSON.stringify(s);

/** Go's strconv.ParseInt(s, 10, 64): undefined when it is not an int64. */
function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  const v = BigInt(s);
  return v < INT64_MIN || v > INT64_MAX ? undefined : v;
}

/** Go's time.ParseDuration, in nanoseconds; throws with Go's messages. */
function goParseDuration(orig: string): bigint {
  let s = orig;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') throw new Error(`time: invalid duration ${quote(orig)}`);
  let total = 0n;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    const whole = m[1];
    const frac = m[2] ?? '';
    if (whole === '' && frac === '') throw new Error(`time: invalid duration ${quote(orig)}`);
    s = s.slice(m[0].length);
    const u = /^[^\d.]*/.exec(s)![0];
    if (u === '') throw new Error(`time: missing unit in duration ${quote(orig)}`);
    const unit = UNIT_NS[u];
    if (unit === undefined) throw new Error(`time: unknown unit ${quote(u)} in duration ${quote(orig)}`);
    s = s.slice(u.length);
    let v = BigInt(whole || '0') * unit;
    if (frac !== '') v += (BigInt(frac) * unit) / 10n ** BigInt(frac.length);
    total += v;
    if (total > INT64_MAX + (neg ? 1n : 0n)) throw new Error(`time: invalid duration ${quote(orig)}`);
  }
  return neg ? -total : total;
}

/** Nanoseconds to whole seconds, truncated toward zero as Go's int(d.Seconds()). */
const toSeconds = (ns: bigint) => Number(ns / NS_PER_SECOND);

/** Parses a duration into whole seconds; throws an Error with Go's/Vault's wording when it cannot. */
export function parseDurationSeconds(input: unknown): number {
  if (input === undefined || input === null || input === '') return 0;
  let text: string;
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) throw new Error(`time: invalid duration ${quote(String(input))}`);
    text = Number.isInteger(input) ? BigInt(input).toString() : String(input);
  } else if (typeof input === 'string') text = input;
  else throw new Error('could not parse duration from input');
  const int = parseInt64(text);
  // Go's time.Duration(v) * time.Second: the product wraps around int64 silently.
  if (int !== undefined) return toSeconds(BigInt.asIntN(64, int * NS_PER_SECOND));
  if (text.endsWith('d')) {
    const days = parseInt64(text.slice(0, -1));
    if (days === undefined) throw new Error(`strconv.ParseInt: parsing ${quote(text.slice(0, -1))}: invalid syntax`);
    return toSeconds(BigInt.asIntN(64, days * 86400n * NS_PER_SECOND));
  }
  return toSeconds(goParseDuration(text));
}

/** Formats seconds the way Go's time.Duration prints them ("0s", "1h2m3s", "30m0s"). */
export function formatDuration(seconds: number): string {
  if (!seconds) return '0s';
  const neg = seconds < 0;
  let rest = Math.abs(Math.trunc(seconds));
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  const s = rest - m * 60;
  let out = '';
  if (h) out = `${h}h${m}m${s}s`;
  else if (m) out = `${m}m${s}s`;
  else out = `${s}s`;
  return (neg ? '-' : '') + out;
}
