import { UsageError } from './errors.js';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Parses a Vault-style duration ("90s", "15m", "1h30m", "2d" or plain seconds) into seconds. */
export function parseDuration(text: string, what = 'duration'): number {
  const trimmed = String(text).trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const re = /(\d+)([smhd])/g;
  let total = 0;
  let consumed = 0;
  for (const m of trimmed.matchAll(re)) {
    total += Number(m[1]) * UNITS[m[2]];
    consumed += m[0].length;
  }
  if (consumed !== trimmed.length || trimmed.length === 0) {
    throw new UsageError(`invalid ${what} ${JSON.stringify(text)}: use e.g. 30s, 15m, 1h or 1h30m`);
  }
  return total;
}
