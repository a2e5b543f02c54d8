/**
 * Vault's duration syntax (parseutil.ParseDurationSecond): an integer number of seconds,
 * or Go durations such as "1h30m", "90s", "1.5h", plus a "d" (day) unit.
 */
const UNIT_SECONDS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600, d: 86400 };

/** Parses a duration into whole seconds; throws an Error with Vault's wording when it cannot. */
export function parseDurationSeconds(input: unknown): number {
  if (input === undefined || input === null || input === '') return 0;
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) throw new Error(`time: invalid duration "${input}"`);
    return Math.trunc(input);
  }
  if (typeof input !== 'string') throw new Error(`time: invalid duration "${String(input)}"`);
  const text = input.trim();
  if (/^-?\d+$/.test(text)) return Number(text);
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d)/y;
  let sign = 1;
  let pos = 0;
  if (text.startsWith('-') || text.startsWith('+')) {
    sign = text.startsWith('-') ? -1 : 1;
    pos = 1;
  }
  if (pos >= text.length) throw new Error(`time: invalid duration "${text}"`);
  let total = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) throw new Error(`time: invalid duration "${text}"`);
    total += Number(m[1]) * UNIT_SECONDS[m[2]];
    pos = re.lastIndex;
  }
  return sign * Math.trunc(total);
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
