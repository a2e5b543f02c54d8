import type { FsEncoding } from './options.js';
import { FsErrno, Errno } from './errno.js';

/**
 * The views of a whole secret, one pair in every directory of the filesystem.
 *
 * No file name can be kept from a Vault key (a key may be any string without "/"), so a clash is
 * resolved, not prevented: a key always wins. When a secret has a key named `.secretfs.json`,
 * that file holds the key's value and the JSON view is not served in that directory. The names
 * start with a dot so that `ls` (without -a) shows the keys only.
 */
export const VIEW_NAMES = {
  /** The whole secret as a JSON object (the values as Vault holds them). */
  json: '.secretfs.json',
  /** The whole secret as a POSIX-sh-sourceable .env file (`set -a; . ./.secretfs.env`). */
  env: '.secretfs.env',
} as const;
export type ViewKind = keyof typeof VIEW_NAMES;

/** The view a file name names, if any. */
export function viewKindOf(name: string): ViewKind | undefined {
  if (name === VIEW_NAMES.json) return 'json';
  if (name === VIEW_NAMES.env) return 'env';
  return undefined;
}

const NAME_MAX = 255;

/** True when a key can be a file name: not empty, `.` or `..`, no `/` or NUL, at most 255 bytes. */
export function isServableKey(key: string): boolean {
  return key !== '' && key !== '.' && key !== '..' && !key.includes('/') && !key.includes('\0') && Buffer.byteLength(key) <= NAME_MAX;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * The bytes of one value: a string exactly as stored (no added newline), decoded from base64 with
 * encoding=base64; any other JSON value as compact JSON. A string that is not base64 under
 * encoding=base64 is an I/O error rather than bytes the reader did not ask for.
 */
export function valueBytes(value: unknown, encoding: FsEncoding): Buffer {
  if (typeof value === 'string') {
    if (encoding === 'utf8') return Buffer.from(value, 'utf8');
    const text = value.replace(/\s+/g, '');
    if (BASE64.test(text)) return Buffer.from(text, 'base64');
    if (BASE64URL.test(text)) return Buffer.from(text, 'base64url');
    throw new FsErrno(Errno.EIO, 'value is not valid base64');
  }
  return Buffer.from(JSON.stringify(value === undefined ? null : value), 'utf8');
}

/** The JSON view: the secret's data, pretty-printed, with a final newline. */
export function renderJsonView(data: Record<string, unknown>): Buffer {
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
 * The .env view. Each servable key becomes NAME="value" (see envName, quoteEnvValue), in key
 * order. A value that is not text (NUL bytes, invalid UTF-8) and a name that two keys share are
 * left out with a comment naming the key, never the value.
 */
export function renderEnvView(data: Record<string, unknown>, encoding: FsEncoding): Buffer {
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
