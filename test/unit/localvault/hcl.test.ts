import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { HclSyntaxError, heredocValue, hclUnquote, parseHclNative } from '../../../lib/localvault/hcl.js';
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

test.run();
