import { VaultError } from '../../lib/errors.js';
import type { SecretData, SecretSource } from '../../lib/fs/source.js';

/**
 * An in-memory SecretSource for unit tests and benchmarks of the layers above it: secrets by
 * relative path, versions that count up on each put, injectable failures and read counters.
 */
export class MemorySource implements SecretSource {
  readonly name: string;
  private readonly secrets = new Map<string, SecretData>();
  private readonly failures = new Map<string, VaultError>();
  /** Calls to read() and list(), as Vault requests would be counted. */
  reads = 0;
  lists = 0;
  /** Milliseconds each call waits before answering (to test single-flight and timeouts). */
  delayMs = 0;

  constructor(name = 'secret/test', initial: Record<string, Record<string, unknown>> = {}) {
    this.name = name;
    for (const [p, data] of Object.entries(initial)) this.put(p, data);
  }

  /** Writes a secret (a new version). */
  put(relPath: string, data: Record<string, unknown>): void {
    const version = (this.secrets.get(relPath)?.version ?? 0) + 1;
    this.secrets.set(relPath, { data: structuredClone(data), version });
  }

  /** Removes a secret. */
  delete(relPath: string): void {
    this.secrets.delete(relPath);
  }

  /** Makes every call fail like Vault would ('*' for all paths); `undefined` clears it. */
  fail(failure: VaultError['failure'] | undefined, relPath = '*'): void {
    if (failure === undefined) this.failures.delete(relPath);
    else this.failures.set(relPath, new VaultError(`injected ${failure}`, failure, failure === 'forbidden' ? 403 : failure === 'not_found' ? 404 : failure === 'server' ? 500 : undefined));
  }

  private async before(relPath: string): Promise<void> {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    const err = this.failures.get(relPath) ?? this.failures.get('*');
    if (err) throw err;
  }

  /** Reads a secret (not_found when absent). */
  async read(relPath: string): Promise<SecretData> {
    this.reads++;
    await this.before(relPath);
    const s = this.secrets.get(relPath);
    if (!s) throw new VaultError(`no secret at ${relPath}`, 'not_found', 404);
    return structuredClone(s);
  }

  /** Lists direct children: keys of secrets, folders with a trailing slash. */
  async list(relPath: string): Promise<string[]> {
    this.lists++;
    await this.before(relPath);
    const prefix = relPath === '' ? '' : relPath + '/';
    const out = new Set<string>();
    for (const p of this.secrets.keys()) {
      if (p === '' || !p.startsWith(prefix) || p === relPath) continue;
      const rest = p.slice(prefix.length);
      const slash = rest.indexOf('/');
      out.add(slash === -1 ? rest : rest.slice(0, slash + 1));
    }
    return [...out].sort();
  }
}
