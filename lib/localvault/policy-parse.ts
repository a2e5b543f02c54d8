import { parseDurationSeconds } from '../duration.js';
import {
  HclSyntaxError,
  goQuote,
  goType,
  isJsonForm,
  nodePos,
  parseHclNative,
  posError,
  tokenString,
  type HclNode,
  type ObjectItem,
  type ObjectList,
  type Token,
} from './hcl.js';
import { parseHclJson } from './hcl-json.js';

/**
 * Vault's ACL policy parsing (vault/policy.go's parseACLPolicyWithTemplating and parsePaths, with
 * the decoding rules of hcl's DecodeObject that they rely on): which top-level and path keys are
 * valid, how each value must be typed, capabilities, legacy `policy = "..."`, parameters, wrapping
 * TTLs, control groups, templating checks. Refusals carry Vault's text (the caller prefixes
 * "failed to parse policy: ").
 */

/** The capabilities a policy path may grant. */
export const CAPABILITIES = ['create', 'read', 'update', 'patch', 'delete', 'list', 'sudo', 'deny', 'subscribe', 'recover'] as const;
/** One capability name. */
export type Capability = (typeof CAPABILITIES)[number];

/** Parameter constraints: parameter name (lower-case) -> allowed or denied values ([] = any value). */
export type ParameterMap = Record<string, unknown[]>;

/** One `path "..." { ... }` stanza. */
export interface PathRule {
  /** The pattern as written (one leading "/" removed), e.g. `secret/data/+/config` or `secret/*`. */
  pattern: string;
  capabilities: Capability[];
  allowedParameters?: ParameterMap;
  deniedParameters?: ParameterMap;
  requiredParameters?: string[];
  /** Wrapping TTL bounds in seconds (0 = none): a request must ask for wrapping within them. */
  minWrappingTtl?: number;
  maxWrappingTtl?: number;
  /**
   * The pattern holds identity templating (`{{identity.entity.id}}`). This store has no identity
   * entities, so such a rule never applies: Vault skips a templated path it cannot fill in.
   */
  templated?: boolean;
}

/** A parsed policy. */
export interface ParsedPolicy {
  name: string;
  rules: PathRule[];
}

/** A policy that does not parse; the message follows Vault's (without "failed to parse policy: "). */
export class PolicyParseError extends Error {}

/** Parses hcl's tree of a policy text (HCL or its JSON form, chosen as hcl chooses). */
export function parseHclTree(text: string): ObjectList {
  return isJsonForm(text) ? parseHclJson(text) : parseHclNative(text);
}

const TOP_KEYS = ['name', 'path'];
const PATH_KEYS = [
  'comment',
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
];
// Legacy `policy = "..."` values and the capabilities they stand for (policy.go).
const LEGACY_POLICY: Record<string, Capability[]> = {
  deny: ['deny'],
  read: ['read', 'list'],
  write: ['create', 'read', 'update', 'delete', 'list'],
  sudo: ['create', 'read', 'update', 'delete', 'list', 'sudo'],
};
const GRANTABLE = new Set<string>(CAPABILITIES.filter((c) => c !== 'deny'));

/** go-multierror's text for a list of errors. */
function multiError(errors: string[]): string {
  if (errors.length === 1) return `1 error occurred:\n\t* ${errors[0]}\n\n`;
  return `${errors.length} errors occurred:\n\t${errors.map((e) => `* ${e}`).join('\n\t')}\n\n`;
}

/** A key token's string value (hcl's Token.Value for an identifier or a string). */
function keyValue(tok: Token): string {
  return tok.type === 'STRING' ? tokenString(tok) : tok.text;
}

/** Vault's hclutil.CheckHCLKeys: every item's first key must be valid; one error per bad key. */
function checkKeys(node: HclNode, valid: string[]): string[] {
  let list: ObjectList;
  if (node.kind === 'ObjectList') list = node;
  else if (node.kind === 'ObjectType') list = node.list;
  else throw new PolicyParseError(`cannot check HCL keys of type ${goType(node)}`);
  const errors: string[] = [];
  for (const item of list.items) {
    const key = keyValue(item.keys[0]);
    // A block has no `=`: Vault reports line 0 for it.
    if (!valid.includes(key)) errors.push(`invalid key ${goQuote(key)} on line ${item.assign.line}`);
  }
  return errors;
}

/** hcl's ObjectList.Filter: the items whose first key is `key` (any case), with that key removed. */
function filter(list: ObjectList, key: string): ObjectItem[] {
  const out: ObjectItem[] = [];
  for (const item of list.items) {
    if (item.keys.length < 1) continue;
    const k = keyValue(item.keys[0]);
    if (k !== key && k.toLowerCase() !== key.toLowerCase()) continue;
    out.push({ ...item, keys: item.keys.slice(1) });
  }
  return out;
}

/**
 * What hcl's decodeStruct hands a field: items still carrying keys (`field "x" {...}`, as one
 * object list) first, then each plain value (an object's braces as its item list).
 */
function fieldNodes(list: ObjectList, key: string): HclNode[] {
  const matched = filter(list, key);
  const nodes: HclNode[] = [];
  const prefixed = matched.filter((i) => i.keys.length > 0);
  if (prefixed.length > 0) nodes.push({ kind: 'ObjectList', items: prefixed });
  for (const item of matched.filter((i) => i.keys.length === 0)) nodes.push(item.val.kind === 'ObjectType' ? { kind: 'ObjectList', items: item.val.list.items } : item.val);
  return nodes;
}

function bodyList(name: string, node: HclNode): ObjectList {
  if (node.kind === 'ObjectType') return node.list;
  if (node.kind === 'ObjectList') return node;
  throw posError(nodePos(node), `${name}: not an object type for struct (${goType(node)})`);
}

// hcl's decoders for the Go types Vault's policy structs use.

function decodeString(name: string, node: HclNode): string {
  if (node.kind === 'LiteralType') {
    if (node.token.type === 'NUMBER') return node.token.text;
    if (node.token.type === 'STRING' || node.token.type === 'HEREDOC') return tokenString(node.token);
  }
  throw posError(nodePos(node), `${name}: unknown type for string ${goType(node)}`);
}

function sliceItems(node: HclNode): HclNode[] {
  switch (node.kind) {
    case 'ObjectList':
      return node.items;
    case 'ObjectType':
      return [node];
    case 'ListType':
      return node.list;
    default:
      throw posError(nodePos(node), `unknown slice type: ${goType(node)}`);
  }
}

/** A []string field: each value appends (a repeated key in the JSON form adds up). */
function decodeStrings(name: string, nodes: HclNode[]): string[] | undefined {
  if (nodes.length === 0) return undefined;
  const out: string[] = [];
  for (const node of nodes) sliceItems(node).forEach((item, i) => out.push(decodeString(`${name}[${i}]`, item)));
  return out;
}

/** Go's strconv.ParseInt(text, 0, 64) for what hcl's scanner reads as a number: decimal, 0x hex, 0 octal. */
function parseGoInt(text: string): number {
  const m = /^([+-]?)(?:0[xX]([0-9a-fA-F]+)|0([0-7]*)|([1-9][0-9]*))$/.exec(text);
  if (!m) throw new HclSyntaxError(`strconv.ParseInt: parsing ${goQuote(text)}: invalid syntax`);
  const v = m[2] !== undefined ? BigInt('0x' + m[2]) : m[3] !== undefined ? (m[3] === '' ? 0n : BigInt('0o' + m[3])) : BigInt(m[4]);
  const signed = m[1] === '-' ? -v : v;
  if (signed > 2n ** 63n - 1n || signed < -(2n ** 63n)) throw new HclSyntaxError(`strconv.ParseInt: parsing ${goQuote(text)}: value out of range`);
  return Number(signed);
}

/** An interface{} value (a parameter value, a TTL): scalars, lists, objects. */
function decodeAny(name: string, node: HclNode): unknown {
  switch (node.kind) {
    case 'LiteralType': {
      const t = node.token;
      if (t.type === 'BOOL') return t.text === 'true';
      if (t.type === 'FLOAT') return Number(t.text);
      if (t.type === 'NUMBER') return parseGoInt(t.text);
      if (t.type === 'STRING' || t.type === 'HEREDOC') return tokenString(t);
      throw posError(nodePos(node), `${name}: cannot decode into interface: ${goType(node)}`);
    }
    case 'ListType':
      return node.list.map((n, i) => decodeAny(`${name}[${i}]`, n));
    case 'ObjectType':
    case 'ObjectList': {
      const list = node.kind === 'ObjectType' ? node.list : node;
      const out: Record<string, unknown> = Object.create(null);
      for (const item of list.items) out[keyValue(item.keys[0])] = decodeAny(`${name}.${keyValue(item.keys[0])}`, item.val);
      return out;
    }
    default:
      throw new HclSyntaxError(`${name}: cannot decode into interface: ${goType(node)}`);
  }
}

/** A map[string][]interface{} field (allowed_parameters, denied_parameters). */
function decodeParameterMap(name: string, nodes: HclNode[]): Map<string, unknown[]> | undefined {
  if (nodes.length === 0) return undefined;
  const out = new Map<string, unknown[]>();
  for (const node of nodes) {
    const list = node.kind === 'ObjectItem' ? ({ kind: 'ObjectList', items: [node] } as ObjectList) : node.kind === 'ObjectType' ? node.list : node;
    if (list.kind !== 'ObjectList') throw posError(nodePos(node), `${name}: not an object type for map (${goType(node)})`);
    const done = new Set<string>();
    for (const item of list.items) {
      if (item.keys.length === 0) throw posError(nodePos(list), `${name}: map must have string keys`);
      const key = keyValue(item.keys[0]);
      if (done.has(key)) continue;
      let val: HclNode = item.val;
      if (item.keys.length > 1) {
        val = { kind: 'ObjectList', items: filter(list, key) };
        done.add(key);
      }
      const values = out.get(key) ?? [];
      sliceItems(val).forEach((v) => values.push(decodeAny(`${name}.${key}[${values.length}]`, v)));
      out.set(key, values);
    }
  }
  return out;
}

function decodeInt(name: string, node: HclNode): number {
  if (node.kind === 'LiteralType' && (node.token.type === 'NUMBER' || node.token.type === 'STRING')) {
    return parseGoInt(node.token.type === 'NUMBER' ? node.token.text : tokenString(node.token));
  }
  throw posError(nodePos(node), `${name}: unknown type ${goType(node)}`);
}

/** The last value of an interface{} field, as hcl leaves it after decoding every match. */
function decodeLastAny(name: string, nodes: HclNode[]): unknown {
  let v: unknown;
  for (const n of nodes) v = decodeAny(name, n);
  return v;
}

interface ControlGroupFactor {
  name: string;
  approvals: number;
  groups: number;
  controlled: string[];
}

/** The `control_group` block (Vault Enterprise's; Vault parses and checks it in every edition). */
function decodeControlGroup(name: string, nodes: HclNode[]): { ttl: unknown; factors: ControlGroupFactor[] } | undefined {
  if (nodes.length === 0) return undefined;
  let ttl: unknown;
  const factors = new Map<string, ControlGroupFactor>();
  for (const node of nodes) {
    const list = bodyList(name, node);
    const t = fieldNodes(list, 'ttl');
    if (t.length > 0) ttl = decodeLastAny(`${name}.ttl`, t);
    for (const f of fieldNodes(list, 'factor')) {
      const fl = f.kind === 'ObjectType' ? f.list : f;
      if (fl.kind !== 'ObjectList') throw posError(nodePos(f), `${name}.factor: not an object type for map (${goType(f)})`);
      for (const item of fl.items) {
        const key = keyValue(item.keys[0]);
        const body = bodyList(`${name}.factor.${key}`, item.keys.length > 1 ? { kind: 'ObjectList', items: filter(fl, key) } : item.val);
        const factor = factors.get(key) ?? { name: key, approvals: -1, groups: 0, controlled: [] };
        for (const idNode of fieldNodes(body, 'identity')) {
          const idList = bodyList(`${name}.factor.${key}.identity`, idNode);
          if (factor.approvals < 0) factor.approvals = 0;
          factor.groups += (decodeStrings('group_ids', fieldNodes(idList, 'group_ids')) ?? []).length;
          factor.groups += (decodeStrings('group_names', fieldNodes(idList, 'group_names')) ?? []).length;
          for (const a of fieldNodes(idList, 'approvals')) factor.approvals = decodeInt(`${name}.factor.${key}.identity.approvals`, a);
        }
        factor.controlled.push(...(decodeStrings('controlled_capabilities', fieldNodes(body, 'controlled_capabilities')) ?? []));
        factors.set(key, factor);
      }
    }
  }
  return { ttl, factors: [...factors.values()] };
}

/** Vault's validateParameter for allowed/denied parameter keys: a `*` only as the key or a `/.../*` tail. */
function checkParameterKey(key: string): string | undefined {
  if (!key.includes('*')) return undefined;
  if (key === '*') return undefined;
  if (key.startsWith('/') && key.endsWith('/*') && !key.slice(0, -2).includes('*')) return undefined;
  return `parameter key ${goQuote(key)} cannot contain non-tail wildcards`;
}

/** Vault's templating check of a path (identitytpl's ValidityCheckOnly): `{{` and `}}` in pairs. Returns whether it is templated. */
function checkTemplating(path: string): boolean {
  const pieces = path.split('{{');
  if (pieces[0].includes('}}') || pieces.slice(1).some((p) => p.split('}}').length !== 2)) {
    throw new PolicyParseError('failed to validate policy templating: unbalanced templating characters');
  }
  return pieces.length > 1;
}

function parsePathItem(item: ObjectItem): PathRule {
  const key = item.keys.length > 0 ? keyValue(item.keys[0]) : 'path';
  const templated = checkTemplating(key);
  const prefix = `path ${goQuote(key)}:`;
  let keyErrors: string[];
  try {
    keyErrors = checkKeys(item.val, PATH_KEYS);
  } catch (err) {
    if (err instanceof PolicyParseError || err instanceof HclSyntaxError) throw new PolicyParseError(`${prefix} ${err.message}`);
    throw err;
  }
  if (keyErrors.length > 0) throw new PolicyParseError(multiError(keyErrors.map((e) => `${prefix} ${e}`)));

  let decoded;
  try {
    const list = bodyList('root', item.val);
    // In the order of the fields of Vault's PathRules struct (the first failing one is reported).
    decoded = {
      policy: ((): string | undefined => {
        let v: string | undefined;
        for (const n of fieldNodes(list, 'policy')) v = decodeString('root.Policy', n);
        return v;
      })(),
      capabilities: decodeStrings('root.Capabilities', fieldNodes(list, 'capabilities')),
      minWrap: decodeLastAny('root.min_wrapping_ttl', fieldNodes(list, 'min_wrapping_ttl')),
      maxWrap: decodeLastAny('root.max_wrapping_ttl', fieldNodes(list, 'max_wrapping_ttl')),
      allowed: decodeParameterMap('root.allowed_parameters', fieldNodes(list, 'allowed_parameters')),
      denied: decodeParameterMap('root.denied_parameters', fieldNodes(list, 'denied_parameters')),
      required: decodeStrings('root.required_parameters', fieldNodes(list, 'required_parameters')),
      mfa: decodeStrings('root.mfa_methods', fieldNodes(list, 'mfa_methods')),
      controlGroup: decodeControlGroup('root.control_group', fieldNodes(list, 'control_group')),
      events: decodeStrings('root.subscribe_event_types', fieldNodes(list, 'subscribe_event_types')),
    };
  } catch (err) {
    if (err instanceof HclSyntaxError) throw new PolicyParseError(`${prefix} ${err.message}`);
    throw err;
  }

  let path = key.startsWith('/') ? key.slice(1) : key;
  if (path.includes('+*')) throw new PolicyParseError(`path ${goQuote(path)}: invalid use of wildcards ('+*' is forbidden)`);
  const pattern = path;
  const segmentWildcards = path === '+' || path.includes('/+') || path.startsWith('+/');
  if (path.endsWith('*') && !segmentWildcards) path = path.slice(0, -1);

  let capabilities = decoded.capabilities ?? [];
  if (decoded.policy) {
    const legacy = LEGACY_POLICY[decoded.policy];
    if (!legacy) throw new PolicyParseError(`path ${goQuote(key)}: invalid policy ${goQuote(decoded.policy)}`);
    capabilities = decoded.policy === 'deny' ? ['deny'] : [...capabilities, ...legacy];
  }
  const caps = new Set<Capability>();
  for (const c of capabilities) {
    // Vault stops at deny: what follows it (other capabilities, parameters, TTLs) is not looked at.
    if (c === 'deny') return { pattern, capabilities: ['deny'], ...(templated ? { templated } : {}) };
    if (!GRANTABLE.has(c)) throw new PolicyParseError(`path ${goQuote(key)}: invalid capability ${goQuote(c)}`);
    caps.add(c as Capability);
  }
  const rule: PathRule = { pattern, capabilities: [...caps], ...(templated ? { templated } : {}) };
  for (const [field, map] of [
    ['allowed_parameters', decoded.allowed],
    ['denied_parameters', decoded.denied],
  ] as const) {
    if (!map) continue;
    const out: ParameterMap = Object.create(null);
    for (const [k, v] of map) {
      const bad = checkParameterKey(k);
      if (bad) throw new PolicyParseError(`path ${goQuote(path)}: ${field}: ${bad}`);
      out[k.toLowerCase()] = v;
    }
    if (field === 'allowed_parameters') rule.allowedParameters = out;
    else rule.deniedParameters = out;
  }
  for (const [field, value] of [
    ['min_wrapping_ttl', decoded.minWrap],
    ['max_wrapping_ttl', decoded.maxWrap],
  ] as const) {
    if (value === undefined) continue;
    let seconds: number;
    try {
      seconds = parseDurationSeconds(value);
    } catch (err) {
      throw new PolicyParseError(`error parsing ${field}: ${(err as Error).message}`);
    }
    if (field === 'min_wrapping_ttl') rule.minWrappingTtl = seconds;
    else rule.maxWrappingTtl = seconds;
  }
  if (decoded.controlGroup) {
    const cg = decoded.controlGroup;
    if (cg.ttl !== undefined) {
      try {
        parseDurationSeconds(cg.ttl);
      } catch (err) {
        throw new PolicyParseError(`error parsing control group max ttl: ${(err as Error).message}`);
      }
    }
    for (const f of cg.factors) {
      if (f.approvals < 0) throw new PolicyParseError('no control_group factor provided');
      if (f.approvals <= 0 || f.groups === 0) throw new PolicyParseError('must provide more than one identity group and approvals > 0');
      if (f.controlled.some((c) => !capabilities.includes(c))) throw new PolicyParseError("control group factor capabilities must be a subset of the policy's capabilities");
    }
    if (cg.factors.length === 0) throw new PolicyParseError('no control group factors provided');
  }
  if (rule.minWrappingTtl && rule.maxWrappingTtl && rule.maxWrappingTtl < rule.minWrappingTtl) {
    throw new PolicyParseError('max_wrapping_ttl cannot be less than min_wrapping_ttl');
  }
  if (decoded.required && decoded.required.length > 0) rule.requiredParameters = decoded.required.map((v) => v.toLowerCase());
  if (rule.allowedParameters && Object.keys(rule.allowedParameters).length === 0) rule.allowedParameters = Object.create(null);
  return rule;
}

/** Parses policy text (HCL or JSON) as Vault does. Throws PolicyParseError with Vault's reason. */
export function parsePolicy(name: string, text: string): ParsedPolicy {
  try {
    const root = parseHclTree(text);
    const topErrors = checkKeys(root, TOP_KEYS);
    if (topErrors.length > 0) throw new PolicyParseError(multiError(topErrors));
    for (const n of fieldNodes(root, 'name')) decodeString('root.name', n);
    const rules = filter(root, 'path').map(parsePathItem);
    return { name, rules };
  } catch (err) {
    if (err instanceof HclSyntaxError) throw new PolicyParseError(err.message);
    throw err;
  }
}
