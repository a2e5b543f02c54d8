import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from '../errors.js';
import { parseDurationSeconds } from '../duration.js';
import { DEFAULT_JSON_LIMITS, type JsonLimits } from './json-limits.js';

/**
 * The store's listener settings, with Vault's tcp listener names and defaults. They are read from
 * `<dataDir>/listener.json` when it exists (all keys optional), e.g.
 * `{"max_request_size": 1048576, "max_json_depth": 100, "http_read_header_timeout": "5s"}`.
 */

/** The settings file inside the data directory. */
export const LISTENER_FILE = 'listener.json';

export interface ListenerConfig {
  /** max_request_size, bytes (32 MiB). */
  maxRequestSize: number;
  /** max_json_depth (500), max_json_string_value_length (1 MiB), max_json_object_entry_count and max_json_array_element_count (10000). */
  json: JsonLimits;
  /** http_read_header_timeout (10s). */
  readHeaderTimeoutMs: number;
  /** http_read_timeout (30s): the whole request, head and body. */
  readTimeoutMs: number;
  /** http_idle_timeout (5m): an idle keep-alive connection. */
  idleTimeoutMs: number;
  /** max_connections: open connections beyond it are refused at accept (default 1024; Vault has no such cap). */
  maxConnections: number;
}

export const DEFAULT_LISTENER: ListenerConfig = {
  maxRequestSize: 32 * 1024 * 1024,
  json: DEFAULT_JSON_LIMITS,
  readHeaderTimeoutMs: 10_000,
  readTimeoutMs: 30_000,
  idleTimeoutMs: 300_000,
  maxConnections: 1024,
};

const INTS: Record<string, (c: ListenerConfig, v: number) => void> = {
  max_request_size: (c, v) => (c.maxRequestSize = v),
  max_json_depth: (c, v) => (c.json.maxDepth = v),
  max_json_string_value_length: (c, v) => (c.json.maxStringValueLength = v),
  max_json_object_entry_count: (c, v) => (c.json.maxObjectEntryCount = v),
  max_json_array_element_count: (c, v) => (c.json.maxArrayElementCount = v),
  max_connections: (c, v) => (c.maxConnections = v),
};
const DURATIONS: Record<string, (c: ListenerConfig, ms: number) => void> = {
  http_read_header_timeout: (c, ms) => (c.readHeaderTimeoutMs = ms),
  http_read_timeout: (c, ms) => (c.readTimeoutMs = ms),
  http_idle_timeout: (c, ms) => (c.idleTimeoutMs = ms),
};

/** Parses the settings document; throws StoreError naming the file and the key on a bad value. */
export function parseListenerConfig(doc: unknown, file: string): ListenerConfig {
  const config: ListenerConfig = { ...DEFAULT_LISTENER, json: { ...DEFAULT_LISTENER.json } };
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new StoreError(`${file} must hold a JSON object`);
  for (const [key, value] of Object.entries(doc)) {
    if (key in INTS) {
      if (!Number.isInteger(value) || (value as number) <= 0) throw new StoreError(`${file}: ${key} must be a positive integer`);
      INTS[key](config, value as number);
    } else if (key in DURATIONS) {
      let seconds: number;
      try {
        // Sub-second values ("250ms") are allowed, for tests.
        seconds = typeof value === 'string' && /^\d+ms$/.test(value) ? Number(value.slice(0, -2)) / 1000 : parseDurationSeconds(value);
      } catch (err) {
        throw new StoreError(`${file}: ${key}: ${(err as Error).message}`);
      }
      if (!(seconds > 0)) throw new StoreError(`${file}: ${key} must be a positive duration`);
      DURATIONS[key](config, Math.round(seconds * 1000));
    } else {
      throw new StoreError(`${file}: unknown setting ${JSON.stringify(key)}`, { hint: `known: ${[...Object.keys(INTS), ...Object.keys(DURATIONS)].join(', ')}` });
    }
  }
  return config;
}

/** The listener settings of a data directory (Vault's defaults when it has no listener.json). */
export async function readListenerConfig(dataDir: string): Promise<ListenerConfig> {
  const file = join(dataDir, LISTENER_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ...DEFAULT_LISTENER, json: { ...DEFAULT_LISTENER.json } };
    throw err;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new StoreError(`${file} is not valid JSON`);
  }
  return parseListenerConfig(doc, file);
}
