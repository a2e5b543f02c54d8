import { UsageError } from '../errors.js';

/** One selected key: which Vault key, the file name it appears under, and its own mode. */
export interface KeySelection {
  key: string;
  /** The file name (the key itself unless renamed). */
  name: string;
  /** Permission bits of this file; undefined = the volume's `mode`. */
  mode?: number;
}

/** File names the filesystem keeps for itself; a selected key cannot be renamed to one. */
const RESERVED_NAMES = new Set(['.secretfs.json', '.secretfs.env', '.secretfs.version']);

const HELP = 'KEY[:NAME[:MODE]] separated by commas, e.g. keys=password:pass:0400,username';

function fileNameProblem(name: string): string | undefined {
  if (name === '' || name === '.' || name === '..') return 'is not a file name';
  if (name.includes('/') || name.includes('\0')) return 'holds "/" or NUL';
  if (Buffer.byteLength(name) > 255) return 'is longer than 255 bytes';
  if (RESERVED_NAMES.has(name)) return 'is a name secretfs uses itself';
  return undefined;
}

/**
 * Parses `keys=password:pass,username,tls-key::0400`: only the listed keys appear, `key:name`
 * renames, a third field sets that file's mode (octal). Keys holding `,` or `:` cannot be
 * selected. Two entries may not give one file name.
 */
export function parseKeySelection(value: string): KeySelection[] {
  const entries = value.split(',').map((e) => e.trim());
  if (entries.length === 0 || entries.every((e) => e === '')) throw new UsageError(`invalid keys=${JSON.stringify(value)}: expected ${HELP}`);
  const out: KeySelection[] = [];
  const names = new Map<string, string>();
  for (const entry of entries) {
    if (entry === '') throw new UsageError(`invalid keys=${JSON.stringify(value)}: an empty entry (two commas, or a trailing comma); expected ${HELP}`);
    const parts = entry.split(':');
    if (parts.length > 3) throw new UsageError(`invalid keys entry ${JSON.stringify(entry)}: expected ${HELP}`);
    const [key, rawName = '', rawMode] = parts;
    const name = rawName === '' ? key : rawName;
    const keyProblem = fileNameProblem(key);
    if (key === '' || (keyProblem && !RESERVED_NAMES.has(key))) throw new UsageError(`invalid keys entry ${JSON.stringify(entry)}: the key ${JSON.stringify(key)} ${keyProblem ?? 'is empty'}`);
    const nameProblem = fileNameProblem(name);
    if (nameProblem) throw new UsageError(`invalid keys entry ${JSON.stringify(entry)}: the file name ${JSON.stringify(name)} ${nameProblem}`);
    let mode: number | undefined;
    if (rawMode !== undefined) {
      if (!/^0?[0-7]{3,4}$/.test(rawMode)) throw new UsageError(`invalid keys entry ${JSON.stringify(entry)}: the mode ${JSON.stringify(rawMode)} is not octal permissions such as 0400`);
      mode = parseInt(rawMode, 8);
    }
    const other = names.get(name);
    if (other !== undefined) throw new UsageError(`invalid keys=${JSON.stringify(value)}: ${JSON.stringify(other)} and ${JSON.stringify(key)} would both be the file ${JSON.stringify(name)}`);
    names.set(name, key);
    out.push({ key, name, mode });
  }
  return out;
}

/** The selected keys a secret does not have (for the error at Create, which names them). */
export function missingKeys(selection: KeySelection[], data: Record<string, unknown>): string[] {
  return [...new Set(selection.filter((s) => !Object.prototype.hasOwnProperty.call(data, s.key)).map((s) => s.key))];
}
