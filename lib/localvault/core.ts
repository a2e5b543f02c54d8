import { join } from 'node:path';
import { Acl, parsePolicy, type ParsedPolicy } from './acl.js';
import { AuditLog } from './audit.js';
import { DEFAULT_POLICY, RESPONSE_WRAPPING_POLICY } from './builtin-policies.js';
import { newState, serializeState, type StoreState, type TokenEntry } from './state.js';
import { Persister, Storage, writeFileAtomic } from './storage.js';
import { TokenStore } from './tokens.js';

/** A minimal structured logger; lib/log.ts's loggers fit it. Messages never carry values or tokens. */
export interface StoreLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** A logger that drops everything. */
export const silentLogger: StoreLogger = { info() {}, warn() {}, error() {} };

/** Name of the root token file inside the data directory. */
export const ROOT_TOKEN_FILE = 'root-token';

/** Options of Core.open. */
export interface CoreOptions {
  dataDir: string;
  /** Path of the audit log; none when omitted. */
  auditLog?: string;
  log?: StoreLogger;
  /** How often expired tokens are swept, in ms (default 1000). */
  sweepIntervalMs?: number;
}

/**
 * The store's core: the in-memory state, token store, policy cache, persistence and audit log.
 * Handlers mutate the state synchronously and call `changed()`; the router then awaits `persist()`
 * before answering, so every 2xx to a write is durable.
 */
export class Core {
  readonly tokens: TokenStore;
  readonly startedAt = Date.now();
  /** Bumped on every mutation; the router compares it to decide whether to persist. */
  mutations = 0;
  private readonly parsed = new Map<string, ParsedPolicy>();
  private readonly aclCache = new Map<string, Acl>();
  private readonly persister: Persister;
  private sweepTimer?: NodeJS.Timeout;
  private readonly wrappingPolicy: ParsedPolicy;

  private constructor(
    readonly state: StoreState,
    readonly storage: Storage,
    readonly audit: AuditLog | undefined,
    readonly log: StoreLogger,
  ) {
    this.tokens = new TokenStore(state);
    this.tokens.onRevoke = (te) => this.onRevoke(te);
    this.persister = new Persister(() => this.storage.save(serializeState(this.state)));
    this.wrappingPolicy = parsePolicy('response-wrapping', RESPONSE_WRAPPING_POLICY);
  }

  /**
   * Opens the data directory: loads the encrypted state, or creates a new store (KV v2 at secret/,
   * the default policy, a root token written once to `<dataDir>/root-token`, mode 0600).
   */
  static async open(opts: CoreOptions): Promise<Core> {
    const log = opts.log ?? silentLogger;
    const storage = await Storage.open(opts.dataDir);
    let state = await storage.load();
    const fresh = state === undefined;
    if (!state) state = newState();
    const audit = opts.auditLog ? await AuditLog.open(opts.auditLog) : undefined;
    const core = new Core(state, storage, audit, log);
    if (fresh) {
      state.policies.set('default', DEFAULT_POLICY);
      const { token, accessor } = core.tokens.generate();
      core.tokens.insert({
        hash: core.tokens.hash(token),
        accessor,
        policies: ['root'],
        parent: '',
        meta: null,
        displayName: 'root',
        numUses: 0,
        creationTime: Math.floor(Date.now() / 1000),
        ttl: 0,
        explicitMaxTtl: 0,
        period: 0,
        expireAt: 0,
        lastRenewal: 0,
        renewable: false,
        path: 'auth/token/root',
        role: '',
      });
      await core.persist();
      // Written once, when the store is created (a stale file from a removed store is replaced).
      await writeFileAtomic(opts.dataDir, ROOT_TOKEN_FILE, token + '\n');
      log.info('new store initialized', { dataDir: opts.dataDir });
    }
    const swept = core.tokens.sweep();
    if (swept > 0) await core.persist();
    core.sweepTimer = setInterval(() => core.sweepExpired(), opts.sweepIntervalMs ?? 1000);
    core.sweepTimer.unref();
    return core;
  }

  /** Path of the root token file. */
  get rootTokenFile(): string {
    return join(this.storage.dir, ROOT_TOKEN_FILE);
  }

  /** Records that the state changed. */
  changed(): void {
    this.mutations++;
  }

  /** Makes the state durable (coalesced with concurrent writes). */
  persist(): Promise<void> {
    return this.persister.flush();
  }

  private sweepExpired(): void {
    const now = Date.now();
    let changed = this.tokens.sweep(now) > 0;
    for (const accessor of [...this.state.wraps.keys()]) {
      if (!this.tokens.lookupAccessor(accessor, now)) {
        this.state.wraps.delete(accessor);
        changed = true;
      }
    }
    if (changed) {
      this.changed();
      this.persist().catch((err) => this.log.error('persisting after token expiry failed', { error: (err as Error).message }));
    }
  }

  private onRevoke(te: TokenEntry): void {
    this.state.wraps.delete(te.accessor);
    this.state.kv.delete(`cubbyhole:${te.accessor}`);
  }

  /** The parsed form of a stored policy, or undefined when it does not exist. */
  policy(name: string): ParsedPolicy | undefined {
    if (name === 'response-wrapping') return this.wrappingPolicy;
    const text = this.state.policies.get(name);
    if (text === undefined) return undefined;
    let p = this.parsed.get(name);
    if (!p) {
      try {
        p = parsePolicy(name, text);
      } catch {
        // Stored policies were validated on write; treat an unparsable one as empty.
        p = { name, rules: [] };
      }
      this.parsed.set(name, p);
    }
    return p;
  }

  /** Stores a policy (already validated) and drops cached ACLs. */
  setPolicy(name: string, text: string, parsed: ParsedPolicy): void {
    this.state.policies.set(name, text);
    this.parsed.set(name, parsed);
    this.aclCache.clear();
    this.changed();
  }

  /** Deletes a policy; tokens that still name it act as if it were empty. */
  deletePolicy(name: string): void {
    this.state.policies.delete(name);
    this.parsed.delete(name);
    this.aclCache.clear();
    this.changed();
  }

  /** The ACL of a set of policies (cached). */
  aclFor(policies: string[]): Acl {
    const key = policies.join('\n');
    let acl = this.aclCache.get(key);
    if (!acl) {
      const root = policies.includes('root');
      const parsed = root ? [] : policies.map((p) => this.policy(p)).filter((p): p is ParsedPolicy => p !== undefined);
      acl = new Acl(parsed, root);
      if (this.aclCache.size > 1000) this.aclCache.clear();
      this.aclCache.set(key, acl);
    }
    return acl;
  }

  /** Stops timers, waits for pending writes and closes the audit log. */
  async close(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await this.persister.idle();
    await this.audit?.close();
  }
}
