import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { validateKeyName } from '../vault/kv-path.js';

/** Where the value of one key comes from. Never from argv: argv is visible in `ps` and shell history. */
export type ValueSource = { key: string; from: 'prompt-or-stdin' } | { key: string; from: 'stdin' } | { key: string; from: 'file'; file: string };

/**
 * Parses `put` arguments: `KEY` (asked for on a TTY, else read from stdin), `KEY=-` (stdin) and
 * `KEY=@file`. A plain `KEY=value` is refused with a hint. Pure.
 */
export function parseValueSources(specs: string[]): ValueSource[] {
  if (specs.length === 0) throw new UsageError('name at least one KEY');
  const seen = new Set<string>();
  const sources = specs.map((spec): ValueSource => {
    const eq = spec.indexOf('=');
    const key = validateKeyName(eq < 0 ? spec : spec.slice(0, eq));
    if (seen.has(key)) throw new UsageError(`key ${key} is given twice`);
    seen.add(key);
    if (eq < 0) return { key, from: 'prompt-or-stdin' };
    const rest = spec.slice(eq + 1);
    if (rest === '-') return { key, from: 'stdin' };
    if (rest.startsWith('@') && rest.length > 1) return { key, from: 'file', file: rest.slice(1) };
    throw new UsageError(`refusing a secret value on the command line for ${key}`, {
      hint: `command lines leak through \`ps\` and shell history: use \`${key}\` (asks, or reads stdin), \`${key}=-\` (stdin) or \`${key}=@FILE\``,
    });
  });
  const fromStdin = sources.filter((s) => s.from === 'stdin');
  if (fromStdin.length > 1) throw new UsageError('only one key can be read from stdin');
  return sources;
}

/** How values are obtained; the CLI supplies a prompt only when there is a TTY. */
export interface ValueReaders {
  readStdin(): Promise<Buffer>;
  /** Asks for the value of `key` without echo; undefined when there is no TTY. */
  prompt?: (key: string) => Promise<string>;
}

/** Strips one trailing newline, which `echo` and heredocs add to piped values. */
function chompOne(text: string): string {
  return text.replace(/\r?\n$/, '');
}

/**
 * Reads every value. Piped stdin loses one trailing newline; files are taken byte for byte.
 * Non-UTF-8 bytes are refused unless `base64` is set, which stores every value base64-encoded.
 */
export async function readValues(sources: ValueSource[], readers: ValueReaders, base64 = false): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  const stdinKeys = sources.filter((s) => s.from === 'stdin' || (s.from === 'prompt-or-stdin' && !readers.prompt));
  if (stdinKeys.length > 1) {
    throw new UsageError(`no TTY to ask for ${stdinKeys.map((s) => s.key).join(', ')}: only one key can be read from stdin`, {
      hint: 'give the others as KEY=@FILE',
    });
  }
  for (const source of sources) {
    let bytes: Buffer;
    if (source.from === 'file') {
      try {
        bytes = await readFile(source.file);
      } catch (err) {
        throw new UsageError(`cannot read ${source.file} for ${source.key}: ${(err as NodeJS.ErrnoException).code ?? err}`);
      }
    } else if (source.from === 'prompt-or-stdin' && readers.prompt) {
      bytes = Buffer.from(await readers.prompt(source.key), 'utf8');
    } else {
      bytes = Buffer.from(chompOne((await readers.readStdin()).toString('latin1')), 'latin1');
    }
    values[source.key] = encodeValue(source.key, bytes, base64);
  }
  return values;
}

function encodeValue(key: string, bytes: Buffer, base64: boolean): string {
  if (base64) return bytes.toString('base64');
  const text = bytes.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(bytes)) {
    throw new UsageError(`the value of ${key} is not UTF-8 text`, { hint: 'store binary values with --base64 and mount with -o encoding=base64' });
  }
  return text;
}
