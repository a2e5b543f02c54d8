import { UsageError } from '../errors.js';
import type { ValueEncoding } from '../render/secret.js';
import { parseKeySelection, type KeySelection } from './key-selection.js';

/** How values are turned into file bytes: as text (UTF-8), or decoded from base64 for binary values. */
export type FsEncoding = ValueEncoding;

/** Whether `ls` shows the keys (visible) or nothing (hidden; files still open by name). */
export type FsListing = 'visible' | 'hidden';

/** The per-mount options of a secret filesystem, parsed and validated. */
export interface FsOptions {
  /** Owner of every file and directory (kernel-enforced with default_permissions). */
  uid: number;
  gid: number;
  /** Permission bits of files (no type bits), e.g. 0o444. */
  mode: number;
  /** Permission bits of directories, e.g. 0o555. */
  dirMode: number;
  listing: FsListing;
  /** How long a value read from Vault is served before a new open reads Vault again. */
  cacheTtlMs: number;
  /** When set, the last good value up to this age is served instead of EIO (unreachable, timeout, 5xx only). */
  staleIfErrorMs?: number;
  /** A pinned KV v2 version of the mounted secret (not of its sub-paths). */
  version?: number;
  encoding: FsEncoding;
  /** keys=: only these keys of the mounted secret appear (renamed, with their own mode); no sub-paths. */
  keys?: KeySelection[];
}

/**
 * Defaults, chosen like Docker's own secrets (files 0444 and directories 0555, owned by root):
 * containers run as many different uids, and the mount is read-only anyway. Narrow them per
 * volume with uid/gid/mode (e.g. mode=0400,uid=1000).
 */
export const FS_DEFAULTS = {
  uid: 0,
  gid: 0,
  mode: 0o444,
  dirMode: 0o555,
  listing: 'visible' as FsListing,
  /** 2 s: a rotated value reaches a new open within 2 s, while a busy reader costs at most one Vault read per 2 s. */
  cacheTtlMs: 2000,
  encoding: 'utf8' as FsEncoding,
} as const;

/** Upper bounds that keep a typo (cache_ttl=3600000) from silently disabling freshness. */
const MAX_CACHE_TTL_MS = 3600_000;
const MAX_STALE_MS = 7 * 24 * 3600_000;
const MAX_ID = 0xfffffffe;

/** The option names a volume or `docker secretfs mount -o` accepts; the driver rejects any other. */
export const FS_OPTION_NAMES = ['uid', 'gid', 'mode', 'dir_mode', 'listing', 'cache_ttl', 'stale_if_error', 'version', 'encoding', 'keys'] as const;
export type FsOptionName = (typeof FS_OPTION_NAMES)[number];

const HELP: Record<FsOptionName, string> = {
  uid: 'a numeric user id, e.g. uid=1000',
  gid: 'a numeric group id, e.g. gid=1000',
  mode: 'octal file permissions, e.g. mode=0440',
  dir_mode: 'octal directory permissions, e.g. dir_mode=0550',
  listing: 'visible or hidden',
  cache_ttl: 'a duration: 500ms, 2s, 1m (default 2s; 0 disables caching)',
  stale_if_error: 'a duration: 30s, 5m, 1h',
  version: 'a KV v2 version number, e.g. version=3',
  encoding: 'utf8 or base64',
  keys: 'KEY[:NAME[:MODE]] separated by commas, e.g. keys=password:pass:0400,username',
};

/** One line per option, for usage messages and docs. */
export function describeFsOptions(): string {
  return FS_OPTION_NAMES.map((n) => `${n}: ${HELP[n]}`).join('\n');
}

function invalid(name: FsOptionName, value: string): UsageError {
  return new UsageError(`invalid ${name}=${JSON.stringify(value)}: expected ${HELP[name]}`);
}

function parseId(name: FsOptionName, value: string): number {
  if (!/^\d{1,10}$/.test(value) || Number(value) > MAX_ID) throw invalid(name, value);
  return Number(value);
}

function parseMode(name: FsOptionName, value: string): number {
  // Octal only, as chmod takes it; at most 4 digits so the type bits can never be set.
  if (!/^0?[0-7]{3,4}$/.test(value)) throw invalid(name, value);
  const mode = parseInt(value, 8);
  if (mode > 0o7777) throw invalid(name, value);
  return mode;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000 };

/** Parses a duration like Vault's: `500ms`, `2s`, `1m`, `1h`, `1m30s`, or a bare number of seconds. */
export function parseDurationMs(value: string): number | undefined {
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) total += Number(m[1]) * UNIT_MS[m[2]];
  return Math.round(total);
}

function parseDuration(name: FsOptionName, value: string, max: number): number {
  const ms = parseDurationMs(value);
  if (ms === undefined || ms > max) throw invalid(name, value);
  return ms;
}

/**
 * Parses the string options of one mount (Docker's `-o key=value`, or the CLI's flags).
 * Unknown names and bad values are UsageErrors that name the valid options and values.
 */
export function parseFsOptions(opts: Record<string, string | undefined> = {}, defaults: Partial<FsOptions> = {}): FsOptions {
  const out: FsOptions = { ...FS_DEFAULTS, ...defaults };
  for (const [rawName, rawValue] of Object.entries(opts)) {
    if (rawValue === undefined) continue;
    const name = rawName as FsOptionName;
    if (!(FS_OPTION_NAMES as readonly string[]).includes(name)) {
      throw new UsageError(`unknown option ${JSON.stringify(rawName)}: valid options are ${FS_OPTION_NAMES.join(', ')}`, {
        hint: describeFsOptions(),
      });
    }
    const value = String(rawValue).trim();
    switch (name) {
      case 'uid':
        out.uid = parseId(name, value);
        break;
      case 'gid':
        out.gid = parseId(name, value);
        break;
      case 'mode':
        out.mode = parseMode(name, value);
        break;
      case 'dir_mode':
        out.dirMode = parseMode(name, value);
        break;
      case 'listing':
        if (value !== 'visible' && value !== 'hidden') throw invalid(name, value);
        out.listing = value;
        break;
      case 'cache_ttl':
        out.cacheTtlMs = parseDuration(name, value, MAX_CACHE_TTL_MS);
        break;
      case 'stale_if_error': {
        const ms = parseDuration(name, value, MAX_STALE_MS);
        if (ms === 0) throw invalid(name, value);
        out.staleIfErrorMs = ms;
        break;
      }
      case 'version':
        if (!/^[1-9]\d{0,9}$/.test(value)) throw invalid(name, value);
        out.version = Number(value);
        break;
      case 'encoding':
        if (value !== 'utf8' && value !== 'base64') throw invalid(name, value);
        out.encoding = value;
        break;
      case 'keys':
        out.keys = parseKeySelection(value);
        break;
    }
  }
  return out;
}
