/**
 * How a secret's values are rendered as text: one value as a file's bytes, the whole secret
 * as JSON, as a .env file, or as YAML. Pure.
 */

/** The bytes of one value: strings as they are (no added newline), anything else as JSON. */
export function valueText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Renders a .env file: `KEY='value'` with single quotes, which keep every character literal in
 * POSIX shells and in docker's and dotenv's parsers; a single quote inside is written `'\''`.
 * Keys that are not valid variable names are turned into one (`db-password` -> `DB_PASSWORD`);
 * when two keys collide, the later is dropped and reported in `skipped`.
 */
export function renderEnv(data: Record<string, unknown>): { text: string; skipped: string[] } {
  const lines: string[] = [];
  const used = new Set<string>();
  const skipped: string[] = [];
  for (const key of Object.keys(data).sort()) {
    const name = ENV_NAME.test(key) ? key : envName(key);
    if (!name || used.has(name)) {
      skipped.push(key);
      continue;
    }
    used.add(name);
    lines.push(`${name}='${valueText(data[key]).replace(/'/g, `'\\''`)}'`);
  }
  return { text: lines.length ? lines.join('\n') + '\n' : '', skipped };
}

function envName(key: string): string | undefined {
  const name = key.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
  return ENV_NAME.test(name) ? name : /^[0-9]/.test(name) ? `_${name}` : undefined;
}

/** The whole secret as pretty JSON with a final newline. */
export function renderJson(data: Record<string, unknown>): string {
  return JSON.stringify(data, null, 2) + '\n';
}

/** A YAML mapping of the keys; every value is a double-quoted JSON string, which YAML reads back exactly. */
export function renderYaml(data: Record<string, unknown>): string {
  return Object.keys(data)
    .sort()
    .map((k) => `${JSON.stringify(k)}: ${JSON.stringify(valueText(data[k]))}`)
    .join('\n') + (Object.keys(data).length ? '\n' : '');
}
