import { parseHcl, HclSyntaxError, type HclObject, type HclValue } from './hcl.js';
import { parseDurationSeconds } from './durations.js';

/**
 * Vault's ACL policy model, pure: parsing policies (HCL or JSON) and deciding which capabilities a set
 * of policies grants on a path. Only the single highest-priority matching path pattern counts; the same
 * pattern in several policies is unioned; `deny` on that pattern wins over everything.
 */

/** The capabilities a policy path may grant. */
export const CAPABILITIES = ['create', 'read', 'update', 'patch', 'delete', 'list', 'sudo', 'deny', 'subscribe', 'recover'] as const;
/** One capability name. */
export type Capability = (typeof CAPABILITIES)[number];

/** One `path "..." { ... }` stanza. */
export interface PathRule {
  /** The pattern as written (leading "/" removed), e.g. `secret/data/+/config` or `secret/*`. */
  pattern: string;
  capabilities: Capability[];
}

/** A parsed policy. */
export interface ParsedPolicy {
  name: string;
  rules: PathRule[];
}

/** A policy that does not parse; the message follows Vault's ("failed to parse policy: ..."). */
export class PolicyParseError extends Error {}

// Legacy `policy = "..."` values and the capabilities they stand for (Vault's policy.go).
const LEGACY_POLICY: Record<string, Capability[]> = {
  deny: ['deny'],
  read: ['read', 'list'],
  write: ['create', 'read', 'update', 'patch', 'delete', 'list'],
  sudo: ['create', 'read', 'update', 'patch', 'delete', 'list', 'sudo'],
};

const PATH_KEYS = new Set([
  'policy',
  'capabilities',
  'allowed_parameters',
  'denied_parameters',
  'required_parameters',
  'min_wrapping_ttl',
  'max_wrapping_ttl',
  'mfa_methods',
  'control_group',
  'subscribe_event_types',
]);

function asObject(v: HclValue): HclObject | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as HclObject) : undefined;
}

/** Collects (pattern, body) pairs from either `path "x" {..}` blocks or JSON-style `path = { "x" = {..} }`. */
function pathStanzas(root: HclObject): Array<{ pattern: string; body: HclObject; line: number }> {
  const out: Array<{ pattern: string; body: HclObject; line: number }> = [];
  for (const entry of root.entries) {
    if (entry.key === 'name') continue;
    if (entry.key !== 'path') throw new PolicyParseError(`invalid key "${entry.key}" on line ${entry.line}`);
    const body = asObject(entry.value);
    if (!body) throw new PolicyParseError(`path: expected an object on line ${entry.line}`);
    if (entry.labels.length === 1) {
      out.push({ pattern: entry.labels[0], body, line: entry.line });
    } else if (entry.labels.length === 0) {
      for (const inner of body.entries) {
        const innerBody = asObject(inner.value);
        if (!innerBody) throw new PolicyParseError(`path "${inner.key}": expected an object on line ${inner.line}`);
        out.push({ pattern: inner.key, body: innerBody, line: inner.line });
      }
    } else {
      throw new PolicyParseError(`path: expected exactly one label on line ${entry.line}`);
    }
  }
  return out;
}

/** Parses policy text (HCL or JSON). Throws PolicyParseError with a reason. */
export function parsePolicy(name: string, text: string): ParsedPolicy {
  let root: HclObject;
  try {
    root = parseHcl(text);
  } catch (err) {
    if (err instanceof HclSyntaxError) throw new PolicyParseError(err.message);
    throw err;
  }
  const rules: PathRule[] = [];
  for (const { pattern: rawPattern, body } of pathStanzas(root)) {
    const pattern = rawPattern.replace(/^\/+/, '');
    if (pattern.includes('+*')) throw new PolicyParseError(`path "${pattern}": invalid use of wildcards ('+*' is forbidden)`);
    const caps = new Set<Capability>();
    for (const entry of body.entries) {
      if (!PATH_KEYS.has(entry.key)) throw new PolicyParseError(`path "${pattern}": invalid key "${entry.key}" on line ${entry.line}`);
      if (entry.key === 'capabilities') {
        if (!Array.isArray(entry.value)) throw new PolicyParseError(`path "${pattern}": capabilities must be a list`);
        for (const c of entry.value) {
          if (typeof c !== 'string' || !(CAPABILITIES as readonly string[]).includes(c.toLowerCase())) {
            throw new PolicyParseError(`path "${pattern}": invalid capability ${JSON.stringify(c)}`);
          }
          caps.add(c.toLowerCase() as Capability);
        }
      } else if (entry.key === 'policy') {
        const legacy = typeof entry.value === 'string' ? LEGACY_POLICY[entry.value] : undefined;
        if (!legacy) throw new PolicyParseError(`path "${pattern}": invalid policy ${JSON.stringify(entry.value)}`);
        for (const c of legacy) caps.add(c);
      } else if (entry.key === 'min_wrapping_ttl' || entry.key === 'max_wrapping_ttl') {
        try {
          parseDurationSeconds(entry.value as string);
        } catch {
          throw new PolicyParseError(`path "${pattern}": error parsing ${entry.key}`);
        }
      }
    }
    rules.push({ pattern, capabilities: caps.has('deny') ? ['deny'] : [...caps] });
  }
  return { name, rules };
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
    const merged = new Map<string, Set<Capability>>();
    for (const policy of policies) {
      for (const rule of policy.rules) {
        let set = merged.get(rule.pattern);
        if (!set) merged.set(rule.pattern, (set = new Set()));
        for (const c of rule.capabilities) set.add(c);
      }
    }
    for (const [pattern, caps] of merged) {
      const effective = caps.has('deny') ? new Set<Capability>(['deny']) : caps;
      const rule = compileRule(pattern, effective);
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

  /** Whether every capability in `needed` is granted on the path (root: always). */
  allows(path: string, needed: Capability[], list = false): boolean {
    if (this.root) return true;
    const caps = this.capabilities(path, list);
    if (caps.has('deny')) return false;
    return needed.every((c) => caps.has(c));
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
