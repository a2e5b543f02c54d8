import { appendFileSync, mkdirSync, openSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Fields whose values are never written, whatever a caller passes. */
const REDACTED = /token|secret|password|value|credential|client_token|wrap/i;

/** A daemon logger: JSON lines with time, level, component and fields. No colours, no secrets. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(component: string): Logger;
}

export interface LoggerOptions {
  /** Append to this file (created 0600); otherwise write to `write`. */
  file?: string;
  write?: (line: string) => void;
  level?: LogLevel;
  component?: string;
}

/** Replaces the values of secret-looking fields; keeps accessors, which are safe to log. */
export function redactFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (k === 'accessor' || k.endsWith('Accessor') || k.endsWith('_accessor')) out[k] = v;
    else if (REDACTED.test(k)) out[k] = '[redacted]';
    else if (v instanceof Error) out[k] = v.message;
    else out[k] = v;
  }
  return out;
}

/** Creates a logger. Writes are synchronous appends so a crash loses nothing. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const min = RANK[options.level ?? 'info'];
  let write = options.write;
  if (!write && options.file) {
    const file = options.file;
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    closeSync(openSync(file, 'a', 0o600));
    write = (line) => {
      try {
        appendFileSync(file, line);
      } catch {
        // A line that cannot be written (the log's directory removed, a full disk) is lost, but it
        // must not throw into the caller: a daemon's SIGTERM handler logs first, and a throw there
        // left the driver running after its home was deleted.
      }
    };
  }
  const sink = write ?? (() => {});
  const make = (component: string | undefined): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
      if (RANK[level] < min) return;
      const entry = { time: new Date().toISOString(), level, ...(component ? { component } : {}), msg, ...(fields ? redactFields(fields) : {}) };
      sink(JSON.stringify(entry) + '\n');
    };
    return {
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      child: (c) => make(component ? `${component}.${c}` : c),
    };
  };
  return make(options.component);
}

/** A logger that drops everything (for tests and one-shot commands). */
export const silentLogger: Logger = createLogger({ write: () => {} });
