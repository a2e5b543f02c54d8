import { UsageError } from './errors.js';

/** Turns repeated `-o key=value` flags into a map; the values are validated by whoever uses them. */
export function parseKeyValues(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new UsageError(`option ${JSON.stringify(v)} must be KEY=VALUE`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}
