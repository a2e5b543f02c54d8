import {
  CharReader,
  DELIMITERS,
  EOF_CH,
  EOF_TOKEN,
  HclSyntaxError,
  MAX_NESTING,
  NestingError,
  NO_POS,
  formatPos,
  isDecimal,
  isDigit,
  isLetter,
  isWhitespace,
  type HclNode,
  type ListType,
  type ObjectItem,
  type ObjectList,
  type ObjectType,
  type Token,
  type TokenType,
} from './hcl.js';

/**
 * The JSON form of a policy as hashicorp/hcl v1 reads it (`json/scanner`, `json/parser`,
 * `json/parser/flatten.go`): not a strict JSON parser. It accepts trailing commas, drops booleans
 * and nested `[` inside lists, stops at the end of the first object (anything after it is not
 * read), and treats an unexpected end of input inside an object as the end of that object. Then
 * `{"path": {"a": {...}}}` is flattened into the items `path "a" {...}` the HCL form gives.
 * Strings are Go strings (no `\/`); errors are "line:column: message" for the scanner, and
 * position-less texts for the parser, as hcl's are.
 */

class JsonScanner {
  readonly r: CharReader;
  constructor(src: string) {
    this.r = new CharReader(src, false);
  }

  scan(): Token {
    const r = this.r;
    let ch = r.next();
    while (isWhitespace(ch)) ch = r.next();
    r.startToken();
    let type: TokenType = 'ILLEGAL';
    if (isLetter(ch)) {
      const lit = this.scanIdentifier();
      if (lit === 'true' || lit === 'false') type = 'BOOL';
      else if (lit === 'null') type = 'NULL';
      else r.err('illegal char');
    } else if (isDecimal(ch)) {
      type = this.scanNumber(ch);
    } else {
      switch (ch) {
        case EOF_CH:
          // As in hcl, a NUL reads as the end marker (without the HCL scanner's message).
          type = 'EOF';
          break;
        case '"':
          type = 'STRING';
          this.scanString();
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
        case ':':
          type = 'COLON';
          break;
        case '-':
          if (isDecimal(r.peek())) type = this.scanNumber(r.next());
          else r.err('illegal char');
          break;
        default:
          {
            const delimiter = DELIMITERS.get(ch);
            if (delimiter) type = delimiter;
            else r.err(`illegal char: ${ch}`);
          }
      }
    }
    const pos = r.tokPos;
    return { type, pos, text: r.tokenText(), json: true };
  }

  private scanIdentifier(): string {
    const r = this.r;
    const offs = r.srcPos.offset - r.lastCharLen;
    let ch = r.next();
    while (isLetter(ch) || isDigit(ch) || ch === '-') ch = r.next();
    if (ch !== EOF_CH) r.unread();
    return r.src.slice(offs, r.srcPos.offset).join('');
  }

  private scanNumber(ch: string): TokenType {
    const r = this.r;
    const zero = ch === '0';
    const start = r.srcPos.offset;
    r.scanMantissa(ch);
    ch = r.next();
    if (r.scanFloatPart(ch)) return 'FLOAT';
    if (ch !== EOF_CH) r.unread();
    if (zero && start !== r.srcPos.offset) r.err('numbers cannot start with 0');
    return 'NUMBER';
  }

  private scanString(): void {
    const r = this.r;
    for (;;) {
      const ch = r.next();
      if (ch === '\n' || ch === EOF_CH) {
        r.err('literal not terminated');
        return;
      }
      if (ch === '"') break;
      if (ch === '\\') r.scanEscape();
    }
  }
}

class JsonParser {
  private tok: Token = { type: 'ILLEGAL', pos: NO_POS, text: '' };
  private buffered = false;
  private depth = 0;
  constructor(private readonly sc: JsonScanner) {}

  parse(): ObjectList {
    const [object, err] = this.object();
    const scanErr = this.sc.r.lastError;
    if (scanErr) throw new HclSyntaxError(`${formatPos(scanErr.pos)}: ${scanErr.msg}`);
    if (err === EOF_TOKEN) throw new HclSyntaxError('EOF token found');
    if (err) throw err;
    flattenObjects(object!.list);
    return object!.list;
  }

  private scan(): Token {
    if (this.buffered) {
      this.buffered = false;
      return this.tok;
    }
    this.tok = this.sc.scan();
    return this.tok;
  }

  private object(): [ObjectType | undefined, HclSyntaxError | typeof EOF_TOKEN | undefined] {
    const tok = this.scan();
    if (tok.type === 'LBRACE') return this.objectType();
    if (tok.type === 'EOF') return [undefined, EOF_TOKEN];
    return [undefined, new HclSyntaxError(`Expected object, got unknown token: ${formatPos(tok.pos)} ${tok.type} ${tok.text}`)];
  }

  private enter(): HclSyntaxError | undefined {
    return ++this.depth > MAX_NESTING ? new NestingError(`nesting deeper than ${MAX_NESTING} levels`) : undefined;
  }

  private objectType(): [ObjectType | undefined, HclSyntaxError | undefined] {
    const deep = this.enter();
    if (deep) return [undefined, deep];
    const [list, err] = this.objectList();
    this.depth--;
    if (err && this.tok.type !== 'RBRACE') return [undefined, err];
    // No check that the object was closed: hcl's JSON parser does not make one.
    return [{ kind: 'ObjectType', list, lbrace: NO_POS }, undefined];
  }

  private objectList(): [ObjectList, HclSyntaxError | undefined] {
    const node: ObjectList = { kind: 'ObjectList', items: [] };
    for (;;) {
      const [item, err] = this.objectItem();
      if (err === EOF_TOKEN) break;
      if (err) return [node, err];
      node.items.push(item!);
      if (this.scan().type !== 'COMMA') break;
    }
    return [node, undefined];
  }

  private objectItem(): [ObjectItem | undefined, HclSyntaxError | typeof EOF_TOKEN | undefined] {
    const [keys, err] = this.objectKey();
    if (err) return [undefined, err];
    // objectKey returns only at a colon.
    const assign = this.tok.pos;
    const [val, e] = this.objectValue();
    if (e) return [undefined, e];
    return [{ kind: 'ObjectItem', keys: keys!, assign, val: val! }, undefined];
  }

  private objectKey(): [Token[] | undefined, HclSyntaxError | typeof EOF_TOKEN | undefined] {
    const keys: Token[] = [];
    for (;;) {
      const tok = this.scan();
      switch (tok.type) {
        case 'EOF':
          return [undefined, EOF_TOKEN];
        case 'STRING':
          keys.push(tok);
          break;
        case 'COLON':
          if (keys.length === 0) return [undefined, new HclSyntaxError(`expected: STRING got: ${tok.type}`)];
          return [keys, undefined];
        case 'ILLEGAL':
          return [undefined, new HclSyntaxError('illegal')];
        default:
          return [undefined, new HclSyntaxError(`expected: STRING got: ${tok.type}`)];
      }
    }
  }

  private objectValue(): [HclNode | undefined, HclSyntaxError | typeof EOF_TOKEN | undefined] {
    const tok = this.scan();
    switch (tok.type) {
      case 'NUMBER':
      case 'FLOAT':
      case 'BOOL':
      case 'STRING':
        return [{ kind: 'LiteralType', token: tok }, undefined];
      case 'NULL':
        // hcl turns a JSON null into an empty string token.
        return [{ kind: 'LiteralType', token: { type: 'STRING', pos: tok.pos, text: '', json: true } }, undefined];
      case 'LBRACE':
        return this.objectType();
      case 'LBRACK':
        return this.listType();
      case 'EOF':
        return [undefined, EOF_TOKEN];
    }
    return [undefined, new HclSyntaxError(`Expected object value, got unknown token: ${formatPos(tok.pos)} ${tok.type} ${tok.text}`)];
  }

  private listType(): [ListType | undefined, HclSyntaxError | undefined] {
    const deep = this.enter();
    if (deep) return [undefined, deep];
    try {
      const list: HclNode[] = [];
      for (;;) {
        const tok = this.scan();
        switch (tok.type) {
          case 'NUMBER':
          case 'FLOAT':
          case 'STRING':
            list.push({ kind: 'LiteralType', token: tok });
            break;
          case 'COMMA':
            break;
          case 'LBRACE': {
            const [node, err] = this.objectType();
            if (err) return [undefined, err];
            list.push(node!);
            break;
          }
          case 'BOOL':
          case 'LBRACK':
            // hcl's JSON parser skips these inside a list.
            break;
          case 'RBRACK':
            return [{ kind: 'ListType', list, lbrack: NO_POS }, undefined];
          default:
            return [undefined, new HclSyntaxError(`unexpected token while parsing list: ${tok.type}`)];
        }
      }
    } finally {
      this.depth--;
    }
  }
}

/**
 * hcl's flattenObjects: an item whose value is an object of objects becomes one item per inner
 * key, with the keys joined (`"path": {"a": {...}}` -> `path "a" {...}`), and a list of objects
 * becomes one item per object; then the same inside every value.
 */
function flattenObjects(list: ObjectList): void {
  const items: ObjectItem[] = [];
  const frontier = [...list.items];
  while (frontier.length > 0) {
    const item = frontier.pop()!;
    const v = item.val;
    if (v.kind === 'ObjectType' && v.list.items.length > 0 && v.list.items.every((s) => s.val.kind === 'ObjectType')) {
      for (const sub of v.list.items) frontier.push({ kind: 'ObjectItem', keys: [...item.keys, ...sub.keys], assign: item.assign, val: sub.val });
    } else if (v.kind === 'ListType' && v.list.length > 0 && v.list.every((e) => e.kind === 'ObjectType')) {
      for (const elem of v.list) frontier.push({ kind: 'ObjectItem', keys: item.keys, assign: item.assign, val: elem });
    } else {
      items.push(item);
    }
  }
  list.items = items.reverse();
  for (const item of list.items) flattenNode(item.val);
}

function flattenNode(node: HclNode): void {
  if (node.kind === 'ObjectType') flattenObjects(node.list);
  else if (node.kind === 'ListType') node.list.forEach(flattenNode);
}

/** Parses the JSON form of a policy into hcl's tree. Throws HclSyntaxError with Vault's message. */
export function parseHclJson(src: string): ObjectList {
  return new JsonParser(new JsonScanner(src)).parse();
}
