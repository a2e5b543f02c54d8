import { UsageError } from '../errors.js';
import { renderSecret, valueBytes } from '../render/secret.js';
import { normalizeSecretPath, validateKeyName } from '../vault/kv-path.js';

/**
 * What a Swarm secret of the secretfs driver reads from Vault, as the secret's labels say it:
 * `docker secret create --driver secretfs --label secretfs.path=secret/app-1 --label secretfs.key=db-password db_pwd`.
 * The labels are the only place this is written down, so the CLI (`secret create`, `secret ls`)
 * and the driver's secret provider both read and write them through this module.
 */
export const SECRET_LABELS = {
  path: 'secretfs.path',
  key: 'secretfs.key',
  format: 'secretfs.format',
  version: 'secretfs.version',
} as const;

/** The whole secret's formats when no key is named; `json` is the default. */
export const SWARM_SECRET_FORMATS = ['json', 'env', 'yaml'] as const;
export type SwarmSecretFormat = (typeof SWARM_SECRET_FORMATS)[number];

/** Swarm refuses a secret value that is empty or 500 KiB or more (swarmkit's MaxSecretSize). */
export const MAX_SWARM_SECRET_BYTES = 500 * 1024 - 1;

/** One Swarm secret's source in Vault. */
export interface SwarmSecretSpec {
  path: string;
  /** One key's exact bytes; without it, the whole secret in `format`. */
  key?: string;
  format: SwarmSecretFormat;
  /** A pinned KV v2 version; without it, the latest. */
  version?: number;
}

/** A label that is missing or wrong: the message names the label; the caller adds the secret's name. */
export class SecretLabelError extends UsageError {
  constructor(
    readonly label: string,
    message: string,
  ) {
    super(`label ${label}: ${message}`);
  }
}

const KNOWN = new Set<string>(Object.values(SECRET_LABELS));

/** Reads the spec from a secret's labels; other labels are the user's own, any other `secretfs.*` is a typo. */
export function parseSecretLabels(labels: Readonly<Record<string, string>> | undefined): SwarmSecretSpec {
  const get = (label: string): string | undefined => (labels && Object.prototype.hasOwnProperty.call(labels, label) ? labels[label] : undefined);
  for (const label of Object.keys(labels ?? {})) {
    if (label.startsWith('secretfs.') && !KNOWN.has(label)) {
      throw new SecretLabelError(label, `unknown label; the secretfs labels are ${[...KNOWN].join(', ')}`);
    }
  }
  const rawPath = get(SECRET_LABELS.path);
  if (rawPath === undefined || rawPath.trim() === '') {
    throw new SecretLabelError(SECRET_LABELS.path, 'missing: the Vault path to read, e.g. --label secretfs.path=secret/app-1');
  }
  const path = check(SECRET_LABELS.path, () => normalizeSecretPath(rawPath));
  const spec: SwarmSecretSpec = { path, format: 'json' };
  const key = get(SECRET_LABELS.key);
  if (key !== undefined) spec.key = check(SECRET_LABELS.key, () => validateKeyName(key));
  const format = get(SECRET_LABELS.format);
  if (format !== undefined) {
    if (!(SWARM_SECRET_FORMATS as readonly string[]).includes(format)) {
      throw new SecretLabelError(SECRET_LABELS.format, `${JSON.stringify(format)} is not one of ${SWARM_SECRET_FORMATS.join(', ')}`);
    }
    if (spec.key !== undefined) throw new SecretLabelError(SECRET_LABELS.format, `use it without ${SECRET_LABELS.key}: one key is always its exact bytes`);
    spec.format = format as SwarmSecretFormat;
  }
  const version = get(SECRET_LABELS.version);
  if (version !== undefined) {
    if (!/^[1-9][0-9]{0,9}$/.test(version)) throw new SecretLabelError(SECRET_LABELS.version, `${JSON.stringify(version)} is not a positive KV v2 version number`);
    spec.version = Number(version);
  }
  return spec;
}

function check<T>(label: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new SecretLabelError(label, (err as Error).message);
  }
}

/** The labels that say `spec` (the inverse of parseSecretLabels; the default format is left out). */
export function secretLabels(spec: SwarmSecretSpec): Record<string, string> {
  const labels: Record<string, string> = { [SECRET_LABELS.path]: spec.path };
  if (spec.key !== undefined) labels[SECRET_LABELS.key] = spec.key;
  else if (spec.format !== 'json') labels[SECRET_LABELS.format] = spec.format;
  if (spec.version !== undefined) labels[SECRET_LABELS.version] = String(spec.version);
  return labels;
}

/**
 * The bytes a task gets: one key's exact value bytes, or the whole secret rendered as the
 * secretfs filesystem's views render it. A missing key is a SecretLabelError naming the key and the
 * other keys (names only, never values); so is a value Swarm would refuse for its size.
 */
export function renderSwarmSecret(data: Record<string, unknown>, spec: SwarmSecretSpec): Buffer {
  let bytes: Buffer;
  if (spec.key !== undefined) {
    if (!Object.prototype.hasOwnProperty.call(data, spec.key)) {
      const keys = Object.keys(data).sort();
      throw new SecretLabelError(SECRET_LABELS.key, `no key ${JSON.stringify(spec.key)} in ${spec.path} (its keys: ${keys.length ? keys.join(', ') : 'none'})`);
    }
    bytes = valueBytes(data[spec.key], 'utf8');
  } else bytes = renderSecret(data, spec.format);
  const label = spec.key !== undefined ? SECRET_LABELS.key : SECRET_LABELS.path;
  if (bytes.length === 0) throw new SecretLabelError(label, `the value at ${spec.path}${spec.key ? ` key ${spec.key}` : ''} is empty, and a Swarm secret must hold at least one byte`);
  if (bytes.length > MAX_SWARM_SECRET_BYTES) {
    throw new SecretLabelError(label, `the value at ${spec.path}${spec.key ? ` key ${spec.key}` : ''} is ${bytes.length} bytes, and a Swarm secret must be smaller than ${MAX_SWARM_SECRET_BYTES + 1}`);
  }
  return bytes;
}
