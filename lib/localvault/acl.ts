import { CAPABILITIES, type Capability, type ParameterMap, type ParsedPolicy } from './policy-parse.js';

/**
 * Vault's ACL model, pure: deciding which capabilities a set of parsed policies grants on a path.
 * Only the single highest-priority matching path pattern counts; the same pattern in several
 * policies is unioned; `deny` on that pattern wins over everything. Parsing is policy-parse.ts.
 */

export { CAPABILITIES, PolicyParseError, parsePolicy, type Capability, type ParameterMap, type ParsedPolicy, type PathRule } from './policy-parse.js';

/** Merges parameter maps of the same path in several policies: values add up; an empty list (any value) wins. */
function mergeParameterMaps(a: ParameterMap | undefined, b: ParameterMap | undefined): ParameterMap | undefined {
  if (!a) return b;
  if (!b) return a;
  const out: ParameterMap = Object.create(null);
  for (const [k, v] of Object.entries(a)) out[k] = [...v];
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = cur === undefined ? [...v] : cur.length === 0 || v.length === 0 ? [] : [...cur, ...v];
  }
  return out;
}

function globValueMatch(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  const re = new RegExp('^' + pattern.split('*').map(escapeRe).join('.*') + '$', 's');
  return re.test(value);
}

/** Vault's valueInParameterList: an empty list allows any value; strings may use * globs. */
function valueInList(value: unknown, list: unknown[]): boolean {
  if (list.length === 0) return true;
  const values = Array.isArray(value) ? value : [value];
  return values.every((v) =>
    list.some((allowed) => (typeof allowed === 'string' && typeof v === 'string' ? globValueMatch(allowed, v) : JSON.stringify(allowed) === JSON.stringify(v))),
  );
}

interface CompiledRule {
  pattern: string;
  caps: Set<Capability>;
  /** Index of the first `+` or `*`, Infinity for an exact path. */
  firstWildcard: number;
  endsWithGlob: boolean;
  plusCount: number;
  /** null for an exact pattern; otherwise a test function. */
  test: ((path: string) => boolean) | null;
  allowedParameters?: ParameterMap;
  deniedParameters?: ParameterMap;
  requiredParameters?: string[];
  minWrappingTtl?: number;
  maxWrappingTtl?: number;
}

/** The smaller of two bounds where 0 means none (Vault merges wrapping TTLs of one path this way). */
function shortestBound(a: number | undefined, b: number | undefined): number | undefined {
  if (!a) return b || undefined;
  if (!b) return a;
  return Math.min(a, b);
}

function isSegmentWildcard(pattern: string): boolean {
  return pattern.split('/').includes('+');
}

function compileRule(pattern: string, caps: Set<Capability>): CompiledRule {
  const segments = pattern.split('/');
  const plusCount = segments.filter((s) => s === '+').length;
  const endsWithGlob = pattern.endsWith('*');
  let firstWildcard = Infinity;
  if (endsWithGlob) firstWildcard = pattern.length - 1;
  let offset = 0;
  for (const seg of segments) {
    if (seg === '+') {
      firstWildcard = Math.min(firstWildcard, offset);
      break;
    }
    offset += seg.length + 1;
  }
  let test: CompiledRule['test'] = null;
  if (plusCount > 0) {
    const body = segments
      .map((seg, i) => {
        if (seg === '+') return '[^/]*';
        const isLast = i === segments.length - 1;
        if (isLast && endsWithGlob) return escapeRe(seg.slice(0, -1)) + '.*';
        return escapeRe(seg);
      })
      .join('/');
    const re = new RegExp(`^${body}$`, 's');
    test = (path) => re.test(path);
  } else if (endsWithGlob) {
    const prefix = pattern.slice(0, -1);
    test = (path) => path.startsWith(prefix);
  }
  return { pattern, caps, firstWildcard, endsWithGlob, plusCount, test };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** True when rule a has LOWER priority than rule b (Vault's documented ordering). */
export function lowerPriority(a: CompiledRule | string, b: CompiledRule | string): boolean {
  const ra = typeof a === 'string' ? compileRule(a, new Set()) : a;
  const rb = typeof b === 'string' ? compileRule(b, new Set()) : b;
  if (ra.firstWildcard !== rb.firstWildcard) return ra.firstWildcard < rb.firstWildcard;
  if (ra.endsWithGlob !== rb.endsWithGlob) return ra.endsWithGlob;
  if (ra.plusCount !== rb.plusCount) return ra.plusCount > rb.plusCount;
  if (ra.pattern.length !== rb.pattern.length) return ra.pattern.length < rb.pattern.length;
  return ra.pattern < rb.pattern;
}

/** The capabilities of a token's policy set, ready to answer path questions. */
export class Acl {
  readonly root: boolean;
  private readonly exact = new Map<string, CompiledRule>();
  private readonly nonExact: CompiledRule[] = [];

  constructor(policies: ParsedPolicy[], root = false) {
    this.root = root;
    const merged = new Map<string, { caps: Set<Capability>; allowed?: ParameterMap; denied?: ParameterMap; required?: string[]; minWrap?: number; maxWrap?: number }>();
    for (const policy of policies) {
      for (const rule of policy.rules) {
        // No identity entities here: a templated path is never filled in, so it grants nothing (as in Vault).
        if (rule.templated) continue;
        let m = merged.get(rule.pattern);
        if (!m) merged.set(rule.pattern, (m = { caps: new Set() }));
        for (const c of rule.capabilities) m.caps.add(c);
        m.allowed = mergeParameterMaps(m.allowed, rule.allowedParameters);
        m.denied = mergeParameterMaps(m.denied, rule.deniedParameters);
        if (rule.requiredParameters) m.required = [...new Set([...(m.required ?? []), ...rule.requiredParameters])];
        m.minWrap = shortestBound(m.minWrap, rule.minWrappingTtl);
        m.maxWrap = shortestBound(m.maxWrap, rule.maxWrappingTtl);
      }
    }
    for (const [pattern, m] of merged) {
      const effective = m.caps.has('deny') ? new Set<Capability>(['deny']) : m.caps;
      const rule = compileRule(pattern, effective);
      rule.allowedParameters = m.allowed;
      rule.deniedParameters = m.denied;
      rule.requiredParameters = m.required;
      rule.minWrappingTtl = m.minWrap;
      rule.maxWrappingTtl = m.maxWrap;
      if (rule.test) this.nonExact.push(rule);
      else this.exact.set(pattern, rule);
    }
  }

  /** The single rule that governs a path, or undefined when none matches. */
  matchingRule(path: string, list = false): CompiledRule | undefined {
    const exact = this.exact.get(path);
    if (exact) return exact;
    if (list && path.endsWith('/')) {
      const trimmed = this.exact.get(path.slice(0, -1));
      if (trimmed) return trimmed;
    }
    let best: CompiledRule | undefined;
    for (const rule of this.nonExact) {
      if (!rule.test!(path)) continue;
      if (!best || lowerPriority(best, rule)) best = rule;
    }
    return best;
  }

  /** The capabilities granted on a path ("deny" alone when denied or nothing matches). */
  capabilities(path: string, list = false): Set<Capability> {
    if (this.root) return new Set(CAPABILITIES.filter((c) => c !== 'deny'));
    const rule = this.matchingRule(path, list);
    if (!rule || rule.caps.size === 0 || rule.caps.has('deny')) return new Set<Capability>(['deny']);
    return rule.caps;
  }

  /**
   * Whether every capability in `needed` is granted on the path (root: always). With `data` (the
   * request parameters of a read, create, update or patch), the rule's required, denied and
   * allowed parameters are checked as Vault does. With `wrapTtl` (the request's wrap TTL in
   * seconds, 0 = not wrapped), the rule's min/max wrapping TTLs are enforced.
   */
  allows(path: string, needed: Capability[], list = false, data?: Record<string, unknown>, wrapTtl?: number): boolean {
    if (this.root) return true;
    const rule = this.matchingRule(path, list);
    if (!rule || rule.caps.size === 0 || rule.caps.has('deny')) return false;
    if (!needed.every((c) => rule.caps.has(c))) return false;
    if (wrapTtl !== undefined && !wrappingAllowed(rule, wrapTtl)) return false;
    return data === undefined || parametersAllowed(rule, data);
  }

  /** What sys/capabilities-self reports for a path: ["root"], ["deny"] or the sorted capabilities. */
  describe(path: string): string[] {
    if (this.root) return ['root'];
    const caps = this.capabilities(path);
    return [...caps].sort();
  }

  /**
   * Whether the token has any (non-deny) capability on or below a mount path, as Vault's
   * hasMountAccess decides it for sys/internal/ui/mounts.
   */
  hasMountAccess(mountPath: string): boolean {
    if (this.root) return true;
    if (!this.capabilities(mountPath).has('deny')) return true;
    const granted = (r: CompiledRule) => r.caps.size > 0 && !r.caps.has('deny');
    for (const rule of this.exact.values()) if (rule.pattern.startsWith(mountPath) && granted(rule)) return true;
    for (const rule of this.nonExact) {
      if (!granted(rule)) continue;
      if (rule.plusCount === 0) {
        const prefix = rule.pattern.slice(0, -1);
        if (prefix.startsWith(mountPath) || mountPath.startsWith(prefix)) return true;
      } else {
        // Compare the mount's segments with the pattern's leading segments.
        const mountSegs = mountPath.replace(/\/$/, '').split('/');
        const patSegs = rule.pattern.split('/');
        if (patSegs.length < mountSegs.length) continue;
        if (mountSegs.every((s, i) => patSegs[i] === '+' || patSegs[i] === s)) return true;
      }
    }
    return false;
  }
}

/** Vault's wrapping TTL checks (acl.go AllowOperation): a bound requires wrapping within it. */
function wrappingAllowed(rule: CompiledRule, wrapTtl: number): boolean {
  const { minWrappingTtl: min, maxWrappingTtl: max } = rule;
  if (max && (wrapTtl === 0 || wrapTtl > max)) return false;
  if (min && (wrapTtl === 0 || wrapTtl < min)) return false;
  // Merging several policies can leave max < min, which nothing satisfies.
  return !(min && max && max < min);
}

/** Vault's parameter checks for one rule (acl.go AllowOperation). */
function parametersAllowed(rule: CompiledRule, data: Record<string, unknown>): boolean {
  const keys = Object.keys(data);
  const lower = new Set(keys.map((k) => k.toLowerCase()));
  for (const p of rule.requiredParameters ?? []) if (!lower.has(p)) return false;
  if (keys.length === 0) return true;
  const denied = rule.deniedParameters;
  if (denied && Object.keys(denied).length > 0) {
    if (denied['*'] !== undefined) return false;
    for (const k of keys) {
      const list = denied[k.toLowerCase()];
      if (list !== undefined && valueInList(data[k], list)) return false;
    }
  }
  const allowed = rule.allowedParameters;
  if (!allowed || Object.keys(allowed).length === 0) return true;
  const allowedAll = allowed['*'] !== undefined;
  if (allowedAll && Object.keys(allowed).length === 1) return true;
  for (const k of keys) {
    const list = allowed[k.toLowerCase()];
    if (list === undefined && !allowedAll) return false;
    if (list !== undefined && !valueInList(data[k], list)) return false;
  }
  return true;
}
