import { UsageError } from './errors.js';

/** Turns repeated `-o key=value` flags into a map; the values are validated by whoever uses them. */
export function parseKeyValues(values: string[]): Record<string, string> {
  // Null prototype: a key such as `__proto__` is an ordinary (and then unknown) option name.
  const out: Record<string, string> = Object.create(null);
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new UsageError(`option ${JSON.stringify(v)} must be KEY=VALUE`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}
