import { createHmac } from 'node:crypto';
import type { AuthBlock } from './envelope.js';
import { randomBase62, type StoreState, type TokenEntry } from './state.js';

/**
 * The token store: tokens are kept only as HMAC-SHA256 hashes, indexed by hash and by accessor,
 * arranged in a parent/child tree (revoking a parent revokes its children), with TTL, explicit
 * max TTL, periods and use counts as Vault's token store has them.
 */

/** Vault's default system max lease TTL: 768h (32 days). */
export const SYSTEM_MAX_TTL = 2764800;
/** Vault's default system default lease TTL: 768h (32 days). */
export const SYSTEM_DEFAULT_TTL = 2764800;

/** Policies that cannot be given to tokens directly. */
export const NON_ASSIGNABLE_POLICIES = ['response-wrapping', 'control-group'];

/** Vault's policyutil.SanitizePolicies: trim, lower-case, dedupe, sort; `root` alone wins. */
export function sanitizePolicies(policies: string[], addDefault: boolean): string[] {
  const set = new Set<string>();
  for (const p of policies) {
    const v = p.trim().toLowerCase();
    if (v) set.add(v);
  }
  if (set.has('root')) return ['root'];
  if (addDefault) set.add('default');
  return [...set].sort();
}

/** The token store over the state's token map. */
export class TokenStore {
  private readonly byAccessor = new Map<string, TokenEntry>();
  private readonly children = new Map<string, Set<string>>();
  /** Called with each revoked entry (to drop wrapped responses, cubbyholes). */
  onRevoke: (te: TokenEntry) => void = () => {};
  /** Called with the hash of each entry that was added, changed or removed (its record is to be written). */
  onChange: (hash: string) => void = () => {};

  constructor(private readonly state: StoreState) {
    for (const te of state.tokens.values()) this.index(te);
  }

  private index(te: TokenEntry): void {
    this.byAccessor.set(te.accessor, te);
    if (te.parent) {
      let set = this.children.get(te.parent);
      if (!set) this.children.set(te.parent, (set = new Set()));
      set.add(te.accessor);
    }
  }

  // Token -> hash, so a hot token is not re-hashed on every request (bounded; cleared when full).
  private readonly hashCache = new Map<string, string>();

  /** The hash under which a token is stored. */
  hash(token: string): string {
    let h = this.hashCache.get(token);
    if (h === undefined) {
      h = createHmac('sha256', this.state.hmacKey).update(token).digest('hex');
      if (this.hashCache.size >= 10_000) this.hashCache.clear();
      this.hashCache.set(token, h);
    }
    return h;
  }

  /** A new random token and accessor, with Vault's prefixes (hvs. service, hvb. batch). */
  generate(type: 'service' | 'batch' = 'service'): { token: string; accessor: string } {
    return { token: `${type === 'batch' ? 'hvb' : 'hvs'}.${randomBase62(24)}`, accessor: randomBase62(24) };
  }

  /** Records that an entry's fields changed (e.g. a renewal). */
  changed(te: TokenEntry): void {
    this.onChange(te.hash);
  }

  /** Stores a new entry. */
  insert(te: TokenEntry): void {
    this.state.tokens.set(te.hash, te);
    this.index(te);
    this.onChange(te.hash);
  }

  /** Whether the entry (and every ancestor) is unexpired. Expired ones are revoked on the spot. */
  private valid(te: TokenEntry, now: number): boolean {
    let cur: TokenEntry | undefined = te;
    for (let depth = 0; cur && depth < 1000; depth++) {
      if (cur.expireAt && cur.expireAt <= now) {
        this.revokeTree(cur);
        return false;
      }
      if (!cur.parent) return true;
      cur = this.byAccessor.get(cur.parent);
    }
    return true;
  }

  /** The live entry of a token, or undefined (unknown, expired or revoked). */
  lookup(token: string, now = Date.now()): TokenEntry | undefined {
    if (!token) return undefined;
    const te = this.state.tokens.get(this.hash(token));
    if (!te || !this.valid(te, now)) return undefined;
    return te;
  }

  /** Whether a token is known and unexpired, without side effects (a pre-check; `lookup` decides). */
  peek(token: string, now = Date.now()): boolean {
    if (!token) return false;
    const te = this.state.tokens.get(this.hash(token));
    return !!te && (!te.expireAt || te.expireAt > now);
  }

  /** The live entry of an accessor, or undefined. */
  lookupAccessor(accessor: string, now = Date.now()): TokenEntry | undefined {
    const te = this.byAccessor.get(accessor);
    if (!te || !this.valid(te, now)) return undefined;
    return te;
  }

  /** Revokes a token and all its descendants; returns how many were revoked. */
  revokeTree(te: TokenEntry): number {
    let count = 0;
    const stack = [te];
    while (stack.length > 0) {
      const cur = stack.pop()!;
      const kids = this.children.get(cur.accessor);
      if (kids) for (const acc of kids) {
        const child = this.byAccessor.get(acc);
        if (child) stack.push(child);
      }
      count += this.remove(cur) ? 1 : 0;
    }
    return count;
  }

  /** Revokes one token and makes its children orphans. */
  revokeOrphan(te: TokenEntry): void {
    const kids = this.children.get(te.accessor);
    if (kids) for (const acc of kids) {
      const child = this.byAccessor.get(acc);
      if (child) {
        child.parent = '';
        this.onChange(child.hash);
      }
    }
    this.children.delete(te.accessor);
    this.remove(te);
  }

  private remove(te: TokenEntry): boolean {
    if (!this.state.tokens.delete(te.hash)) return false;
    this.onChange(te.hash);
    this.byAccessor.delete(te.accessor);
    this.children.delete(te.accessor);
    if (te.parent) this.children.get(te.parent)?.delete(te.accessor);
    this.onRevoke(te);
    return true;
  }

  /**
   * Counts one use of a token with limited uses. Returns true when this was the last use
   * (the caller revokes the token once the request is done, as Vault does).
   */
  use(te: TokenEntry): boolean {
    if (te.numUses <= 0) return false;
    te.numUses -= 1;
    this.onChange(te.hash);
    return te.numUses === 0;
  }

  /** Revokes every expired token; returns how many. */
  sweep(now = Date.now()): number {
    let count = 0;
    for (const te of [...this.state.tokens.values()]) {
      if (te.expireAt && te.expireAt <= now && this.state.tokens.has(te.hash)) count += this.revokeTree(te);
    }
    return count;
  }

  /** All accessors (auth/token/accessors); batch tokens have none. */
  accessors(): string[] {
    return [...this.byAccessor.values()].filter((te) => te.type !== 'batch').map((te) => te.accessor);
  }

  /** Remaining TTL in whole seconds (0 for a non-expiring token). */
  remaining(te: TokenEntry, now = Date.now()): number {
    if (!te.expireAt) return 0;
    return Math.max(0, Math.round((te.expireAt - now) / 1000));
  }

  /** The `auth` block for a token (client_token only when the caller knows it). */
  authBlock(te: TokenEntry, token: string, leaseDuration = this.remaining(te)): AuthBlock {
    return {
      client_token: token,
      accessor: te.type === 'batch' ? '' : te.accessor,
      policies: te.policies,
      token_policies: te.policies,
      metadata: te.meta,
      lease_duration: leaseDuration,
      renewable: te.renewable && te.expireAt !== 0,
      entity_id: '',
      token_type: te.type ?? 'service',
      orphan: te.parent === '',
      mfa_requirement: null,
      num_uses: te.numUses,
    };
  }

  /** The `data` of a token lookup. `id` is the token, or "" for lookup-accessor. */
  lookupData(te: TokenEntry, id: string, now = Date.now()): Record<string, unknown> {
    const data: Record<string, unknown> = {
      accessor: te.type === 'batch' ? '' : te.accessor,
      creation_time: te.creationTime,
      creation_ttl: te.ttl,
      display_name: te.displayName,
      entity_id: '',
      expire_time: te.expireAt ? new Date(te.expireAt).toISOString() : null,
      explicit_max_ttl: te.explicitMaxTtl,
      id,
      issue_time: new Date(te.creationTime * 1000).toISOString(),
      meta: te.meta,
      num_uses: te.numUses,
      orphan: te.parent === '',
      path: te.path,
      policies: te.policies,
      renewable: te.renewable && te.expireAt !== 0,
      ttl: this.remaining(te, now),
      type: te.type ?? 'service',
    };
    if (te.role) data.role = te.role;
    if (te.period) data.period = te.period;
    if (te.lastRenewal) {
      data.last_renewal_time = Math.floor(te.lastRenewal / 1000);
      data.last_renewal = new Date(te.lastRenewal).toISOString();
    }
    return data;
  }
}
