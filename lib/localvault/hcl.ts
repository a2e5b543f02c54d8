/**
 * The HCL (v1) syntax Vault parses ACL policies with, rebuilt from the rules of hashicorp/hcl v1
 * (`hcl/scanner`, `hcl/parser`, `hcl/strconv`, `hcl/token`) as Vault vendors it (v1.0.1-vault-7,
 * which also refuses an argument set twice). The goal is parity, quirks included: a policy parses
 * here exactly when it parses in Vault, and a refusal says what Vault's says ("At 2:5: illegal
 * char escape"). The JSON form (a text whose first non-space character is `{`) is in hcl-json.ts;
 * both produce the same tree, and policy-parse.ts gives it meaning.
 *
 * Deliberate differences: nesting deeper than MAX_NESTING levels is refused (Vault recurses
 * without a bound), and a string Vault's scanner accepts but cannot unquote (`"\400"`, where Vault
 * panics and the request gets no answer) is refused as a syntax error when its value is needed.
 */

/** Token types, named as hcl prints them in its messages. */
export type TokenType =
  | 'ILLEGAL'
  | 'EOF'
  | 'COMMENT'
  | 'IDENT'
  | 'NUMBER'
  | 'FLOAT'
  | 'BOOL'
  | 'STRING'
  | 'HEREDOC'
  | 'LBRACK'
  | 'LBRACE'
  | 'COMMA'
  | 'PERIOD'
  | 'RBRACK'
  | 'RBRACE'
  | 'ASSIGN'
  | 'ADD'
  | 'SUB'
  | 'COLON'
  | 'NULL';

/** A source position (1-based line and column in characters); line 0 is "no position". */
export interface Pos {
  line: number;
  column: number;
  /** Index (in characters) into the source. */
  offset: number;
}

/** One token with its source text (quotes included for strings). */
export interface Token {
  type: TokenType;
  pos: Pos;
  text: string;
  /** From the JSON form: strings are unquoted by Go's rules, not HCL's. */
  json?: boolean;
}

/** A parsed HCL node: the shapes of hcl's ast package. */
export type HclNode = ObjectList | ObjectType | ListType | LiteralType | ObjectItem;
/** The items of a body (the file, or an object's braces). */
export interface ObjectList {
  kind: 'ObjectList';
  items: ObjectItem[];
}
/** `{ ... }` */
export interface ObjectType {
  kind: 'ObjectType';
  list: ObjectList;
  lbrace: Pos;
}
/** `[ ... ]` */
export interface ListType {
  kind: 'ListType';
  list: HclNode[];
  lbrack: Pos;
}
/** A number, bool, string or heredoc. */
export interface LiteralType {
  kind: 'LiteralType';
  token: Token;
}
/** `key = value` or `key "label" ... { body }`: one or more keys, a value, and where `=` was. */
export interface ObjectItem {
  kind: 'ObjectItem';
  keys: Token[];
  /** Position of `=` (or `:` in JSON); line 0 for a block. */
  assign: Pos;
  val: HclNode;
}

/** A syntax error; the message is Vault's (without the "failed to parse policy: " prefix). */
export class HclSyntaxError extends Error {}

/** Our own limit (Vault has none), passed up as is rather than wrapped by each enclosing list. */
export class NestingError extends HclSyntaxError {}

/** Nesting beyond this is refused as a syntax error (a policy never needs it; deeper would exhaust the stack). */
export const MAX_NESTING = 100;

/** Where nothing is. */
export const NO_POS: Pos = { line: 0, column: 0, offset: 0 };

/** Formats a position as hcl's token.Pos does: `line:column`, or `-` when it has none. */
export function formatPos(pos: Pos): string {
  return pos.line > 0 ? `${pos.line}:${pos.column}` : '-';
}

/** hcl's PosError text. */
export function posError(pos: Pos, msg: string): HclSyntaxError {
  return new HclSyntaxError(`At ${formatPos(pos)}: ${msg}`);
}

/** The Go type name of a node, as hcl's messages print it (`%T`). */
export function goType(node: HclNode): string {
  return `*ast.${node.kind}`;
}

/** A node's position, as hcl's `Pos()` methods give it. */
export function nodePos(node: HclNode): Pos {
  switch (node.kind) {
    case 'LiteralType':
      return node.token.pos;
    case 'ObjectType':
      return node.lbrace;
    case 'ListType':
      return node.lbrack;
    case 'ObjectItem':
      return node.keys.length > 0 ? node.keys[0].pos : NO_POS;
    case 'ObjectList':
      return node.items.length > 0 ? nodePos(node.items[0]) : NO_POS;
  }
}

// The scanner's end-of-input marker is NUL, as in hcl (a NUL in the input also reads as the end).
export const EOF_CH = '\u0000';

/** The one-character tokens both scanners (HCL's and the JSON form's, hcl-json.ts) read alike. */
export const DELIMITERS: ReadonlyMap<string, TokenType> = new Map<string, TokenType>([
  ['[', 'LBRACK'],
  [']', 'RBRACK'],
  ['{', 'LBRACE'],
  ['}', 'RBRACE'],
  [',', 'COMMA'],
]);

/** Letters as hcl's scanner knows them: ASCII letters, `_`, and any Unicode letter. */
export function isLetter(ch: string): boolean {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch === '_' || (ch >= '\u0080' && /^\p{L}$/u.test(ch));
}
/** Digits: ASCII and any Unicode decimal digit. */
export function isDigit(ch: string): boolean {
  return (ch >= '0' && ch <= '9') || (ch >= '\u0080' && /^\p{Nd}$/u.test(ch));
}
/** ASCII decimal digits. */
export function isDecimal(ch: string): boolean {
  return ch >= '0' && ch <= '9';
}
/** Whitespace between tokens: only these four. A BOM or NBSP is an illegal char. */
export function isWhitespace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r';
}
function isHexadecimal(ch: string): boolean {
  return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}
/** The value of a digit in base 16 (16 for anything else). */
export function digitVal(ch: string): number {
  if (ch >= '0' && ch <= '9') return ch.charCodeAt(0) - 48;
  if (ch >= 'a' && ch <= 'f') return ch.charCodeAt(0) - 87;
  if (ch >= 'A' && ch <= 'F') return ch.charCodeAt(0) - 55;
  return 16;
}

/**
 * The character reader both scanners share: one character (code point) at a time, with hcl's
 * position bookkeeping (a column counts characters; reading past the end still moves the column,
 * which is where hcl reports "EOF" tokens), one character of unread, and the last error kept
 * (hcl's parser reports the last scanner error, whatever the parser found).
 */
export class CharReader {
  readonly src: string[];
  idx = 0;
  srcPos: Pos = { line: 1, column: 0, offset: 0 };
  private prevPos: Pos = { line: 1, column: 0, offset: 0 };
  lastCharLen = 0;
  lastLineLen = 0;
  tokStart = 0;
  tokPos: Pos = { line: 0, column: 0, offset: 0 };
  lastError: { pos: Pos; msg: string } | undefined;

  constructor(
    src: string,
    /** The HCL scanner treats NUL and U+E123 specially; the JSON one does not. */
    private readonly hclRunes: boolean,
  ) {
    this.src = Array.from(src);
  }

  next(): string {
    if (this.idx >= this.src.length) {
      this.srcPos = { ...this.srcPos, column: this.srcPos.column + 1 };
      this.lastCharLen = 0;
      return EOF_CH;
    }
    const ch = this.src[this.idx++];
    this.prevPos = this.srcPos;
    this.srcPos = { line: this.srcPos.line, column: this.srcPos.column + 1, offset: this.srcPos.offset + 1 };
    this.lastCharLen = 1;
    if (ch === '\n') {
      this.lastLineLen = this.srcPos.column;
      this.srcPos = { line: this.srcPos.line + 1, column: 0, offset: this.srcPos.offset };
    }
    if (this.hclRunes) {
      if (ch === '\u0000') {
        this.err('unexpected null character (0x00)');
        return EOF_CH;
      }
      if (ch === '\uE123') {
        this.err('unicode code point U+E123 reserved for internal use');
        return '\uFFFD';
      }
    }
    return ch;
  }

  unread(): void {
    this.idx--;
    this.srcPos = this.prevPos;
  }

  peek(): string {
    return this.idx < this.src.length ? this.src[this.idx] : EOF_CH;
  }

  /** Marks the start of a token at the character just read. */
  startToken(): void {
    this.tokStart = this.srcPos.offset - this.lastCharLen;
    this.tokPos =
      this.srcPos.column > 0
        ? { line: this.srcPos.line, column: this.srcPos.column, offset: this.tokStart }
        : { line: this.srcPos.line - 1, column: this.lastLineLen, offset: this.tokStart };
  }

  tokenText(): string {
    const text = this.src.slice(this.tokStart, this.srcPos.offset).join('');
    this.tokStart = this.srcPos.offset;
    return text;
  }

  /** The position of the character just read (hcl's recentPosition). */
  recentPosition(): Pos {
    const offset = this.srcPos.offset - this.lastCharLen;
    if (this.srcPos.column > 0) return { line: this.srcPos.line, column: this.srcPos.column, offset };
    if (this.lastLineLen > 0) return { line: this.srcPos.line - 1, column: this.lastLineLen, offset };
    return { line: 1, column: 1, offset };
  }

  err(msg: string): void {
    this.lastError = { pos: this.recentPosition(), msg };
    this.errors.push(this.lastError);
  }
  /** Every error, in order (hcl's scanner tests look at the first). */
  readonly errors: Array<{ pos: Pos; msg: string }> = [];

  // Shared by both scanners: numbers and escapes are scanned alike.
  /**
   * After a number's digits, given the character that follows them: an exponent, or a fraction
   * with an optional exponent, makes the number a FLOAT (scanned, true); anything else is left to
   * the caller (false, nothing consumed beyond ch).
   */
  scanFloatPart(ch: string): boolean {
    if (ch === 'e' || ch === 'E') {
      this.scanExponent(ch);
      return true;
    }
    if (ch !== '.') return false;
    const next = this.scanFraction(ch);
    if (next === 'e' || next === 'E') this.scanExponent(this.next());
    return true;
  }
  scanMantissa(ch: string): string {
    let scanned = false;
    while (isDecimal(ch)) {
      ch = this.next();
      scanned = true;
    }
    if (scanned && ch !== EOF_CH) this.unread();
    return ch;
  }

  scanFraction(ch: string): string {
    if (ch === '.') {
      ch = this.peek();
      ch = this.scanMantissa(ch);
    }
    return ch;
  }

  scanExponent(ch: string): string {
    if (ch === 'e' || ch === 'E') {
      ch = this.next();
      if (ch === '-' || ch === '+') ch = this.next();
      ch = this.scanMantissa(ch);
    }
    return ch;
  }

  scanEscape(): string {
    let ch = this.next();
    switch (ch) {
      case 'a':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
      case 'v':
      case '\\':
      case '"':
        break;
      case '0':
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7':
        ch = this.scanDigits(ch, 8, 3);
        break;
      case 'x':
        ch = this.scanDigits(this.next(), 16, 2);
        break;
      case 'u':
        ch = this.scanDigits(this.next(), 16, 4);
        break;
      case 'U':
        ch = this.scanDigits(this.next(), 16, 8);
        break;
      default:
        this.err('illegal char escape');
    }
    return ch;
  }

  private scanDigits(ch: string, base: number, n: number): string {
    const start = n;
    while (n > 0 && digitVal(ch) < base) {
      ch = this.next();
      if (ch === EOF_CH) break;
      n--;
    }
    if (n > 0) this.err('illegal char escape');
    if (n !== start && ch !== EOF_CH) this.unread();
    return ch;
  }
}

/** hcl's scanner (HCL native syntax). */
class Scanner {
  readonly r: CharReader;
  constructor(src: string) {
    this.r = new CharReader(src, true);
  }

  scan(): Token {
    const r = this.r;
    let ch = r.next();
    while (isWhitespace(ch)) ch = r.next();
    r.startToken();
    let type: TokenType = 'ILLEGAL';
    if (isLetter(ch)) {
      type = 'IDENT';
      const lit = this.scanIdentifier();
      if (lit === 'true' || lit === 'false') type = 'BOOL';
    } else if (isDecimal(ch)) {
      type = this.scanNumber(ch);
    } else {
      switch (ch) {
        case EOF_CH:
          type = 'EOF';
          break;
        case '"':
          type = 'STRING';
          this.scanString();
          break;
        case '#':
        case '/':
          type = 'COMMENT';
          this.scanComment(ch);
          break;
        case '.':
          type = 'PERIOD';
          ch = r.peek();
          if (isDecimal(ch)) {
            type = 'FLOAT';
            ch = r.scanMantissa(ch);
            ch = r.scanExponent(ch);
          }
          break;
        case '<':
          type = 'HEREDOC';
          this.scanHeredoc();
          break;
        case '=':
          type = 'ASSIGN';
          break;
        case '+':
          type = 'ADD';
          break;
        case '-':
          if (isDecimal(r.peek())) type = this.scanNumber(r.next());
          else type = 'SUB';
          break;
        default:
          {
            const delimiter = DELIMITERS.get(ch);
            if (delimiter) type = delimiter;
            else r.err('illegal char');
          }
      }
    }
    const pos = r.tokPos;
    return { type, pos, text: r.tokenText() };
  }

  private scanIdentifier(): string {
    const r = this.r;
    const offs = r.srcPos.offset - r.lastCharLen;
    let ch = r.next();
    while (isLetter(ch) || isDigit(ch) || ch === '-' || ch === '.') ch = r.next();
    if (ch !== EOF_CH) r.unread();
    return r.src.slice(offs, r.srcPos.offset).join('');
  }

  private scanComment(ch: string): void {
    const r = this.r;
    if (ch === '#' || (ch === '/' && r.peek() !== '*')) {
      if (ch === '/' && r.peek() !== '/') {
        r.err("expected '/' for comment");
        return;
      }
      ch = r.next();
      while (ch !== '\n' && ch !== EOF_CH) ch = r.next();
      if (ch !== EOF_CH) r.unread();
      return;
    }
    if (ch === '/') {
      r.next();
      ch = r.next();
    }
    for (;;) {
      if (ch === EOF_CH) {
        r.err('comment not terminated');
        break;
      }
      const ch0 = ch;
      ch = r.next();
      if (ch0 === '*' && ch === '/') break;
    }
  }

  private scanNumber(ch: string): TokenType {
    const r = this.r;
    if (ch === '0') {
      ch = r.next();
      if (ch === 'x' || ch === 'X') {
        ch = r.next();
        let found = false;
        while (isHexadecimal(ch)) {
          ch = r.next();
          found = true;
        }
        if (!found) r.err('illegal hexadecimal number');
        if (ch !== EOF_CH) r.unread();
        return 'NUMBER';
      }
      let illegalOctal = false;
      while (isDecimal(ch)) {
        ch = r.next();
        if (ch === '8' || ch === '9') illegalOctal = true;
      }
      if (r.scanFloatPart(ch)) return 'FLOAT';
      if (illegalOctal) r.err('illegal octal number');
      if (ch !== EOF_CH) r.unread();
      return 'NUMBER';
    }
    r.scanMantissa(ch);
    ch = r.next();
    if (r.scanFloatPart(ch)) return 'FLOAT';
    if (ch !== EOF_CH) r.unread();
    return 'NUMBER';
  }

  private scanHeredoc(): void {
    const r = this.r;
    if (r.next() !== '<') {
      r.err("heredoc expected second '<', didn't see it");
      return;
    }
    const offs = r.srcPos.offset;
    let ch = r.next();
    if (ch === '-') ch = r.next();
    while (isLetter(ch) || isDigit(ch)) ch = r.next();
    if (ch === EOF_CH) {
      r.err('heredoc not terminated');
      return;
    }
    if (ch === '\r' && r.peek() === '\n') ch = r.next();
    if (ch !== '\n') {
      r.err('invalid characters in heredoc anchor');
      return;
    }
    const ident = r.src.slice(offs, r.srcPos.offset - r.lastCharLen).join('');
    if (ident.length === 0 || ident === '-') {
      r.err('zero-length heredoc anchor');
      return;
    }
    const anchor = ident.startsWith('-') ? ident.slice(1) : ident;
    // Go's [[:space:]] is ASCII whitespace; the anchor is letters and digits only.
    const anchorLine = new RegExp(`^[\\t\\n\\v\\f\\r ]*${anchor}\\r*$`, 'u');
    let lineStart = r.srcPos.offset;
    for (;;) {
      ch = r.next();
      if (ch === '\n') {
        const lineEnd = r.srcPos.offset - r.lastCharLen;
        // The length check counts the marker with its `-`, as hcl does.
        if (lineEnd - lineStart >= ident.length && anchorLine.test(r.src.slice(lineStart, lineEnd).join(''))) break;
        lineStart = r.srcPos.offset;
      }
      if (ch === EOF_CH) {
        r.err('heredoc not terminated');
        return;
      }
    }
  }

  private scanString(): void {
    const r = this.r;
    let braces = 0;
    for (;;) {
      const ch = r.next();
      if ((ch === '\n' && braces === 0) || ch === EOF_CH) {
        r.err('literal not terminated');
        return;
      }
      if (ch === '"' && braces === 0) break;
      // Inside `${...}` quotes do not end the string (hcl's interpolation syntax).
      if (braces === 0 && ch === '$' && r.peek() === '{') {
        braces++;
        r.next();
      } else if (braces > 0 && ch === '{') braces++;
      if (braces > 0 && ch === '}') braces--;
      if (ch === '\\') r.scanEscape();
    }
  }
}

/** hcl's parser (HCL native syntax), with the duplicate-argument check of Vault's hcl. */
class Parser {
  private tok: Token = { type: 'ILLEGAL', pos: NO_POS, text: '' };
  private buffered = false;
  private depth = 0;
  constructor(private readonly sc: Scanner) {}

  parse(): ObjectList {
    const [list, err] = this.objectList(false);
    const scanErr = this.sc.r.lastError;
    if (scanErr) throw posError(scanErr.pos, scanErr.msg);
    if (err) throw err;
    return list;
  }

  /** Comments are skipped here, as hcl's scan() does (it keeps them for the AST only). */
  private scan(): Token {
    if (this.buffered) {
      this.buffered = false;
      return this.tok;
    }
    this.tok = this.sc.scan();
    while (this.tok.type === 'COMMENT') this.tok = this.sc.scan();
    return this.tok;
  }

  private unscan(): void {
    this.buffered = true;
  }

  private objectList(obj: boolean): [ObjectList, HclSyntaxError | typeof EOF_TOKEN | undefined] {
    const node: ObjectList = { kind: 'ObjectList', items: [] };
    for (;;) {
      if (obj) {
        const tok = this.scan();
        this.unscan();
        if (tok.type === 'RBRACE') break;
      }
      const [item, err] = this.objectItem();
      if (err === EOF_TOKEN) break;
      if (err) return [node, err];
      node.items.push(item!);
      const tok = this.scan();
      if (tok.type !== 'COMMA') this.unscan();
    }
    return [node, undefined];
  }

  private objectItem(): [ObjectItem | undefined, HclSyntaxError | typeof EOF_TOKEN | undefined] {
    let [keys, err] = this.objectKey();
    if (keys && keys.length > 0 && err === EOF_TOKEN) err = undefined;
    if (keys && keys.length > 0 && err && this.tok.type === 'RBRACE') {
      // Keys with no value at the end of an object: hcl turns this into the "expected start" error below.
      err = undefined;
      this.tok = { ...this.tok, type: 'EOF' };
    }
    if (err) return [undefined, err];
    let val: HclNode;
    let assign = NO_POS;
    switch (this.tok.type) {
      case 'ASSIGN': {
        assign = this.tok.pos;
        const [v, e] = this.object();
        if (e) return [undefined, e];
        val = v!;
        break;
      }
      case 'LBRACE': {
        const [v, e] = this.objectType();
        if (e) return [undefined, e];
        val = v!;
        break;
      }
      default:
        return [undefined, posError(this.tok.pos, `key '${keys!.map((k) => k.text).join(' ')}' expected start of object ('{') or assignment ('=')`)];
    }
    // hcl looks one token ahead here (for line comments); the scan can record a scanner error.
    this.scan();
    this.unscan();
    return [{ kind: 'ObjectItem', keys: keys!, assign, val }, undefined];
  }

  private objectKey(): [Token[] | undefined, HclSyntaxError | typeof EOF_TOKEN | undefined] {
    const keys: Token[] = [];
    for (;;) {
      const tok = this.scan();
      switch (tok.type) {
        case 'EOF':
          return [keys, EOF_TOKEN];
        case 'ASSIGN':
          if (keys.length > 1) return [undefined, posError(tok.pos, `nested object expected: LBRACE got: ${tok.type}`)];
          if (keys.length === 0) return [undefined, posError(tok.pos, 'no object keys found!')];
          return [keys, undefined];
        case 'LBRACE':
          return [keys, keys.length === 0 ? posError(tok.pos, `expected: IDENT | STRING got: ${tok.type}`) : undefined];
        case 'IDENT':
        case 'STRING':
          keys.push(tok);
          break;
        case 'ILLEGAL':
          return [keys, posError(tok.pos, 'illegal character')];
        default:
          return [keys, posError(tok.pos, `expected: IDENT | STRING | ASSIGN | LBRACE got: ${tok.type}`)];
      }
    }
  }

  private object(): [HclNode | undefined, HclSyntaxError | typeof EOF_TOKEN | undefined] {
    const tok = this.scan();
    switch (tok.type) {
      case 'NUMBER':
      case 'FLOAT':
      case 'BOOL':
      case 'STRING':
      case 'HEREDOC':
        return [{ kind: 'LiteralType', token: tok }, undefined];
      case 'LBRACE':
        return this.objectType();
      case 'LBRACK':
        return this.listType();
      case 'EOF':
        return [undefined, EOF_TOKEN];
    }
    // Go's %+v of a token uses its String(): "line:column TYPE text".
    return [undefined, posError(tok.pos, `Unknown token: ${formatPos(tok.pos)} ${tok.type} ${tok.text}`)];
  }

  private enter(pos: Pos): HclSyntaxError | undefined {
    return ++this.depth > MAX_NESTING ? new NestingError(`At ${formatPos(pos)}: nesting deeper than ${MAX_NESTING} levels`) : undefined;
  }

  private objectType(): [ObjectType | undefined, HclSyntaxError | undefined] {
    const lbrace = this.tok.pos;
    const deep = this.enter(lbrace);
    if (deep) return [undefined, deep];
    const [list, err] = this.objectList(true);
    this.depth--;
    if (err && this.tok.type !== 'RBRACE') return [undefined, err === EOF_TOKEN ? undefined : err];
    const tok = this.scan();
    if (tok.type !== 'RBRACE') return [undefined, posError(tok.pos, `object expected closing RBRACE got: ${tok.type}`)];
    return [{ kind: 'ObjectType', list, lbrace }, undefined];
  }

  private listType(): [ListType | undefined, HclSyntaxError | undefined] {
    const lbrack = this.tok.pos;
    const deep = this.enter(lbrack);
    if (deep) return [undefined, deep];
    try {
      const list: HclNode[] = [];
      let needComma = false;
      for (;;) {
        const tok = this.scan();
        if (needComma && tok.type !== 'COMMA' && tok.type !== 'RBRACK') {
          return [undefined, posError(tok.pos, `error parsing list, expected comma or list end, got: ${tok.type}`)];
        }
        switch (tok.type) {
          case 'BOOL':
          case 'NUMBER':
          case 'FLOAT':
          case 'STRING':
          case 'HEREDOC':
            list.push({ kind: 'LiteralType', token: tok });
            needComma = true;
            break;
          case 'COMMA':
            this.scan();
            this.unscan();
            needComma = false;
            break;
          case 'LBRACE': {
            const [node, err] = this.objectType();
            if (err instanceof NestingError) return [undefined, err];
            if (err) return [undefined, posError(tok.pos, `error while trying to parse object within list: ${err.message}`)];
            list.push(node!);
            needComma = true;
            break;
          }
          case 'LBRACK': {
            const [node, err] = this.listType();
            if (err instanceof NestingError) return [undefined, err];
            if (err) return [undefined, posError(tok.pos, `error while trying to parse list within list: ${err.message}`)];
            list.push(node!);
            break;
          }
          case 'RBRACK':
            return [{ kind: 'ListType', list, lbrack }, undefined];
          default:
            return [undefined, posError(tok.pos, `unexpected token while parsing list: ${tok.type}`)];
        }
      }
    } finally {
      this.depth--;
    }
  }
}

/** hcl's "EOF token found": ends a body without being an error. */
export const EOF_TOKEN = Symbol('EOF token found');

/** Go's %q for a string (ASCII printable as is, the rest escaped). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp === 0xfffd || (cp >= 0x80 && cp <= 0x9f)) out += cp > 0xffff ? `\\U${cp.toString(16).padStart(8, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out + '"';
}

/** A key's value: an identifier's text, or a string unquoted. */
function tokenValueOrText(tok: Token): string {
  return tok.type === 'STRING' ? tokenString(tok) : tok.text;
}

/**
 * A string or heredoc token's value, as hcl's Token.Value gives it: HCL strings by hcl's unquote
 * (escapes; `${...}` kept verbatim), JSON strings by Go's strconv.Unquote, heredocs unindented.
 */
export function tokenString(tok: Token): string {
  if (tok.type === 'HEREDOC') return heredocValue(tok.text);
  if (tok.text === '') return ''; // a JSON null
  const v = tok.json ? goUnquote(tok.text) : hclUnquote(tok.text);
  if (v === undefined) throw new HclSyntaxError(`unquote ${tok.text} err: invalid syntax`);
  return v;
}

/** One escape after a backslash at s[i] (s[i] === '\\'); undefined when Go's rules refuse it. */
function unquoteEscape(s: string[], i: number): { value: string; next: number } | undefined {
  if (i + 1 >= s.length) return undefined;
  const c = s[i + 1];
  const simple: Record<string, string> = { a: '\u0007', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\u000b', '\\': '\\', '"': '"' };
  if (c in simple) return { value: simple[c], next: i + 2 };
  if (c === 'x' || c === 'u' || c === 'U') {
    const n = c === 'x' ? 2 : c === 'u' ? 4 : 8;
    const hex = s.slice(i + 2, i + 2 + n);
    if (hex.length < n || !hex.every(isHexadecimal)) return undefined;
    const v = parseInt(hex.join(''), 16);
    if (c === 'x') return { value: v < 0x80 ? String.fromCharCode(v) : '\uFFFD', next: i + 2 + n };
    if (v > 0x10ffff) return undefined;
    // Go writes a surrogate half as U+FFFD.
    return { value: v >= 0xd800 && v <= 0xdfff ? '\uFFFD' : String.fromCodePoint(v), next: i + 2 + n };
  }
  if (c >= '0' && c <= '7') {
    const digits = s.slice(i + 1, i + 4);
    if (digits.length < 3 || !digits.every((d) => d >= '0' && d <= '7')) return undefined;
    const v = parseInt(digits.join(''), 8);
    if (v > 255) return undefined;
    return { value: v < 0x80 ? String.fromCharCode(v) : '\uFFFD', next: i + 4 };
  }
  return undefined;
}

/** hcl's strconv.Unquote: a double-quoted string whose `${...}` parts are kept as written. */
export function hclUnquote(text: string): string | undefined {
  const all = Array.from(text);
  if (all.length < 2 || all[0] !== '"' || all[all.length - 1] !== '"') return undefined;
  const s = all.slice(1, -1);
  if (!s.includes('$') && !s.includes('{') && s.includes('\n')) return undefined;
  let out = '';
  let i = 0;
  while (i < s.length) {
    if (s[i] === '$' && s[i + 1] === '{') {
      out += '${';
      i += 2;
      let braces = 1;
      while (i < s.length && braces > 0) {
        const r = s[i++];
        out += r;
        if (r === '{') braces++;
        else if (r === '}') braces--;
      }
      if (braces !== 0) return undefined;
      continue;
    }
    if (s[i] === '\n' || s[i] === '"') return undefined;
    if (s[i] !== '\\') {
      out += s[i++];
      continue;
    }
    const e = unquoteEscape(s, i);
    if (!e) return undefined;
    out += e.value;
    i = e.next;
  }
  return out;
}

/** Go's strconv.Unquote for a double-quoted string (JSON-form policies). */
export function goUnquote(text: string): string | undefined {
  const all = Array.from(text);
  if (all.length < 2 || all[0] !== '"' || all[all.length - 1] !== '"') return undefined;
  const s = all.slice(1, -1);
  if (s.includes('\n')) return undefined;
  let out = '';
  let i = 0;
  while (i < s.length) {
    if (s[i] === '"') return undefined;
    if (s[i] !== '\\') {
      out += s[i++];
      continue;
    }
    const e = unquoteEscape(s, i);
    if (!e) return undefined;
    out += e.value;
    i = e.next;
  }
  return out;
}

/** hcl's unindentHeredoc: the text between the marker lines (`<<-` removes the closing line's indent). */
export function heredocValue(text: string): string {
  const idx = text.indexOf('\n');
  const unindent = text[2] === '-';
  if (!unindent) return text.slice(idx + 1, text.length - idx + 1);
  const lines = text.slice(idx + 1, text.length - idx + 2).split('\n');
  const prefix = lines[lines.length - 1];
  if (!lines.every((l) => l.startsWith(prefix))) return text.slice(idx + 1, text.length - idx + 1).replace(/[ \t]+$/, '');
  return lines.map((l, k) => (k === lines.length - 1 ? '' : l.slice(prefix.length))).join('\n');
}

/**
 * Vault's hcl refuses an argument (`key = value`) set twice in one body, reporting the second;
 * blocks (`path "a" {}`) may repeat. Checked over the whole tree in source order.
 */
function checkDuplicateArguments(list: ObjectList): void {
  const seen = new Set<string>();
  for (const item of list.items) {
    if (item.assign.line > 0 && item.keys.length === 1) {
      const key = tokenValueOrText(item.keys[0]);
      if (seen.has(key)) {
        throw new HclSyntaxError(`The argument ${goQuote(key)} at ${formatPos(item.keys[0].pos)} was already set. Each argument can only be defined once`);
      }
      seen.add(key);
    }
    checkDuplicatesIn(item.val);
  }
}

function checkDuplicatesIn(node: HclNode): void {
  if (node.kind === 'ObjectType') checkDuplicateArguments(node.list);
  else if (node.kind === 'ListType') node.list.forEach(checkDuplicatesIn);
}

/** The tokens of a text up to EOF (at most `max`), with every scanner error: what hcl's scanner tests check. */
export function scanHclTokens(src: string, max = 10_000): { tokens: Token[]; errors: Array<{ pos: string; msg: string }> } {
  const sc = new Scanner(src);
  const tokens: Token[] = [];
  for (let i = 0; i < max; i++) {
    const tok = sc.scan();
    tokens.push(tok);
    if (tok.type === 'EOF') break;
  }
  return { tokens, errors: sc.r.errors.map((e) => ({ pos: formatPos(e.pos), msg: e.msg })) };
}

/** Parses HCL native syntax into hcl's tree. Throws HclSyntaxError with Vault's message. */
export function parseHclNative(src: string): ObjectList {
  const list = new Parser(new Scanner(src.replace(/\r\n/g, '\n'))).parse();
  checkDuplicateArguments(list);
  return list;
}

// Go's unicode.IsSpace (not JavaScript's \s: no U+FEFF, but U+0085).
const GO_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/u;

/** hcl's lexMode: the JSON form when the first character that is not a (Unicode) space is `{`. */
export function isJsonForm(src: string): boolean {
  for (const ch of src) {
    if (GO_SPACE.test(ch)) continue;
    return ch === '{';
  }
  return false;
}
