import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from '../errors.js';
import { Acl, parsePolicy, type ParsedPolicy } from './acl.js';
import { AuditLog } from './audit.js';
import { DEFAULT_POLICY, RESPONSE_WRAPPING_POLICY } from './builtin-policies.js';
import { ENGINE_FILE, Engine, type CompactResult } from './engine.js';
import { allRecordKeys, buildState, recordKey, recordValue } from './records.js';
import { deserializeState, newState, type StoreState, type TokenEntry } from './state.js';
import { DATA_FILE, openStoreKey, readLegacyDocument, writeFileAtomic } from './storage.js';
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

/** Thrown by `commit()` when the engine could not make a change durable; nothing of it was applied. */
export class PersistError extends Error {}

/** Options of Core.open. */
export interface CoreOptions {
  dataDir: string;
  /** Path of the audit log; none when omitted. */
  auditLog?: string;
  log?: StoreLogger;
  /** How often expired tokens are swept, in ms (default 1000). */
  sweepIntervalMs?: number;
}

/** The state's records in key order, as JSON: equal for two states that store the same records. */
function canonicalRecords(state: StoreState): string {
  return JSON.stringify(allRecordKeys(state).sort().map((k) => [k, recordValue(state, k)]));
}

function stateFromEngine(engine: Engine): StoreState | undefined {
  const records = engine.readAll();
  try {
    return buildState(records);
  } catch (err) {
    throw new StoreError(`the store database ${engine.file} is damaged (${(err as Error).message}); refusing to start`, { cause: err });
  }
}

/**
 * The store's core: the in-memory state (what requests read), the token store, the policy cache,
 * the storage engine and the audit log. Handlers change the state synchronously and `touch()` each
 * record they change; the router then calls `commit()`, which writes those records in one durable
 * transaction before the answer is sent. When the engine fails, the state is reloaded from the
 * engine, so a change that is not on disk is not served either.
 */
export class Core {
  tokens!: TokenStore;
  readonly startedAt = Date.now();
  private readonly parsed = new Map<string, ParsedPolicy>();
  private readonly aclCache = new Map<string, Acl>();
  /** Records changed since the last commit. */
  private readonly dirty = new Set<string>();
  private sweepTimer?: NodeJS.Timeout;
  private readonly wrappingPolicy: ParsedPolicy;

  private constructor(
    public state: StoreState,
    readonly engine: Engine,
    readonly dataDir: string,
    readonly audit: AuditLog | undefined,
    readonly log: StoreLogger,
  ) {
    this.attachTokens();
    this.wrappingPolicy = parsePolicy('response-wrapping', RESPONSE_WRAPPING_POLICY);
  }

  private attachTokens(): void {
    this.tokens = new TokenStore(this.state);
    this.tokens.onRevoke = (te) => this.onRevoke(te);
    this.tokens.onChange = (hash) => this.touch(recordKey.token(hash));
  }

  /**
   * Opens the data directory: loads the state from the engine, migrates the data file of earlier
   * versions at first start, or creates a new store (KV v2 at secret/, the default policy, a root
   * token written once to `<dataDir>/root-token`, mode 0600).
   */
  static async open(opts: CoreOptions): Promise<Core> {
    const log = opts.log ?? silentLogger;
    const key = await openStoreKey(opts.dataDir, [ENGINE_FILE, DATA_FILE]);
    const engine = Engine.open(opts.dataDir, key);
    try {
      let state = stateFromEngine(engine);
      state = (await migrateLegacyFile(opts.dataDir, key, engine, state, log)) ?? state;
      const fresh = state === undefined;
      if (!state) state = newState();
      const audit = opts.auditLog ? await AuditLog.open(opts.auditLog) : undefined;
      const core = new Core(state, engine, opts.dataDir, audit, log);
      if (fresh) await core.initialize();
      core.tokens.sweep();
      core.commit();
      core.sweepTimer = setInterval(() => core.sweepExpired(), opts.sweepIntervalMs ?? 1000);
      core.sweepTimer.unref();
      return core;
    } catch (err) {
      await engine.close();
      throw err;
    }
  }

  /** A new store: the default policy and a root token, committed, then the root token file. */
  private async initialize(): Promise<void> {
    this.state.policies.set('default', DEFAULT_POLICY);
    const { token, accessor } = this.tokens.generate();
    this.tokens.insert({
      hash: this.tokens.hash(token),
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
    for (const k of allRecordKeys(this.state)) this.touch(k);
    this.commit();
    // Written once, when the store is created (a stale file from a removed store is replaced).
    await writeFileAtomic(this.dataDir, ROOT_TOKEN_FILE, token + '\n');
    this.log.info('new store initialized', { dataDir: this.dataDir });
  }

  /** Path of the root token file. */
  get rootTokenFile(): string {
    return join(this.dataDir, ROOT_TOKEN_FILE);
  }

  /** Records that a record changed (its new value is read from the state at commit). */
  touch(key: string): void {
    this.dirty.add(key);
  }

  /** Whether anything changed since the last commit. */
  get hasChanges(): boolean {
    return this.dirty.size > 0;
  }

  /**
   * Writes every touched record in one durable transaction. When the engine fails (disk full, I/O
   * error), the in-memory state is rebuilt from the engine, so nothing of the change stays
   * visible, and PersistError is thrown.
   */
  commit(): void {
    if (this.dirty.size === 0) return;
    const writes = [...this.dirty].map((k) => [k, recordValue(this.state, k)] as [string, unknown]);
    this.dirty.clear();
    try {
      this.engine.commit(writes);
    } catch (err) {
      this.log.error('committing to the store database failed; the change is dropped', { error: (err as Error).message });
      this.reload();
      throw new PersistError((err as Error).message);
    }
  }

  /** Drops every change that is not in the engine: the state is read again from it. */
  private reload(): void {
    this.dirty.clear();
    this.state = stateFromEngine(this.engine) ?? newState();
    this.attachTokens();
    this.parsed.clear();
    this.aclCache.clear();
  }

  /** A compacting copy of the engine's database (see Engine.compact). */
  compact(): Promise<CompactResult> {
    return this.engine.compact();
  }

  private sweepExpired(): void {
    const now = Date.now();
    this.tokens.sweep(now);
    for (const accessor of [...this.state.wraps.keys()]) {
      if (!this.tokens.lookupAccessor(accessor, now)) {
        this.state.wraps.delete(accessor);
        this.touch(recordKey.wrap(accessor));
      }
    }
    try {
      this.commit();
    } catch (err) {
      this.log.error('persisting after token expiry failed', { error: (err as Error).message });
    }
  }

  private onRevoke(te: TokenEntry): void {
    if (this.state.wraps.delete(te.accessor)) this.touch(recordKey.wrap(te.accessor));
    const uuid = `cubbyhole:${te.accessor}`;
    const cubbyhole = this.state.kv.get(uuid);
    if (cubbyhole?.version === 1) for (const k of cubbyhole.entries.keys()) this.touch(recordKey.kv1(uuid, k));
    this.state.kv.delete(uuid);
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
    this.touch(recordKey.policy(name));
  }

  /** Deletes a policy; tokens that still name it act as if it were empty. */
  deletePolicy(name: string): void {
    this.state.policies.delete(name);
    this.parsed.delete(name);
    this.aclCache.clear();
    this.touch(recordKey.policy(name));
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

  /** Stops timers, closes the engine (after a running compaction) and the audit log. */
  async close(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await this.engine.close();
    await this.audit?.close();
  }
}

/**
 * Migrates the data file of earlier versions (one sealed JSON document) into the engine: all its
 * records in one transaction, read back and compared; only then is the old file removed. When
 * the engine already holds the migrated records (a crash before the removal), they are compared
 * again. Returns the migrated state, or undefined when there is no old file.
 */
async function migrateLegacyFile(dir: string, key: Buffer, engine: Engine, current: StoreState | undefined, log: StoreLogger): Promise<StoreState | undefined> {
  const doc = await readLegacyDocument(dir, key);
  if (doc === undefined) return undefined;
  const file = join(dir, DATA_FILE);
  let old: StoreState;
  try {
    old = deserializeState(doc);
  } catch (err) {
    throw new StoreError(`the store data file ${file} is damaged (${(err as Error).message}); refusing to start`, { cause: err });
  }
  if (!current) engine.commit(allRecordKeys(old).map((k) => [k, recordValue(old, k)]));
  const back = stateFromEngine(engine);
  if (!back || canonicalRecords(back) !== canonicalRecords(old)) {
    throw new StoreError(`the migration of ${file} into ${engine.file} could not be verified; refusing to start`, {
      hint: `${file} is kept unchanged; move ${engine.file} away to migrate again`,
    });
  }
  await rm(file);
  log.info('migrated the store data file into the store database', { from: file, to: engine.file });
  return back;
}
