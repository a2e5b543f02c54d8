import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { HclSyntaxError, heredocValue, hclUnquote, parseHclNative, scanHclTokens, type TokenType } from '../../../lib/localvault/hcl.js';
import { parseHclJson } from '../../../lib/localvault/hcl-json.js';

/** The HCL v1 reader against hashicorp/hcl's own parser tests (hcl/parser/parser_test.go) and its unquote rules. */
const test = suite('localvault hcl v1 syntax');

// TestParse_inline and TestObjectKey's errKeys: every one is an error in hcl.
for (const src of ['t t e{{}}', 'o{{}}', 't t e d N{{}}', 't t e d{{}}', 'N{}N{{}}', 'v\nN{{}}', 'v=/\n[,', 'v=10kb', 'v=/foo', 'foo 12 {}', 'foo bar = {}', 'foo []', '12 {}']) {
  test(`hcl refuses ${JSON.stringify(src)}`, () => {
    assert.throws(() => parseHclNative(src), (err: unknown) => err instanceof HclSyntaxError);
  });
}

// Accepted by hcl's TestParse fixtures (shapes of list_comma.hcl, object_list_comma.hcl, multiple.hcl, types.hcl).
for (const src of ['foo = [1, 2, "foo",]\nbar = [ 1, 2, "foo" ]', 'foo = {one = 1, two = 2}', 'foo = "bar"\nkey = 7', 'foo = "bar"\nbar = 7\nbaz = [1,2,3]\nfoo = -12\nbar = 3.14159\nfoo = true\nbar = false']) {
  test(`hcl parses ${JSON.stringify(src)} (duplicates aside)`, () => {
    try {
      parseHclNative(src);
    } catch (err) {
      // types.hcl sets keys twice: Vault's hcl refuses that, and says so.
      assert.match((err as Error).message, /was already set\. Each argument can only be defined once$/);
    }
  });
}

test('hcl unquote: escapes, ${} kept verbatim, raw newlines only inside ${}', () => {
  assert.is(hclUnquote('"a\\tb\\u00e9\\x41\\101"'), 'a\tbéAA');
  assert.is(hclUnquote('"${a\\n"}"'), '${a\\n"}');
  assert.is(hclUnquote('"a\nb"'), undefined);
  assert.is(hclUnquote('"\\400"'), undefined);
  assert.is(hclUnquote('"\\/"'), undefined);
});

test('heredocs: the marker lines are not part of the value; <<- takes the closing line indent off', () => {
  assert.is(heredocValue('<<EOT\nline\nEOT\n'), 'line\n');
  assert.is(heredocValue('<<-EOT\n    a\n    b\n    EOT\n'), 'a\nb\n');
});

test('JSON form: trailing commas, a truncated object, booleans in lists are what hcl makes of them', () => {
  const list = parseHclJson('{"a": [1, true, "x",], "b": {"c": {"d": 1}},}');
  assert.equal(
    list.items.map((i) => i.keys.map((k) => k.text)),
    [['"a"'], ['"b"', '"c"']],
  );
  assert.is(parseHclJson('{"a": ').items.length, 0);
  assert.throws(() => parseHclJson('{"a" 1}'), /^expected: STRING got: NUMBER$/);
});

// hcl/scanner/scanner_test.go TestError: the first error, where, and the first token's type (invalid UTF-8 cases aside: a JS string has none).
const SCAN_ERRORS: Array<[string, string, string, TokenType]> = [
  ['\uE123', '1:1', 'unicode code point U+E123 reserved for internal use', 'ILLEGAL'],
  ['ab\u0000', '1:3', 'unexpected null character (0x00)', 'IDENT'],
  ['ab\u0000\n', '1:3', 'unexpected null character (0x00)', 'IDENT'],
  ['01238', '1:6', 'illegal octal number', 'NUMBER'],
  ['01238123', '1:9', 'illegal octal number', 'NUMBER'],
  ['0x', '1:3', 'illegal hexadecimal number', 'NUMBER'],
  ['0xg', '1:3', 'illegal hexadecimal number', 'NUMBER'],
  ["'aa'", '1:1', 'illegal char', 'ILLEGAL'],
  ['"', '1:2', 'literal not terminated', 'STRING'],
  ['"abc', '1:5', 'literal not terminated', 'STRING'],
  ['"abc\n', '1:5', 'literal not terminated', 'STRING'],
  ['"${abc\n', '2:1', 'literal not terminated', 'STRING'],
  ['/*/', '1:4', 'comment not terminated', 'COMMENT'],
  ['/foo', '1:1', "expected '/' for comment", 'COMMENT'],
  ['<<\nfoo\n\n', '1:3', 'zero-length heredoc anchor', 'HEREDOC'],
  ['<<-\nfoo\n\n', '1:4', 'zero-length heredoc anchor', 'HEREDOC'],
];
for (const [src, pos, msg, type] of SCAN_ERRORS) {
  test(`scanner error as hcl's: ${JSON.stringify(src)} -> ${pos} ${msg}`, () => {
    const { tokens, errors } = scanHclTokens(src, 1);
    assert.is(tokens[0].type, type);
    assert.equal(errors[0], { pos, msg });
  });
}

// TestString, TestNumber, TestFloat, TestIdent, TestComment (token lists, one per line): type and text of each.
const TOKENS: Array<[TokenType, string[]]> = [
  ['STRING', ['" "', '"a"', '"本"', '"${file("foo")}"', '"${file(\\"foo\\")}"', '"\\a"', '"\\b"', '"\\f"', '"\\n"', '"\\r"', '"\\t"', '"\\v"', '"\\""', '"\\000"', '"\\777"', '"\\x00"', '"\\xff"', '"\\u0000"', '"\\ufA16"', '"\\U00000000"', '"\\U0000ffAB"']],
  ['NUMBER', ['0', '1', '42', '00', '01', '07', '042', '0x0', '0x42', '0X123456789abcDEF', '-0', '-42', '-01234567', '-0x42']],
  ['FLOAT', ['0.', '1.', '.0', '.42', '0.0', '01234567890.0', '0e0', '42E0', '0e+10', '1e-10', '01.8e0', '0.E0', '-0.0', '-1e-10', '-01234567890.1E-10']],
  ['IDENT', ['a', 'foo-bar', '_', 'abc123_', '_äöü', '本', 'a۰۱۸', 'bar９８７６']],
  ['COMMENT', ['//', '// comment', '#', '# /* comment */', '/**/', '/***/', '/* /* comment */', '/*\n comment\n*/']],
];
for (const [type, texts] of TOKENS) {
  test(`scanner tokens as hcl's: ${type}`, () => {
    const { tokens, errors } = scanHclTokens(texts.map((t) => t + '\n').join(''));
    assert.equal(errors, []);
    assert.equal(tokens.slice(0, -1).map((t) => [t.type, t.text]), texts.map((t) => [type, t]));
  });
}

test("scanner positions as hcl's TestPosition: each token after four tabs on its own line", () => {
  const texts = ['"a"', '42', '0.5', 'ident', '// c', '<<EOF\nhello\nworld\nEOF'];
  const { tokens } = scanHclTokens(texts.map((t) => `\t\t\t\t${t}\n`).join(''));
  let line = 1;
  texts.forEach((t, i) => {
    assert.equal([tokens[i].pos.line, tokens[i].pos.column], [line, 5], t);
    line += t.split('\n').length;
  });
});

test.run();
