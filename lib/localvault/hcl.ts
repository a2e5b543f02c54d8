/**
 * A parser for the subset of HCL (and its JSON form) that Vault ACL policies use:
 *   path "secret/data/*" { capabilities = ["read", "list"] }
 * with `#`, `//` and `/* *\/` comments, quoted or bare keys, lists, nested objects, numbers and booleans.
 * It returns a generic tree; acl.ts gives it meaning.
 */

/** A parsed HCL value. Blocks become HclBlock entries in a body. */
export type HclValue = string | number | boolean | null | HclValue[] | HclObject;
/** An object literal `{ k = v }` or a block body: entries keep their order and repeats. */
export interface HclObject {
  kind: 'object';
  entries: HclEntry[];
}
/** One `key = value` or `key "label" { ... }` entry with the line it started on. */
export interface HclEntry {
  key: string;
  labels: string[];
  value: HclValue;
  line: number;
}

/** A syntax error with the line where it happened. */
export class HclSyntaxError extends Error {}

type Tok =
  | { t: 'str'; v: string; line: number }
  | { t: 'ident'; v: string; line: number }
  | { t: 'num'; v: number; line: number }
  | { t: 'punct'; v: string; line: number }
  | { t: 'eof'; line: number };

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  let line = 1;
  const n = src.length;
  while (i < n) {
    const c = src[i];
    if (c === '\n') {
      line++;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\ufeff') {
      i++;
      continue;
    }
    if (c === '#' || (c === '/' && src[i + 1] === '/')) {
      while (i < n && src[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) throw new HclSyntaxError(`At ${line}: comment not terminated`);
      for (let k = i; k < end; k++) if (src[k] === '\n') line++;
      i = end + 2;
      continue;
    }
    if (c === '"') {
      let s = '';
      const startLine = line;
      i++;
      for (;;) {
        if (i >= n) throw new HclSyntaxError(`At ${startLine}: literal not terminated`);
        const d = src[i];
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\n') throw new HclSyntaxError(`At ${startLine}: literal not terminated`);
        if (d === '\\') {
          const e = src[i + 1];
          const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\', '/': '/' };
          if (e === 'u') {
            const hex = src.slice(i + 2, i + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new HclSyntaxError(`At ${line}: invalid escape`);
            s += String.fromCharCode(parseInt(hex, 16));
            i += 6;
            continue;
          }
          if (e === undefined || !(e in map)) throw new HclSyntaxError(`At ${line}: invalid escape sequence`);
          s += map[e];
          i += 2;
          continue;
        }
        s += d;
        i++;
      }
      out.push({ t: 'str', v: s, line: startLine });
      continue;
    }
    if ('{}[]=,:'.includes(c)) {
      out.push({ t: 'punct', v: c, line });
      i++;
      continue;
    }
    if (/[0-9-]/.test(c)) {
      const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(src.slice(i, i + 64));
      if (m) {
        out.push({ t: 'num', v: Number(m[0]), line });
        i += m[0].length;
        continue;
      }
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_.\-]/.test(src[j])) j++;
      out.push({ t: 'ident', v: src.slice(i, j), line });
      i = j;
      continue;
    }
    throw new HclSyntaxError(`At ${line}: illegal char ${JSON.stringify(c)}`);
  }
  out.push({ t: 'eof', line });
  return out;
}

/** Nesting beyond this is refused as a syntax error (a policy never needs it; deeper would exhaust the stack). */
export const MAX_NESTING = 100;

class Parser {
  private pos = 0;
  private depth = 0;

  private enter(line: number): void {
    if (++this.depth > MAX_NESTING) throw new HclSyntaxError(`At ${line}: nesting deeper than ${MAX_NESTING} levels`);
  }
  constructor(private readonly toks: Tok[]) {}

  private peek(): Tok {
    return this.toks[this.pos];
  }
  private next(): Tok {
    return this.toks[this.pos++];
  }
  private isPunct(v: string): boolean {
    const t = this.peek();
    return t.t === 'punct' && t.v === v;
  }
  private expectPunct(v: string): void {
    const t = this.next();
    if (t.t !== 'punct' || t.v !== v) throw new HclSyntaxError(`At ${t.line}: expected ${JSON.stringify(v)}, got ${describe(t)}`);
  }

  /** body := entry* until `}` or EOF */
  parseBody(untilBrace: boolean): HclObject {
    const entries: HclEntry[] = [];
    for (;;) {
      const t = this.peek();
      if (t.t === 'eof') {
        if (untilBrace) throw new HclSyntaxError(`At ${t.line}: object expected closing RBRACE got: EOF`);
        break;
      }
      if (untilBrace && this.isPunct('}')) break;
      if (this.isPunct(',')) {
        this.next();
        continue;
      }
      if (t.t !== 'ident' && t.t !== 'str') throw new HclSyntaxError(`At ${t.line}: expected a key, got ${describe(t)}`);
      this.next();
      const key = String(t.v);
      const labels: string[] = [];
      while (this.peek().t === 'str') labels.push((this.next() as { v: string }).v);
      if (this.isPunct('=') || this.isPunct(':')) {
        if (labels.length > 0) throw new HclSyntaxError(`At ${t.line}: unexpected assignment after block labels`);
        this.next();
        entries.push({ key, labels, value: this.parseValue(), line: t.line });
        continue;
      }
      if (this.isPunct('{')) {
        this.next();
        this.enter(t.line);
        const body = this.parseBody(true);
        this.depth--;
        this.expectPunct('}');
        entries.push({ key, labels, value: body, line: t.line });
        continue;
      }
      throw new HclSyntaxError(`At ${this.peek().line}: key '${key}' expected start of object ('{') or assignment ('=')`);
    }
    return { kind: 'object', entries };
  }

  parseValue(): HclValue {
    const t = this.next();
    switch (t.t) {
      case 'str':
        return t.v;
      case 'num':
        return t.v;
      case 'ident':
        if (t.v === 'true') return true;
        if (t.v === 'false') return false;
        if (t.v === 'null') return null;
        throw new HclSyntaxError(`At ${t.line}: unknown token: ${t.v}`);
      case 'punct':
        if (t.v === '[') {
          this.enter(t.line);
          const list: HclValue[] = [];
          for (;;) {
            if (this.isPunct(']')) {
              this.next();
              this.depth--;
              return list;
            }
            list.push(this.parseValue());
            if (this.isPunct(',')) this.next();
            else if (!this.isPunct(']')) throw new HclSyntaxError(`At ${this.peek().line}: list expected comma or RBRACK, got ${describe(this.peek())}`);
          }
        }
        if (t.v === '{') {
          this.enter(t.line);
          const body = this.parseBody(true);
          this.depth--;
          this.expectPunct('}');
          return body;
        }
        throw new HclSyntaxError(`At ${t.line}: unexpected ${JSON.stringify(t.v)}`);
      default:
        throw new HclSyntaxError(`At ${t.line}: unexpected end of input`);
    }
  }
}

function describe(t: Tok): string {
  if (t.t === 'eof') return 'EOF';
  return JSON.stringify(String(t.v));
}

function fromJson(v: unknown, depth = 0): HclValue {
  if ((Array.isArray(v) || (v && typeof v === 'object')) && depth >= MAX_NESTING) throw new HclSyntaxError(`nesting deeper than ${MAX_NESTING} levels`);
  if (Array.isArray(v)) return v.map((x) => fromJson(x, depth + 1));
  if (v && typeof v === 'object') {
    return {
      kind: 'object',
      entries: Object.entries(v as Record<string, unknown>).map(([key, value]) => ({ key, labels: [], value: fromJson(value, depth + 1), line: 1 })),
    };
  }
  return v as HclValue;
}

/**
 * Parses HCL or JSON policy text into a body. JSON object keys such as
 * `{"path": {"secret/*": {...}}}` come out as nested objects (the caller treats both shapes alike).
 */
export function parseHcl(src: string): HclObject {
  const trimmed = src.trim();
  if (trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (err) {
      throw new HclSyntaxError(`invalid JSON: ${(err as Error).message}`);
    }
    const value = fromJson(json);
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new HclSyntaxError('JSON policy must be an object');
    return value as HclObject;
  }
  const parser = new Parser(tokenize(src));
  return parser.parseBody(false);
}
