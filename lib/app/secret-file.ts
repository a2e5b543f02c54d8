import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { UsageError } from '../errors.js';
import { validateKeyName } from '../vault/kv-path.js';

/**
 * Property files for `put PATH --from-file FILE`: one service's settings in one file, as teams
 * keep them for Swarm (`my_service.env`, or `.json`). The `.env` syntax is what
 * `get --format env` writes (and `set -a; . FILE` reads): `KEY=value`, `KEY="double quoted"`
 * (with `\\`, `\"`, `\$` and `` \` `` escapes, newlines allowed), `KEY='single quoted'`, an
 * optional `export `, blank lines and `#` comments. A JSON file is one object; its values are
 * stored as they are. Errors give the line, never the file's content: it holds secrets.
 */

/** `.json` is JSON; anything else (`.env`, `.properties`, no extension) is the env syntax. */
export type SecretFileFormat = 'env' | 'json';

/** The format of a file by its name. */
export function secretFileFormat(file: string): SecretFileFormat {
  return /\.json$/i.test(file) ? 'json' : 'env';
}

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function lineError(name: string, line: number, why: string): UsageError {
  return new UsageError(`${name} line ${line}: ${why}; nothing was written`);
}

/** Parses the env syntax into keys and string values. */
export function parseEnvFile(text: string, name = 'the file'): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  const seenAt = new Map<string, number>();
  const src = text.replace(/\r\n/g, '\n');
  let i = 0;
  let line = 1;
  while (i < src.length) {
    const start = line;
    const end = src.indexOf('\n', i) < 0 ? src.length : src.indexOf('\n', i);
    const raw = src.slice(i, end);
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) {
      i = end + 1;
      line++;
      continue;
    }
    const body = trimmed.replace(/^export\s+/, '');
    const eq = body.indexOf('=');
    if (eq < 0) throw lineError(name, start, 'expected KEY=VALUE (no "=" found)');
    const key = body.slice(0, eq);
    if (!ENV_KEY.test(key)) throw lineError(name, start, `invalid key ${JSON.stringify(key.slice(0, 64))}: letters, digits, "_", "." and "-", not starting with a digit`);
    const previous = seenAt.get(key);
    if (previous !== undefined) throw lineError(name, start, `${key} is already set on line ${previous}`);
    // The value starts right after "=" in the original text, and a quoted one may run over lines.
    let pos = i + raw.indexOf(body) + eq + 1;
    let value: string;
    const quote = src[pos];
    if (quote === '"' || quote === "'") {
      pos++;
      value = '';
      for (;;) {
        if (pos >= src.length) throw lineError(name, start, `the ${quote === '"' ? 'double' : 'single'} quote opened here is never closed`);
        const c = src[pos];
        if (c === quote) break;
        if (c === '\n') line++;
        if (quote === '"' && c === '\\' && pos + 1 < src.length && '\\"$`'.includes(src[pos + 1])) {
          value += src[pos + 1];
          pos += 2;
          continue;
        }
        value += c;
        pos++;
      }
      pos++;
      const lineEnd = src.indexOf('\n', pos) < 0 ? src.length : src.indexOf('\n', pos);
      const rest = src.slice(pos, lineEnd).trim();
      if (rest !== '' && !rest.startsWith('#')) throw lineError(name, line, 'unexpected text after the closing quote');
      i = lineEnd + 1;
    } else {
      value = src.slice(pos, end).replace(/\s+#.*$/, '').trim();
      i = end + 1;
    }
    out[key] = value;
    seenAt.set(key, start);
    line++;
  }
  return out;
}

/** Line of a character offset (1-based). */
function lineOf(text: string, offset: number): number {
  return text.slice(0, offset).split('\n').length;
}

/**
 * The offset at which `text` stops being JSON (Node 20's JSON.parse messages give no position, and
 * quote the text around the error, which may be a secret). A small scanner of the JSON grammar.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else fail();
  };
  const string = () => {
    if (text[i] !== '"') fail();
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail();
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) fail();
      }
      i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void i++;
        else fail();
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void i++;
        else fail();
      }
    }
    if (c === '"') return string();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i));
    if (!m) fail();
    i += m![0].length;
  };
  try {
    value();
    ws();
    return i < text.length ? i : -1;
  } catch (at) {
    return typeof at === 'number' ? at : 0;
  }
}

/** Parses a JSON property file: one object; keys must be valid key names. */
export function parseJsonFile(text: string, name = 'the file'): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    const at = jsonErrorOffset(text);
    throw lineError(name, lineOf(text, at < 0 ? text.length : at), 'malformed JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw lineError(name, 1, 'the file must hold one JSON object of keys and values');
  const out: Record<string, unknown> = Object.create(null);
  for (const [key, v] of Object.entries(value)) {
    try {
      validateKeyName(key);
    } catch (err) {
      const offset = text.indexOf(JSON.stringify(key));
      throw lineError(name, offset < 0 ? 1 : lineOf(text, offset), (err as Error).message);
    }
    out[key] = v;
  }
  return out;
}

/** Reads and parses a property file; an empty one is refused (it would write an empty secret). */
export async function readSecretFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const name = basename(file);
  const data = secretFileFormat(file) === 'json' ? parseJsonFile(text, name) : parseEnvFile(text, name);
  if (Object.keys(data).length === 0) throw new UsageError(`${name} holds no keys; nothing was written`);
  return { ...data };
}
