/**
 * How a secret becomes bytes, the one place for `get`, the filesystem's files and views, and
 * Swarm secrets: one value's exact bytes, the whole secret as JSON, as a POSIX-sh .env file, and
 * as YAML. Nothing here knows about FUSE: a value that cannot be rendered throws
 * ValueEncodingError, which the filesystem answers as EIO.
 */

/** How a value becomes bytes: as text (UTF-8), or decoded from base64 for binary values. */
export type ValueEncoding = 'utf8' | 'base64';

/** A value that cannot be rendered in the asked encoding (a string that is not base64 under encoding=base64). */
export class ValueEncodingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValueEncodingError';
  }
}

const NAME_MAX = 255;

/**
 * True when a key can stand as a name of its own (a file name, a variable): not empty, `.` or
 * `..`, no `/` or NUL, at most 255 bytes. Other keys stay in the JSON and YAML renderings only.
 */
export function isServableKey(key: string): boolean {
  return key !== '' && key !== '.' && key !== '..' && !key.includes('/') && !key.includes('\0') && Buffer.byteLength(key) <= NAME_MAX;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * The bytes of one value: a string exactly as stored (no added newline), decoded from base64 with
 * encoding=base64; any other JSON value as compact JSON. A string that is not base64 under
 * encoding=base64 is refused rather than given as bytes the reader did not ask for.
 */
export function valueBytes(value: unknown, encoding: ValueEncoding): Buffer {
  if (typeof value === 'string') {
    if (encoding === 'utf8') return Buffer.from(value, 'utf8');
    const text = value.replace(/\s+/g, '');
    if (BASE64.test(text)) return Buffer.from(text, 'base64');
    if (BASE64URL.test(text)) return Buffer.from(text, 'base64url');
    throw new ValueEncodingError('value is not valid base64');
  }
  return Buffer.from(JSON.stringify(value === undefined ? null : value), 'utf8');
}

/** The whole secret as JSON: the data as Vault holds it, pretty-printed, with a final newline. */
export function renderJson(data: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify(data, null, 2) + '\n', 'utf8');
}

/** A key as an environment variable name: characters other than [A-Za-z0-9_] become `_`; a leading digit gets a `_`. */
export function envName(key: string): string {
  const name = key.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

/**
 * Quotes a value for POSIX sh in double quotes: `\`, `"`, `$` and backquote are escaped, newlines
 * stay literal (sh keeps them inside double quotes). docker compose's env_file reads it the same.
 */
export function quoteEnvValue(value: string): string {
  return '"' + value.replace(/[\\"$`]/g, (c) => '\\' + c) + '"';
}

/**
 * The whole secret as a .env file. Each servable key becomes NAME="value" (see envName,
 * quoteEnvValue), in key order. A value that is not text (NUL bytes, invalid UTF-8) and a name
 * that two keys share are left out with a comment naming the key, never the value.
 */
export function renderEnv(data: Record<string, unknown>, encoding: ValueEncoding): Buffer {
  const lines: string[] = [];
  const taken = new Map<string, string>();
  for (const key of Object.keys(data).sort()) {
    const name = envName(key);
    if (!isServableKey(key) || name === '' || name === '_') {
      lines.push(`# skipped key ${JSON.stringify(key)}: no usable variable name`);
      continue;
    }
    const other = taken.get(name);
    if (other !== undefined) {
      lines.push(`# skipped key ${JSON.stringify(key)}: ${name} is already used by key ${JSON.stringify(other)}`);
      continue;
    }
    let bytes: Buffer;
    try {
      bytes = valueBytes(data[key], encoding);
    } catch {
      lines.push(`# skipped key ${JSON.stringify(key)}: not valid ${encoding}`);
      continue;
    }
    const text = bytes.toString('utf8');
    if (text.includes('\0') || !Buffer.from(text, 'utf8').equals(bytes)) {
      lines.push(`# skipped key ${JSON.stringify(key)}: binary value`);
      continue;
    }
    taken.set(name, key);
    lines.push(`${name}=${quoteEnvValue(text)}`);
  }
  return Buffer.from(lines.length ? lines.join('\n') + '\n' : '', 'utf8');
}

/**
 * The whole secret as YAML: every key and value a double-quoted JSON string, which YAML reads
 * back exactly.
 */
export function renderYaml(data: Record<string, unknown>): string {
  return Object.keys(data)
    .sort()
    .map((k) => `${JSON.stringify(k)}: ${JSON.stringify(valueBytes(data[k], 'utf8').toString('utf8'))}`)
    .join('\n') + (Object.keys(data).length ? '\n' : '');
}

/** The formats a whole secret renders in. */
export type SecretFormat = 'json' | 'env' | 'yaml';

/** The whole secret in one format (values as text: encoding applies to the env format only). */
export function renderSecret(data: Record<string, unknown>, format: SecretFormat, encoding: ValueEncoding = 'utf8'): Buffer {
  if (format === 'json') return renderJson(data);
  if (format === 'env') return renderEnv(data, encoding);
  return Buffer.from(renderYaml(data), 'utf8');
}
